package kernels

import "unsafe"

// floatsAt returns the n floats starting at p, so that the pure-Go kernels index with bounds
// checks: a driver bug that would make an assembly kernel read out of range panics here instead.
func floatsAt(p *float32, n int) []float32 {
	if n <= 0 {
		return nil
	}
	return unsafe.Slice(p, n)
}

// sgemmKernelGo is the pure-Go micro-kernel, with the semantics of sgemmKernelFunc for an mr×nr
// tile (strides in bytes). It is both the fallback and the reference the assembly is tested against.
func sgemmKernelGo(mr, nr, kc int, a *float32, aRowBytes, aKBytes int, b *float32, bKBytes int, c *float32, ldcBytes int, alpha, beta float32, load bool) {
	aRow, aK, bK, ldc := aRowBytes/4, aKBytes/4, bKBytes/4, ldcBytes/4
	av := floatsAt(a, (mr-1)*aRow+(kc-1)*aK+1)
	bv := floatsAt(b, (kc-1)*bK+nr)
	cv := floatsAt(c, (mr-1)*ldc+nr)
	if kc <= 0 {
		av, bv = nil, nil
	}
	if mr == 4 && nr == 4 && kc > 0 {
		sgemmKernelGo4x4(kc, av, aRow, aK, bv, bK, cv, ldc, alpha, beta, load)
		return
	}
	var acc [16 * 32]float32
	for p := 0; p < kc; p++ {
		brow := bv[p*bK : p*bK+nr]
		for i := 0; i < mr; i++ {
			x := av[i*aRow+p*aK]
			t := acc[i*nr : i*nr+nr]
			for j, y := range brow {
				t[j] += x * y
			}
		}
	}
	for i := 0; i < mr; i++ {
		crow := cv[i*ldc : i*ldc+nr]
		t := acc[i*nr : i*nr+nr]
		for j := range crow {
			if load {
				crow[j] = alpha*t[j] + beta*crow[j]
			} else {
				crow[j] = alpha * t[j]
			}
		}
	}
}

// sgemmKernelGo4x4 is sgemmKernelGo for a full 4×4 tile with the accumulators in locals.
func sgemmKernelGo4x4(kc int, a []float32, aRow, aK int, b []float32, bK int, c []float32, ldc int, alpha, beta float32, load bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		bp := b[p*bK : p*bK+4 : p*bK+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		o := p * aK
		a0 := a[o]
		a1 := a[o+aRow]
		a2 := a[o+2*aRow]
		a3 := a[o+3*aRow]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	tile := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := range tile {
		crow := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j, t := range tile[i] {
			if load {
				crow[j] = alpha*t + beta*crow[j]
			} else {
				crow[j] = alpha * t
			}
		}
	}
}

// convTapsOutGo is the pure-Go convTapsOutFunc for nf output planes (yStride in floats): for
// each vector v < nvec of 16 positions it forms acc[l] = Σ_t w[t·nf+f]·x[offs[t]+16v+l] and
// stores the lanes l set in the low 16 bits of tbl[2v], in order, at y[f·yStride + tbl[2v+1] + k]
// for k = 0, 1, …, each plus bias[f] when bias is not nil.
func convTapsOutGo(nf int, y []float32, yStride int, x []float32, offs []int32, w []float32, nvec int, tbl []int32, bias []float32) {
	for f := 0; f < nf; f++ {
		for v := 0; v < nvec; v++ {
			valid := uint16(tbl[2*v])
			if valid == 0 {
				continue
			}
			var acc [16]float32
			for t, off := range offs {
				wt := w[t*nf+f]
				src := x[int(off)+16*v : int(off)+16*v+16]
				for l, xv := range src {
					acc[l] += wt * xv
				}
			}
			dst := y[f*yStride+int(tbl[2*v+1]):]
			k := 0
			for l, a := range acc {
				if valid>>l&1 == 0 {
					continue
				}
				if bias != nil {
					a += bias[f]
				}
				dst[k] = a
				k++
			}
		}
	}
}

// outTable returns the store table of convTapsOutFunc for the first nvec vectors of a grid whose
// rows are gridW floats wide, taking the rows×cols window at (rowOff, colOff) of the grid into an
// output whose rows are cols floats wide.
func outTable(nvec, gridW, rowOff, colOff, rows, cols int) []int32 {
	tbl := make([]int32, 2*nvec)
	for v := 0; v < nvec; v++ {
		var valid uint32
		first, count := -1, 0
		for l := 0; l < 16; l++ {
			q := 16*v + l
			r, c := q/gridW-rowOff, q%gridW-colOff
			if r < 0 || r >= rows || c < 0 || c >= cols {
				continue
			}
			valid |= 1 << l
			if first < 0 {
				first = r*cols + c
			}
			count++
		}
		tbl[2*v] = int32(valid | (1<<count-1)<<16)
		tbl[2*v+1] = int32(max(first, 0))
	}
	return tbl
}

// convDotGo is the pure-Go convDotFunc: out[f·outStride+t] += Σ_q dy[f·dyStride+q]·x[offs[t]+q]
// for q < n (strides in floats).
func convDotGo(nf int, dy []float32, dyStride int, x []float32, offs []int32, n int, out []float32, outStride int) {
	for f := 0; f < nf; f++ {
		d := dy[f*dyStride : f*dyStride+n]
		for t, off := range offs {
			src := x[int(off) : int(off)+n]
			var s float32
			for q, v := range d {
				s += v * src[q]
			}
			out[f*outStride+t] += s
		}
	}
}

// Modes of the lane-wise filter-gradient kernels: add the vectors already in out (else
// overwrite them), and reduce the vectors into dw (else store them to out).
const (
	dotVecAdd    = 1
	dotVecReduce = 2
)

// convDotVecGo is the pure-Go lane-wise filter-gradient kernel: for f < nf and t < len(offs) it
// forms the 16 lane sums
//
//	acc[l] = Σ_{q ≡ l mod 16} dy[f·dyStride + q]·x[offs[t] + q]
//
// over q < n (strides in floats; nothing of dy or x past the first n floats is read), adds the
// vector out[f·outStride + 16t:][:16] to it when mode has dotVecAdd, and then sets
// dw[f·dwStride + t] = sum16(acc) when mode has dotVecReduce, else stores acc to that vector.
func convDotVecGo(nf int, dy []float32, dyStride int, x []float32, offs []int32, n int, out []float32, outStride int, dw []float32, dwStride int, mode int) {
	for f := 0; f < nf; f++ {
		d := dy[f*dyStride : f*dyStride+n]
		for t, off := range offs {
			src := x[int(off) : int(off)+n]
			var acc [16]float32
			for q, v := range d {
				acc[q%16] += v * src[q]
			}
			o := out[f*outStride+16*t : f*outStride+16*t+16]
			if mode&dotVecAdd != 0 {
				for l, v := range o {
					acc[l] += v
				}
			}
			if mode&dotVecReduce != 0 {
				dw[f*dwStride+t] = sum16(acc[:])
				continue
			}
			copy(o, acc[:])
		}
	}
}

// sum16 adds the 16 floats of v pairwise (lanes l and l+8, then l and l+4, …): the fixed order
// in which the lane sums of convDotVecGo's vectors are reduced.
func sum16(v []float32) float32 {
	v = v[:16:16]
	var h [8]float32
	for l := range h {
		h[l] = v[l] + v[l+8]
	}
	for l := 0; l < 4; l++ {
		h[l] += h[l+4]
	}
	h[0] += h[2]
	h[1] += h[3]
	return h[0] + h[1]
}
