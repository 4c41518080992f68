package kernels

// The passes of a batch normalisation over one channel of an NCHW batch: the channel's planes
// are rows runs of s floats, stride floats apart (s = H·W and stride = C·H·W in a batch of C channels), one
// per example. Each function walks them in order; the float64 sums keep sixteen lanes, lane l
// adding the values at plane positions j with j mod 16 = l, in the order of the rows and then of
// j, and reduce the lanes in a fixed tree (bnReduce), on every implementation: the generic
// kernels are the reference the AVX-512 ones match bit for bit. The float32 passes round every
// operation as written (no fused multiply-add).

// bnLanes is the number of float64 lanes of the batch-norm sums.
const bnLanes = 16

// bnReduce sums the lanes: pairs l and l+8, then l and l+4, l and l+2, and the last two.
func bnReduce(acc *[bnLanes]float64) float64 {
	var t [8]float64
	for i := range t {
		t[i] = acc[i] + acc[i+8]
	}
	for i := range 4 {
		t[i] += t[i+4]
	}
	for i := range 2 {
		t[i] += t[i+2]
	}
	return t[0] + t[1]
}

// bnCheck panics unless the rows planes of s floats, stride apart, lie in each of the slices.
func bnCheck(rows, stride, s int, slices ...[]float32) {
	if rows < 0 || s < 0 || (rows > 1 && stride < s) {
		panic("kernels: batch norm: bad plane layout")
	}
	if rows == 0 || s == 0 {
		return
	}
	for _, x := range slices {
		checkLen(x, (rows-1)*stride+s, "batch norm plane")
	}
}

// bnVec returns the full vectors of a plane of s floats and the mask of its tail.
func bnVec(s int) (nvec, mask int) { return s / 16, 1<<(s%16) - 1 }

// BatchNormSum returns Σ x[r·stride + j] for r < rows, j < s, summed in float64 (see above).
func BatchNormSum(x []float32, rows, stride, s int) float64 {
	return active.Load().bnSumOf(x, rows, stride, s)
}

func (im *impl) bnSumOf(x []float32, rows, stride, s int) float64 {
	bnCheck(rows, stride, s, x)
	if rows == 0 || s == 0 {
		return 0
	}
	if im.bnSum != nil {
		nvec, mask := bnVec(s)
		return im.bnSum(&x[0], 4*stride, rows, nvec, mask)
	}
	var acc [bnLanes]float64
	for r := range rows {
		for j, v := range x[r*stride : r*stride+s] {
			acc[j%bnLanes] += float64(v)
		}
	}
	return bnReduce(&acc)
}

// BatchNormSquaredDeviations returns Σ (x[r·stride + j] − mean)² for r < rows, j < s, in float64.
func BatchNormSquaredDeviations(x []float32, rows, stride, s int, mean float64) float64 {
	return active.Load().bnSqDevOf(x, rows, stride, s, mean)
}

func (im *impl) bnSqDevOf(x []float32, rows, stride, s int, mean float64) float64 {
	bnCheck(rows, stride, s, x)
	if rows == 0 || s == 0 {
		return 0
	}
	if im.bnSqDev != nil {
		nvec, mask := bnVec(s)
		return im.bnSqDev(&x[0], 4*stride, rows, nvec, mask, mean)
	}
	var acc [bnLanes]float64
	for r := range rows {
		for j, v := range x[r*stride : r*stride+s] {
			d := float64(v) - mean
			acc[j%bnLanes] += float64(d * d)
		}
	}
	return bnReduce(&acc)
}

// BatchNormAffine sets y = (x − mean)·scale + shift on the rows planes of s floats, stride apart,
// of x and y (which may be the same slice). With mean 0 it is y = x·scale + shift.
func BatchNormAffine(y, x []float32, rows, stride, s int, mean, scale, shift float32) {
	active.Load().bnAffineOf(y, x, rows, stride, s, mean, scale, shift, false)
}

// BatchNormAffineReLU is BatchNormAffine followed by a ReLU, with the bits of ReLUInto.
func BatchNormAffineReLU(y, x []float32, rows, stride, s int, mean, scale, shift float32) {
	active.Load().bnAffineOf(y, x, rows, stride, s, mean, scale, shift, true)
}

func (im *impl) bnAffineOf(y, x []float32, rows, stride, s int, mean, scale, shift float32, relu bool) {
	bnCheck(rows, stride, s, x, y)
	if rows == 0 || s == 0 {
		return
	}
	if k := im.bnAffine; k != nil {
		if relu {
			k = im.bnAffineReLU
		}
		nvec, mask := bnVec(s)
		k(&y[0], &x[0], 4*stride, rows, nvec, mask, mean, scale, shift)
		return
	}
	for r := range rows {
		ys := y[r*stride : r*stride+s]
		for j, v := range x[r*stride : r*stride+s] {
			v = float32((v-mean)*scale) + shift
			if relu {
				if v += 0; !(v > 0) && v == v {
					v = 0
				}
			}
			ys[j] = v
		}
	}
}

