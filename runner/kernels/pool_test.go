package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMaxPool2x2(t *testing.T) {
	t.Parallel()
	// One 4×5 plane: the fifth column and the output's third column are outside the blocks.
	x := []float32{
		1, 2, 9, 9, 100,
		3, 0, 9, 9, 100,
		-1, float32(math.Copysign(0, -1)), -5, -7, 100,
		0, -2, -6, -5, 100,
	}
	out := []float32{-1, -1, 42, -1, -1, 42}
	argmax := []int32{-1, -1, 42, -1, -1, 42}
	MaxPool2x2(x, 5, out, argmax, 3, 2, 2)
	wantOut := []float32{3, 9, 42, 0, -5, 42}
	// Ties go to the first cell in row-major order: 9 at index 2, and -0 (index 11) before +0
	// (index 15) because -0 equals +0.
	wantArg := []int32{5, 2, 42, 11, 12, 42}
	for i := range out {
		if out[i] != wantOut[i] || argmax[i] != wantArg[i] {
			t.Fatalf("got %v %v, want %v %v", out, argmax, wantOut, wantArg)
		}
	}
	if !math.Signbit(float64(out[3])) {
		t.Errorf("the winner of the -0/+0 tie is %v, want the first cell (-0)", out[3])
	}
}

// maxPool2x2Ref is MaxPool2x2 as plainly as it can be written: the reference of the kernels.
func maxPool2x2Ref(x []float32, w int, out []float32, argmax []int32, outW, rows, cols int) {
	for oh := range rows {
		r := 2 * oh * w
		for ow := range cols {
			best := r + 2*ow
			for _, i := range [3]int{best + 1, best + w, best + w + 1} {
				if OrderKey(x[i]) > OrderKey(x[best]) {
					best = i
				}
			}
			out[oh*outW+ow], argmax[oh*outW+ow] = x[best], int32(best)
		}
	}
}

// TestMaxPoolKernels compares every implementation with the plain reference on plane widths around
// the vector width, with ties, signed zeros, infinities and NaNs of both signs.
func TestMaxPoolKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(51, 52))
	nan, negNaN := float32(math.NaN()), math.Float32frombits(0xffc00000)
	special := []float32{nan, negNaN, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1, 1}
	for _, im := range supportedImpls() {
		for _, cols := range []int{1, 2, 7, 12, 15, 16, 17, 31, 32, 33, 40, 64, 65} {
			for _, extra := range []int{0, 1, 5} { // input columns past the blocks
				w, outW, rows := 2*cols+extra, cols+extra%2, 1+cols%5
				x := randFloats(r, 2*rows*w+3)
				for i := range x {
					switch r.IntN(6) {
					case 0:
						x[i] = special[r.IntN(len(special))]
					case 1:
						x[i] = float32(r.IntN(3)) // ties
					}
				}
				want, got := make([]float32, rows*outW), make([]float32, rows*outW)
				wantArg, gotArg := make([]int32, rows*outW), make([]int32, rows*outW)
				for i := range want {
					want[i], got[i], wantArg[i], gotArg[i] = -7, -7, -7, -7
				}
				maxPool2x2Ref(x, w, want, wantArg, outW, rows, cols)
				im.maxPool(x, w, got, gotArg, outW, rows, cols)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || gotArg[i] != wantArg[i] {
						t.Fatalf("%s cols %d w %d outW %d rows %d: output %d is %v at %d, want %v at %d",
							im.name, cols, w, outW, rows, i, got[i], gotArg[i], want[i], wantArg[i])
					}
				}
			}
		}
	}
}
