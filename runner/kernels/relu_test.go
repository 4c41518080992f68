package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReLUInto checks ReLUInto on every implementation against copying and the in-place ReLU
// of the same implementation and of the generic one, bit for bit, on lengths around the vector
// width with NaNs, infinities and zeros of both signs.
func TestReLUInto(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), float32(math.Inf(1))}
	bits := func(a, b []float32) int {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return i
			}
		}
		return -1
	}
	for _, im := range supportedImpls() {
		for _, n := range []int{1, 2, 15, 16, 17, 31, 63, 64, 65, 100, 257} {
			x := randFloats(r, n+1)
			for i := 0; i < n; i += 3 {
				x[i] = special[r.IntN(len(special))]
			}
			got := nanFloats(n + 1)
			im.reluIntoOf(got[:n], x)
			for _, ref := range []*impl{im, genericImpl} {
				want := append([]float32(nil), x...)
				ref.biasActSlice(want[:n], 0, true)
				want[n] = got[n] // the element past y is never written
				if i := bits(got, want); i >= 0 && !(ref == genericImpl && got[i] == want[i]) {
					t.Fatalf("%s n=%d: element %d is %v, want %v (%s in place)", im.name, n, i, got[i], want[i], ref.name)
				}
			}
			if !math.IsNaN(float64(got[n])) {
				t.Fatalf("%s n=%d: wrote past y", im.name, n)
			}
		}
	}
}

// BenchmarkReLUInto compares ReLUInto with a copy followed by the in-place ReLU on one batch of
// the frontier model's widest activation (128 × 24 × 24 × 24 floats).
func BenchmarkReLUInto(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randFloats(r, 128*24*576)
	y := make([]float32, len(x))
	b.Run("into", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for b.Loop() {
			ReLUInto(y, x)
		}
	})
	b.Run("copy+relu", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for b.Loop() {
			copy(y, x)
			AddBiasReLU(1, len(y), y, len(y), nil)
		}
	})
}
