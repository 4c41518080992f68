package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestEpilogues(t *testing.T) {
	t.Parallel()
	// y is 2×3 with row stride 4; the fourth column must never change.
	y := func() []float32 { return []float32{-1, 2, -3, 99, 4, -5, 6, 99} }
	bias := []float32{0.5, -2.5, 1}
	tests := []struct {
		name string
		run  func([]float32) []float32
		want []float32
	}{
		{"AddBias", func(s []float32) []float32 { AddBias(2, 3, s, 4, bias); return s }, []float32{-0.5, -0.5, -2, 99, 4.5, -7.5, 7, 99}},
		{"AddBiasReLU", func(s []float32) []float32 { AddBiasReLU(2, 3, s, 4, bias); return s }, []float32{0, 0, 0, 99, 4.5, 0, 7, 99}},
		{"ReLU", func(s []float32) []float32 { AddBiasReLU(2, 3, s, 4, nil); return s }, []float32{0, 2, 0, 99, 4, 0, 6, 99}},
		{"BiasGrad", func(s []float32) []float32 { db := make([]float32, 3); BiasGrad(2, 3, s, 4, db); return db }, []float32{3, -3, 3}},
		{"ReLUBackward", func(s []float32) []float32 {
			dx := make([]float32, 8)
			ReLUBackward(s, []float32{1, 2, 3, 4, 5, 6, 7, 8}, dx)
			return dx
		}, []float32{0, 2, 0, 4, 5, 0, 7, 8}},
		// NCHW: 2 examples × 3 channels × 1 pixel, then 1 example × 2 channels × 4 pixels.
		{"AddBiasNCHW", func(s []float32) []float32 { AddBiasNCHW(2, 3, 1, s[:6], bias); return s },
			[]float32{-0.5, -0.5, -2, 99.5, 1.5, -4, 6, 99}},
		{"AddBiasReLUNCHW", func(s []float32) []float32 { AddBiasReLUNCHW(1, 2, 4, s, []float32{1, -1}); return s },
			[]float32{0, 3, 0, 100, 3, 0, 5, 98}},
		{"BiasGradNCHW", func(s []float32) []float32 { db := make([]float32, 2); BiasGradNCHW(1, 2, 4, s, db); return db },
			[]float32{97, 104}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.run(y()); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEpilogueKernels compares every implementation's epilogue passes with the generic ones on
// lengths around the vector width, with NaNs, zeros and negative zeros in the data.
func TestEpilogueKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(41, 42))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(-1))}
	data := func(n int) []float32 {
		s := randFloats(r, n)
		for i := 0; i < n; i += 7 {
			s[i] = special[i%len(special)]
		}
		return s
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
				return false
			}
		}
		return true
	}
	for _, im := range supportedImpls()[:len(supportedImpls())-1] {
		for _, size := range [][2]int{{1, 1}, {3, 15}, {2, 16}, {5, 17}, {4, 63}, {3, 64}, {2, 65}, {7, 130}, {1, 300}} {
			m, n := size[0], size[1]
			ld := n + 3
			y, dy, bias := data(m*ld), data(m*ld), data(n)
			for _, relu := range []bool{false, true} {
				for _, b := range [][]float32{bias, nil} {
					want, got := append([]float32(nil), y...), append([]float32(nil), y...)
					genericImpl.biasRows(m, n, want, ld, b, relu)
					im.biasRows(m, n, got, ld, b, relu)
					if !same(got, want) {
						t.Fatalf("%s biasRows %dx%d relu=%v bias=%v: got %v, want %v", im.name, m, n, relu, b != nil, got, want)
					}
					var channelBias []float32 // m channels of ld pixels (every size has m ≤ n)
					if b != nil {
						channelBias = b[:m]
					}
					want, got = append([]float32(nil), y...), append([]float32(nil), y...)
					genericImpl.biasNCHW(1, m, ld, want, channelBias, relu)
					im.biasNCHW(1, m, ld, got, channelBias, relu)
					if !same(got, want) {
						t.Fatalf("%s biasNCHW %dx%d relu=%v: got %v, want %v", im.name, m, ld, relu, got, want)
					}
				}
			}
			want, got := make([]float32, m*ld), make([]float32, m*ld)
			genericImpl.reluBack(y, dy, want)
			im.reluBack(y, dy, got)
			if !same(got, want) {
				t.Fatalf("%s reluBack %d: got %v, want %v", im.name, m*ld, got, want)
			}
			y = randFloats(r, m*ld) // sums without NaNs
			wantDb, gotDb := make([]float32, n), make([]float32, n)
			genericImpl.biasGrad(m, n, y, ld, wantDb)
			im.biasGrad(m, n, y, ld, gotDb)
			closeTo(t, im.name+" biasGrad", gotDb, wantDb, 1e-5*float64(m))
			wantDb, gotDb = make([]float32, m), make([]float32, m)
			genericImpl.biasGradNCHW(1, m, ld, y, wantDb)
			im.biasGradNCHW(1, m, ld, y, gotDb)
			closeTo(t, im.name+" biasGradNCHW", gotDb, wantDb, 1e-5*float64(ld))
		}
	}
}
