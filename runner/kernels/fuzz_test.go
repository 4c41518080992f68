package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// FuzzSgemm compares every implementation with the naive product on shapes drawn by the fuzzer
// (go test -fuzz FuzzSgemm ./runner/kernels/); the seeds run as a normal test.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(13), uint16(29), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(15), uint8(33), uint16(300), uint8(3), uint8(2), uint64(2))
	f.Add(uint8(129), uint8(2), uint16(9), uint8(1), uint8(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags, pad uint8, seed uint64) {
		ab := [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.5}, {1, -2}}[flags>>2&3]
		tc := sgemmCase{flags&1 != 0, flags&2 != 0, int(m), int(n), int(k % 700), ab[0], ab[1], int(pad % 8)}
		for _, im := range supportedImpls() {
			checkSgemmCase(t, im, new(Workspace), tc, seed)
		}
	})
}

// TestSgemmRandomShapes is a property test: random shapes, flags, strides and scalars.
func TestSgemmRandomShapes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	w := new(Workspace)
	vals := []float32{0, 1, 0.5, -2}
	for i := 0; i < 150; i++ {
		tc := sgemmCase{r.IntN(2) == 0, r.IntN(2) == 0, 1 + r.IntN(70), 1 + r.IntN(90), 1 + r.IntN(400),
			vals[r.IntN(4)], vals[r.IntN(4)], r.IntN(20)}
		for _, im := range supportedImpls() {
			checkSgemmCase(t, im, w, tc, uint64(i))
		}
	}
}

// TestConvRandomGeoms is a property test: random geometries (strides up to 3, asymmetric
// padding, rectangular kernels) through both Conv2D implementations against the naive passes.
func TestConvRandomGeoms(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 40; i++ {
		g := ConvGeom{C: 1 + r.IntN(6), H: 1 + r.IntN(14), W: 1 + r.IntN(14), F: 1 + r.IntN(7),
			KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			PadTop: r.IntN(3), PadBottom: r.IntN(3), PadLeft: r.IntN(3), PadRight: r.IntN(3)}
		if g.Validate() != nil {
			continue
		}
		n := 1 + r.IntN(3)
		x, w, bias := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, g.F)
		dy := randFloats(r, n*g.OutSize())
		wantY := naiveConv(g, n, x, w, bias)
		wantDx, wantDw := naiveConvBackward(g, n, x, w, dy)
		tol := 1e-5 * float64(g.ColRows()+n*g.ColCols())
		for _, im := range supportedImpls() {
			direct, lowered := NewDirectConv(g), NewIm2colConv(g)
			direct.impl, lowered.impl = im, im
			for _, cv := range []Conv2D{direct, lowered, NewConv2D(g)} {
				name := fmt.Sprintf("%v %T/%s", g, cv, im.name)
				y, dx, dw := nanFloats(len(wantY)), nanFloats(len(wantDx)), nanFloats(len(wantDw))
				cv.Forward(n, x, w, bias, y)
				cv.BackwardData(n, dy, w, dx)
				cv.BackwardFilter(n, x, dy, dw)
				closeTo(t, name+" y", y, wantY, tol)
				closeTo(t, name+" dx", dx, wantDx, tol)
				closeTo(t, name+" dw", dw, wantDw, tol)
			}
		}
	}
}
