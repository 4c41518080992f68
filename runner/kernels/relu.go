package kernels

// ReLUInto sets y[i] = max(0, x[i]) for i < len(y) (NaNs stay NaN), the bits of copying x into
// y and applying AddBiasReLU without bias, in one pass; y may alias x.
func ReLUInto(y, x []float32) { active.Load().reluIntoOf(y, x) }

func (im *impl) reluIntoOf(y, x []float32) {
	n := len(y)
	if n == 0 {
		return
	}
	x = x[:n]
	if im.reluInto != nil {
		im.reluInto(&y[0], &x[0], n)
		return
	}
	for i, v := range x {
		v += 0
		if !(v > 0) && v == v {
			v = 0
		}
		y[i] = v
	}
}
