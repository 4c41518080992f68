package kernels

import "math"

// MaxPool2x2 pools whole 2×2 blocks of one row-major plane x of w columns: for oh < rows and
// ow < cols, out[oh·outW + ow] is the maximum of x's rows 2·oh and 2·oh+1 at columns 2·ow and
// 2·ow+1, and argmax[oh·outW + ow] the index in x (row·w + column) of the first cell holding it
// in row-major order (TensorFlow's choice on ties). Cells compare as orderKey orders them: -0
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

// MaxPool2x2Asm reports whether MaxPool2x2 runs an assembly kernel (AVX-512). Without one it
// runs a plain Go loop, kept simple as the reference the assembly is tested against; a caller
// with a faster Go kernel of its own should keep using it then.
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
	maxPool2x2Go(x, w, out, argmax, outW, rows, cols)
}

// orderKey maps v to an int32 that orders as v does, with -0 equal to +0; NaNs order by their
// sign bit, above +Inf or below -Inf.
func orderKey(v float32) int32 {
	b := int32(math.Float32bits(v))
	s := b >> 31
	return (b ^ (s & 0x7fffffff)) - s
}

// maxPool2x2Go is MaxPool2x2 in pure Go.
func maxPool2x2Go(x []float32, w int, out []float32, argmax []int32, outW, rows, cols int) {
	for oh := range rows {
		r := 2 * oh * w
		for ow := range cols {
			best := r + 2*ow
			for _, i := range [3]int{best + 1, best + w, best + w + 1} {
				if orderKey(x[i]) > orderKey(x[best]) {
					best = i
				}
			}
			out[oh*outW+ow], argmax[oh*outW+ow] = x[best], int32(best)
		}
	}
}
