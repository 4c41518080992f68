package kernels

import "math"

// MaxPool2x2 pools whole 2×2 blocks of one row-major plane x of w columns: for oh < rows and
// ow < cols, out[oh·outW + ow] is the maximum of x's rows 2·oh and 2·oh+1 at columns 2·ow and
// 2·ow+1, and argmax[oh·outW + ow] the index in x (row·w + column) of the first cell holding it
// in row-major order (TensorFlow's choice on ties). Cells compare as OrderKey orders them: -0
// equals +0, a NaN with the sign bit clear is above +Inf and one with it set below -Inf. It
// panics if a slice is too short.
func MaxPool2x2(x []float32, w int, out []float32, argmax []int32, outW, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if 2*cols > w || cols > outW {
		panic("kernels: MaxPool2x2: cols exceeds the input or output width")
	}
	active.Load().maxPool(x, w, out, argmax, outW, rows, cols)
}

// MaxPool2x2Asm reports whether MaxPool2x2 runs an assembly kernel (AVX-512); without one it
// runs MaxPool2x2Go.
func MaxPool2x2Asm() bool { return active.Load().maxPool2x2 != nil }

// maxPool is MaxPool2x2 on implementation im, for rows, cols ≥ 1 and 2·cols ≤ w, cols ≤ outW.
func (im *impl) maxPool(x []float32, w int, out []float32, argmax []int32, outW, rows, cols int) {
	_ = x[(2*rows-1)*w+2*cols-1]
	_ = out[(rows-1)*outW+cols-1]
	_ = argmax[(rows-1)*outW+cols-1]
	if im.maxPool2x2 != nil {
		im.maxPool2x2(&x[0], w, &out[0], &argmax[0], outW, rows, cols/16, cols%16)
		return
	}
	MaxPool2x2Go(x, w, out, argmax, outW, rows, cols)
}

// OrderKey maps v to an int32 that orders as v does, with -0 equal to +0; NaNs order by their
// sign bit, above +Inf or below -Inf.
func OrderKey(v float32) int32 {
	b := int32(math.Float32bits(v))
	s := b >> 31
	return (b ^ (s & 0x7fffffff)) - s
}

// GreaterMask returns -1 (all bits set) if a > b, else 0: a mask for choosing without a branch.
func GreaterMask(a, b int32) int { return int((int64(b) - int64(a)) >> 63) }

// MaxPool2x2Go is MaxPool2x2 in Go, whatever the CPU: what MaxPool2x2 runs without AVX-512, and
// what a caller that must stay off the assembly calls. It compares order keys with arithmetic
// masks instead of branches: on unsorted data the branches of a compare-and-swap mispredict about
// every other time, which made a branching kernel more than twice as slow.
func MaxPool2x2Go(xp []float32, w int, op []float32, ap []int32, outW, rows, cols int) {
	for oh := range rows {
		r := 2 * oh * w
		row0 := xp[r : r+2*cols]
		row1 := xp[r+w : r+w+2*cols]
		orow := op[oh*outW : oh*outW+cols]
		arow := ap[oh*outW : oh*outW+cols]
		arow = arow[:len(orow)]
		for ow := range orow {
			c := 2 * ow
			pair0, pair1 := row0[c:c+2:c+2], row1[c:c+2:c+2]
			k0, k1 := OrderKey(pair0[0]), OrderKey(pair0[1])
			k2, k3 := OrderKey(pair1[0]), OrderKey(pair1[1])
			// The later cell of each pair, and the second row's winner, win only when greater.
			m01 := GreaterMask(k1, k0)
			top, itop := k0^((k0^k1)&int32(m01)), r+c-m01
			m23 := GreaterMask(k3, k2)
			bottom, ibottom := k2^((k2^k3)&int32(m23)), r+w+c-m23
			i := itop ^ ((itop ^ ibottom) & GreaterMask(bottom, top))
			orow[ow], arow[ow] = xp[i], int32(i)
		}
	}
}
