package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchNormKernels compares every implementation's batch-norm passes with the generic ones,
// bit for bit, on channel planes from 1×1 to 28×28 (tails of every length), strides with gaps
// between the planes, 1 to 40 channels' worth of rows, and NaNs, infinities and zeros of both
// signs in the data.
func TestBatchNormKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	same := func(a, b float64) bool { return a == b && math.Signbit(a) == math.Signbit(b) || a != a && b != b }
	same32 := func(a, b []float32) int {
		for i := range a {
			if !same(float64(a[i]), float64(b[i])) {
				return i
			}
		}
		return -1
	}
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1))}
	for _, im := range supportedImpls()[:len(supportedImpls())-1] {
		for trial := range 300 {
			side := 1 + r.IntN(28)
			s := side * (1 + r.IntN(side))
			if trial < 40 {
				s = 1 + trial
			}
			rows := 1 + r.IntN(40)
			stride := s + r.IntN(3)*r.IntN(17)
			n := (rows-1)*stride + s
			x, dy := randFloats(r, n), randFloats(r, n)
			for i := range x {
				x[i] = 3*x[i] + 0.5
			}
			if trial%10 == 9 {
				x[r.IntN(n)] = special[r.IntN(len(special))]
				dy[r.IntN(n)] = special[r.IntN(len(special))]
			}
			if trial%13 == 0 {
				for i := range dy {
					dy[i] = float32(math.Copysign(0, -1))
				}
			}
			if g, w := im.bnSumOf(x, rows, stride, s), genericImpl.bnSumOf(x, rows, stride, s); !same(g, w) {
				t.Fatalf("%s sum rows=%d stride=%d s=%d: got %v, want %v", im.name, rows, stride, s, g, w)
			}
			mean := genericImpl.bnSumOf(x, rows, stride, s) / float64(rows*s)
			if g, w := im.bnSqDevOf(x, rows, stride, s, mean), genericImpl.bnSqDevOf(x, rows, stride, s, mean); !same(g, w) {
				t.Fatalf("%s squared deviations rows=%d stride=%d s=%d: got %v, want %v", im.name, rows, stride, s, g, w)
			}
			m, inv := float32(mean), 0.5+r.Float32()
			// yr is a ReLU's output (zeros, NaNs) for the fused passes; dz is ReLUBackward's dy.
			yr := randFloats(r, n)
			yr[r.IntN(n)] = float32(math.NaN())
			genericImpl.reluIntoOf(yr, yr)
			dz := make([]float32, n)
			genericImpl.reluBack(yr, dy, dz)
			for _, y := range [][]float32{nil, yr} {
				gb, gg := im.bnGradSumsOf(x, dy, y, rows, stride, s, m, inv)
				wb, wg := genericImpl.bnGradSumsOf(x, dy, y, rows, stride, s, m, inv)
				if y != nil {
					// Fused with the ReLU: the sums of the ReLU's gradient, to the bit.
					if ub, ug := genericImpl.bnGradSumsOf(x, dz, nil, rows, stride, s, m, inv); !same(ub, wb) || !same(ug, wg) {
						t.Fatalf("generic fused grad sums rows=%d stride=%d s=%d: got %v %v, want %v %v", rows, stride, s, wb, wg, ub, ug)
					}
				}
				if !same(gb, wb) || !same(gg, wg) {
					t.Fatalf("%s grad sums relu=%v rows=%d stride=%d s=%d: got %v %v, want %v %v", im.name, y != nil, rows, stride, s, gb, gg, wb, wg)
				}
			}
			// The float32 passes write only the planes: the gaps keep their sentinel.
			sentinel := func() []float32 {
				y := make([]float32, n+5)
				for i := range y {
					y[i] = 42
				}
				return y
			}
			scale, shift := 2*r.Float32()-1, r.Float32()
			k, mb, mg := r.Float32(), r.Float32()-0.5, r.Float32()-0.5
			for _, relu := range []bool{false, true} {
				got, want := sentinel(), sentinel()
				im.bnAffineOf(got, x, rows, stride, s, m, scale, shift, relu)
				genericImpl.bnAffineOf(want, x, rows, stride, s, m, scale, shift, relu)
				if i := same32(got, want); i >= 0 {
					t.Fatalf("%s affine relu=%v rows=%d stride=%d s=%d: element %d is %v, want %v", im.name, relu, rows, stride, s, i, got[i], want[i])
				}
				if relu {
					// Fused with the ReLU: the unfused affine, then ReLUInto, to the bit.
					unfused := sentinel()
					im.bnAffineOf(unfused, x, rows, stride, s, m, scale, shift, false)
					im.reluIntoOf(unfused[:n], unfused[:n])
					for i := range unfused {
						if i >= n || (i%stride) >= s {
							unfused[i] = 42
						}
					}
					if i := same32(got, unfused); i >= 0 {
						t.Fatalf("%s fused affine rows=%d stride=%d s=%d: element %d is %v, want %v", im.name, rows, stride, s, i, got[i], unfused[i])
					}
				}
				var y []float32
				if relu {
					y = yr
				}
				got, want = sentinel(), sentinel()
				im.bnInputGradOf(got, x, dy, y, rows, stride, s, m, inv, k, mb, mg)
				genericImpl.bnInputGradOf(want, x, dy, y, rows, stride, s, m, inv, k, mb, mg)
				if i := same32(got, want); i >= 0 {
					t.Fatalf("%s input grad relu=%v rows=%d stride=%d s=%d: element %d is %v, want %v", im.name, relu, rows, stride, s, i, got[i], want[i])
				}
				if relu {
					unfused := sentinel()
					im.bnInputGradOf(unfused, x, dz, nil, rows, stride, s, m, inv, k, mb, mg)
					if i := same32(got, unfused); i >= 0 {
						t.Fatalf("%s fused input grad rows=%d stride=%d s=%d: element %d is %v, want %v", im.name, rows, stride, s, i, got[i], unfused[i])
					}
				}
			}
		}
	}
}

// TestBatchNormGenericSums checks the generic sums against plain sequential float64 sums.
func TestBatchNormGenericSums(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	for range 50 {
		rows, s := 1+r.IntN(20), 1+r.IntN(200)
		stride := s + r.IntN(4)
		x, dy := randFloats(r, (rows-1)*stride+s), randFloats(r, (rows-1)*stride+s)
		var sum, sq, sb, sg float64
		for i := range rows {
			for _, v := range x[i*stride : i*stride+s] {
				sum += float64(v)
			}
		}
		mean := sum / float64(rows*s)
		m, inv := float32(mean), float32(1.5)
		for i := range rows {
			for j, v := range x[i*stride : i*stride+s] {
				sq += (float64(v) - mean) * (float64(v) - mean)
				sb += float64(dy[i*stride+j])
				sg += float64(dy[i*stride+j] * ((v - m) * inv))
			}
		}
		gb, gg := genericImpl.bnGradSumsOf(x, dy, nil, rows, stride, s, m, inv)
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"sum", genericImpl.bnSumOf(x, rows, stride, s), sum},
			{"squared deviations", genericImpl.bnSqDevOf(x, rows, stride, s, mean), sq},
			{"Σ dy", gb, sb},
			{"Σ dy·x̂", gg, sg},
		} {
			if math.Abs(c.got-c.want) > 1e-12*float64(rows*s) {
				t.Fatalf("%s rows=%d s=%d: got %v, want %v", c.what, rows, s, c.got, c.want)
			}
		}
	}
}