// reluGrad is dy where the ReLU output y is positive, else 0; with y nil, dy.
func reluGrad(y []float32, j int, dy float32) float32 {
	if y != nil && !(y[j] > 0) {
		return 0
	}
	return dy
}

// BatchNormGradSums returns Σ dy and Σ dy·x̂ with x̂ = (x − mean)·invStd (rounded to float32,
// as is its product with dy) over the rows planes of s floats, stride apart, of x and dy, each
// summed in float64.
func BatchNormGradSums(x, dy []float32, rows, stride, s int, mean, invStd float32) (sumDy, sumDyXhat float64) {
	return active.Load().bnGradSumsOf(x, dy, nil, rows, stride, s, mean, invStd)
}

// BatchNormGradSumsReLU is BatchNormGradSums of a batch norm followed by a ReLU whose output is
// y: dy is taken as 0 where y is not positive (NaN included), as ReLUBackward does.
func BatchNormGradSumsReLU(x, dy, y []float32, rows, stride, s int, mean, invStd float32) (sumDy, sumDyXhat float64) {
	if y == nil {
		panic("kernels: BatchNormGradSumsReLU without the ReLU's output")
	}
	return active.Load().bnGradSumsOf(x, dy, y, rows, stride, s, mean, invStd)
}

func (im *impl) bnGradSumsOf(x, dy, y []float32, rows, stride, s int, mean, invStd float32) (float64, float64) {
	bnCheck(rows, stride, s, x, dy)
	if y != nil {
		bnCheck(rows, stride, s, y)
	}
	if rows == 0 || s == 0 {
		return 0, 0
	}
	if im.bnGradSums != nil {
		nvec, mask := bnVec(s)
		if y != nil {
			return im.bnGradSumsReLU(&x[0], &dy[0], &y[0], 4*stride, rows, nvec, mask, mean, invStd)
		}
		return im.bnGradSums(&x[0], &dy[0], 4*stride, rows, nvec, mask, mean, invStd)
	}
	var sb, sg [bnLanes]float64
	for r := range rows {
		g := dy[r*stride : r*stride+s]
		var yr []float32
		if y != nil {
			yr = y[r*stride : r*stride+s]
		}
		for j, v := range x[r*stride : r*stride+s] {
			xh := float32((v - mean) * invStd)
			gj := reluGrad(yr, j, g[j])
			sb[j%bnLanes] += float64(gj)
			sg[j%bnLanes] += float64(gj * xh)
		}
	}
	return bnReduce(&sb), bnReduce(&sg)
}

// BatchNormInputGrad sets dx = k·((dy − meanDy) − (x − mean)·invStd·meanDyXhat) on the rows
// planes of s floats, stride apart, of dx, x and dy (dx may alias dy): the input gradient of a
// batch norm with k = γ·invStd, meanDy = Σ dy/m and meanDyXhat = Σ dy·x̂/m.
func BatchNormInputGrad(dx, x, dy []float32, rows, stride, s int, mean, invStd, k, meanDy, meanDyXhat float32) {
	active.Load().bnInputGradOf(dx, x, dy, nil, rows, stride, s, mean, invStd, k, meanDy, meanDyXhat)
}

// BatchNormInputGradReLU is BatchNormInputGrad of a batch norm followed by a ReLU whose output
// is y: dy is taken as 0 where y is not positive (NaN included). dx may alias dy, not y.
func BatchNormInputGradReLU(dx, x, dy, y []float32, rows, stride, s int, mean, invStd, k, meanDy, meanDyXhat float32) {
	if y == nil {
		panic("kernels: BatchNormInputGradReLU without the ReLU's output")
	}
	active.Load().bnInputGradOf(dx, x, dy, y, rows, stride, s, mean, invStd, k, meanDy, meanDyXhat)
}

func (im *impl) bnInputGradOf(dx, x, dy, y []float32, rows, stride, s int, mean, invStd, k, meanDy, meanDyXhat float32) {
	bnCheck(rows, stride, s, dx, x, dy)
	if y != nil {
		bnCheck(rows, stride, s, y)
	}
	if rows == 0 || s == 0 {
		return
	}
	if im.bnInputGrad != nil {
		nvec, mask := bnVec(s)
		if y != nil {
			im.bnInputGradReLU(&dx[0], &x[0], &dy[0], &y[0], 4*stride, rows, nvec, mask, mean, invStd, k, meanDy, meanDyXhat)
			return
		}
		im.bnInputGrad(&dx[0], &x[0], &dy[0], 4*stride, rows, nvec, mask, mean, invStd, k, meanDy, meanDyXhat)
		return
	}
	for r := range rows {
		d := dx[r*stride : r*stride+s]
		g := dy[r*stride : r*stride+s]
		var yr []float32
		if y != nil {
			yr = y[r*stride : r*stride+s]
		}
		for j, v := range x[r*stride : r*stride+s] {
			t := float32(float32((v-mean)*invStd) * meanDyXhat)
			d[j] = k * (float32(reluGrad(yr, j, g[j])-meanDy) - t)
		}
	}
}
