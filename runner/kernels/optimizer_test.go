package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOptimizerKernels runs every implementation's optimizer updates against the pure-Go ones
// for several steps on lengths around the vector width, with zeros, tiny and huge gradients,
// and checks every weight and state element bit for bit.
func TestOptimizerKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(81, 82))
	grads := func(n int) []float32 {
		g := randFloats(r, n)
		for i := 0; i < n; i += 5 {
			g[i] = []float32{0, 1e-30, -3e18, float32(math.Copysign(0, -1)), 1e-8}[(i/5)%5]
		}
		return g
	}
	for _, im := range supportedImpls()[:len(supportedImpls())-1] {
		if im.rmsprop == nil {
			continue
		}
		for _, n := range []int{1, 7, 15, 16, 17, 31, 33, 64, 100, 257} {
			w0 := randFloats(r, n)
			slots := func(k int) [][]float32 { // fresh zero state, one copy per implementation
				s := make([][]float32, k)
				for i := range s {
					s[i] = make([]float32, n)
				}
				return s
			}
			type run struct {
				name string
				step func(im *impl, w, g []float32, st [][]float32)
				k    int
			}
			for _, u := range []run{
				{"rmsprop", func(im *impl, w, g []float32, st [][]float32) { im.rmspropUpdate(w, g, st[0], 1e-3, 0.9, 0.1, 1e-7) }, 1},
				{"adadelta", func(im *impl, w, g []float32, st [][]float32) {
					im.adadeltaUpdate(w, g, st[0], st[1], 1, 0.95, 0.05, 1e-7)
				}, 2},
				{"adam", func(im *impl, w, g []float32, st [][]float32) {
					im.adamUpdate(w, g, st[0], st[1], 1e-3, 0.1, 0.001, 1e-7)
				}, 2},
			} {
				wantW, gotW := slices.Clone(w0), slices.Clone(w0)
				wantS, gotS := slots(u.k), slots(u.k)
				for step := range 3 {
					g := grads(n)
					u.step(genericImpl, wantW, g, wantS)
					u.step(im, gotW, g, gotS)
					same := func(what string, got, want []float32) {
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %s n=%d step %d: %s[%d] = %v, want %v", im.name, u.name, n, step, what, i, got[i], want[i])
							}
						}
					}
					same("w", gotW, wantW)
					for k := range wantS {
						same("state", gotS[k], wantS[k])
					}
				}
			}
		}
	}
}
