package kernels

// The bias and ReLU passes of dense and convolution layers. They are memory-bound; with the
// AVX-512 kernels they stream at memory speed, in pure Go at about one element per nanosecond.

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// biasRows is AddBias (relu false) or AddBiasReLU (relu true) on implementation im.
func (im *impl) biasRows(m, n int, y []float32, ldy int, bias []float32, relu bool) {
	if m == 0 || n == 0 {
		return
	}
	_ = y[(m-1)*ldy+n-1]
	if bias == nil {
		for i := 0; i < m; i++ {
			im.biasActSlice(y[i*ldy:i*ldy+n], 0, relu)
		}
		return
	}
	bias = bias[:n]
	if im.addBiasRows != nil {
		im.addBiasRows(&y[0], 4*ldy, m, n, &bias[0], boolInt(relu))
		return
	}
	for i := 0; i < m; i++ {
		row := y[i*ldy : i*ldy+n]
		for j, b := range bias {
			v := row[j] + b
			if relu && !(v > 0) && v == v {
				v = 0
			}
			row[j] = v
		}
	}
}

// biasActSlice sets y[i] = y[i] + bias, then max(·, 0) when relu is set (NaN stays NaN).
func (im *impl) biasActSlice(y []float32, bias float32, relu bool) {
	if len(y) == 0 {
		return
	}
	if im.biasAct != nil {
		im.biasAct(&y[0], len(y), bias, boolInt(relu))
		return
	}
	for i, v := range y {
		v += bias
		if relu && !(v > 0) && v == v {
			v = 0
		}
		y[i] = v
	}
}

// AddBias adds bias[j] to every row of the row-major m×n matrix y (row stride ldy): the bias of a
// dense layer whose output is y = x·w (one example per row).
func AddBias(m, n int, y []float32, ldy int, bias []float32) {
	active.Load().biasRows(m, n, y, ldy, bias[:n], false)
}

// AddBiasReLU sets y[i][j] = max(0, y[i][j] + bias[j]) on the row-major m×n matrix y (row stride
// ldy). bias may be nil (ReLU only). NaNs stay NaN.
func AddBiasReLU(m, n int, y []float32, ldy int, bias []float32) {
	active.Load().biasRows(m, n, y, ldy, bias, true)
}

// ReLUBackward sets dx[i] = dy[i] where y[i] > 0 and 0 elsewhere (NaN included), for
// i < len(dx); y is the ReLU's output (or its input: both are positive at the same places).
// dx may alias dy.
func ReLUBackward(y, dy, dx []float32) { active.Load().reluBack(y, dy, dx) }

func (im *impl) reluBack(y, dy, dx []float32) {
	n := len(dx)
	if n == 0 {
		return
	}
	y, dy = y[:n], dy[:n]
	if im.reluBackward != nil {
		im.reluBackward(&y[0], &dy[0], &dx[0], n)
		return
	}
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// BiasGrad sets db[j] = Σ_i dy[i][j] over the row-major m×n matrix dy (row stride lddy): the
// gradient of a dense layer's bias, summed over the batch.
func BiasGrad(m, n int, dy []float32, lddy int, db []float32) {
	active.Load().biasGrad(m, n, dy, lddy, db)
}

func (im *impl) biasGrad(m, n int, dy []float32, lddy int, db []float32) {
	db = db[:n]
	clear(db)
	if m == 0 || n == 0 {
		return
	}
	_ = dy[(m-1)*lddy+n-1]
	if im.addColumns != nil {
		im.addColumns(&db[0], &dy[0], 4*lddy, m, n)
		return
	}
	for i := 0; i < m; i++ {
		row := dy[i*lddy : i*lddy+n]
		for j, v := range row {
			db[j] += v
		}
	}
}

// AddBiasNCHW adds bias[c] to every element of channel c of y, an n×c×hw NCHW batch (hw = H·W).
func AddBiasNCHW(n, c, hw int, y, bias []float32) { active.Load().biasNCHW(n, c, hw, y, bias, false) }

// AddBiasReLUNCHW sets every element of channel ch of the n×c×hw NCHW batch y to
// max(0, y + bias[ch]); bias may be nil (ReLU only). NaNs stay NaN.
func AddBiasReLUNCHW(n, c, hw int, y, bias []float32) {
	active.Load().biasNCHW(n, c, hw, y, bias, true)
}

func (im *impl) biasNCHW(n, c, hw int, y, bias []float32, relu bool) {
	if bias == nil {
		im.biasActSlice(y[:n*c*hw], 0, relu)
		return
	}
	bias = bias[:c]
	for b := 0; b < n; b++ {
		for ch, v := range bias {
			im.biasActSlice(y[(b*c+ch)*hw:][:hw], v, relu)
		}
	}
}

// BiasGradNCHW sets db[ch] to the sum of channel ch of dy over an n×c×hw NCHW batch.
func BiasGradNCHW(n, c, hw int, dy, db []float32) { active.Load().biasGradNCHW(n, c, hw, dy, db) }

func (im *impl) biasGradNCHW(n, c, hw int, dy, db []float32) {
	db = db[:c]
	clear(db)
	if hw == 0 {
		return
	}
	for b := 0; b < n; b++ {
		for ch := range db {
			plane := dy[(b*c+ch)*hw:][:hw]
			if im.sum != nil {
				db[ch] += im.sum(&plane[0], hw)
				continue
			}
			var s float32
			for _, v := range plane {
				s += v
			}
			db[ch] += s
		}
	}
}
