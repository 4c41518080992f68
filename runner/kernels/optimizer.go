package kernels

import "math"

// Optimizer updates (Keras's RMSprop, Adadelta and Adam), element by element over equal-length
// slices. Every operation is rounded to float32 on its own, in the written order, and the
// assembly kernels do exactly the same operations, so every implementation gives the same bits.
// They panic if the slices' lengths differ.

// RMSpropUpdate does a = rho·a + (1−rho)·g², then w −= lr·g / (√a + eps).
func RMSpropUpdate(w, g, a []float32, lr, rho, oneMinusRho, eps float32) {
	active.Load().rmspropUpdate(w, g, a, lr, rho, oneMinusRho, eps)
}

// AdadeltaUpdate does a = rho·a + (1−rho)·g², d = √(s+eps)·g / √(a+eps),
// s = rho·s + (1−rho)·d², then w −= lr·d.
func AdadeltaUpdate(w, g, a, s []float32, lr, rho, oneMinusRho, eps float32) {
	active.Load().adadeltaUpdate(w, g, a, s, lr, rho, oneMinusRho, eps)
}

// AdamUpdate does m += (g − m)·(1−beta1), v += (g² − v)·(1−beta2), then
// w −= m·alpha / (√v + eps); alpha is the step's bias-corrected learning rate.
func AdamUpdate(w, g, m, v []float32, alpha, oneMinusBeta1, oneMinusBeta2, eps float32) {
	active.Load().adamUpdate(w, g, m, v, alpha, oneMinusBeta1, oneMinusBeta2, eps)
}

func sameLengths(w []float32, others ...[]float32) {
	for _, o := range others {
		if len(o) != len(w) {
			panic("kernels: optimizer slices differ in length")
		}
	}
}

// Sqrt32 is the float32 square root the optimizers use: math.Sqrt in float64, rounded once.
func Sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func (im *impl) rmspropUpdate(w, g, a []float32, lr, rho, oneMinusRho, eps float32) {
	sameLengths(w, g, a)
	if len(w) == 0 {
		return
	}
	if im.rmsprop != nil {
		im.rmsprop(&w[0], &g[0], &a[0], len(w), lr, rho, oneMinusRho, eps)
		return
	}
	for i := range w {
		gi := g[i]
		a[i] = float32(rho*a[i]) + float32(oneMinusRho*float32(gi*gi))
		w[i] -= float32(lr*gi) / (Sqrt32(a[i]) + eps)
	}
}

func (im *impl) adadeltaUpdate(w, g, a, s []float32, lr, rho, oneMinusRho, eps float32) {
	sameLengths(w, g, a, s)
	if len(w) == 0 {
		return
	}
	if im.adadelta != nil {
		im.adadelta(&w[0], &g[0], &a[0], &s[0], len(w), lr, rho, oneMinusRho, eps)
		return
	}
	for i := range w {
		gi := g[i]
		a[i] = float32(rho*a[i]) + float32(oneMinusRho*float32(gi*gi))
		d := float32(Sqrt32(s[i]+eps)*gi) / Sqrt32(a[i]+eps)
		s[i] = float32(rho*s[i]) + float32(oneMinusRho*float32(d*d))
		w[i] -= float32(lr * d)
	}
}

func (im *impl) adamUpdate(w, g, m, v []float32, alpha, oneMinusBeta1, oneMinusBeta2, eps float32) {
	sameLengths(w, g, m, v)
	if len(w) == 0 {
		return
	}
	if im.adam != nil {
		im.adam(&w[0], &g[0], &m[0], &v[0], len(w), alpha, oneMinusBeta1, oneMinusBeta2, eps)
		return
	}
	for i := range w {
		gi := g[i]
		m[i] += float32((gi - m[i]) * oneMinusBeta1)
		v[i] += float32((float32(gi*gi) - v[i]) * oneMinusBeta2)
		w[i] -= float32(m[i]*alpha) / (Sqrt32(v[i]) + eps)
	}
}
