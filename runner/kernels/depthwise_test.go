package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// depthwiseGeoms are the geometries the depthwise tests run: the frontier's MNIST shapes, depth
// multipliers above 1, strides of two and three, asymmetric padding and kernels wider than tall.
var depthwiseGeoms = []DepthwiseGeom{
	{C: 1, M: 1, H: 28, W: 28, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	{C: 4, M: 1, H: 12, W: 12, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
	{C: 3, M: 2, H: 9, W: 11, KH: 3, KW: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1},
	{C: 2, M: 3, H: 13, W: 10, KH: 4, KW: 3, StrideH: 3, StrideW: 2, PadBottom: 2, PadLeft: 1},
	{C: 5, M: 1, H: 6, W: 20, KH: 2, KW: 7, StrideH: 1, StrideW: 3, PadLeft: 3, PadRight: 3},
	{C: 2, M: 2, H: 3, W: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
	{C: 1, M: 4, H: 7, W: 6, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{C: 3, M: 1, H: 5, W: 4, KH: 5, KW: 4, StrideH: 1, StrideW: 1},
}

func (g DepthwiseGeom) String() string {
	return fmt.Sprintf("C%d_M%d_%dx%d_k%dx%d_s%dx%d_p%d.%d.%d.%d", g.C, g.M, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// full returns the ordinary convolution that g is a block of: F = C·M filters over all C channels.
func (g DepthwiseGeom) full() ConvGeom {
	return ConvGeom{C: g.C, H: g.H, W: g.W, F: g.F(), KH: g.KH, KW: g.KW, StrideH: g.StrideH, StrideW: g.StrideW,
		PadTop: g.PadTop, PadBottom: g.PadBottom, PadLeft: g.PadLeft, PadRight: g.PadRight}
}

// blockDiagonal spreads a depthwise kernel F×KH×KW into the full kernel F×C×KH×KW, zero except
// where channel c = f/M.
func (g DepthwiseGeom) blockDiagonal(w []float32) []float32 {
	taps := g.KH * g.KW
	full := make([]float32, g.F()*g.C*taps)
	for f := range g.F() {
		copy(full[(f*g.C+f/g.M)*taps:], w[f*taps:(f+1)*taps])
	}
	return full
}

// TestDepthwiseAgainstNaive checks the three passes against the float64 definition of the
// ordinary convolution (naiveConv, naiveConvBackward) with the block-diagonal kernel: an
// independent computation of the same sums.
func TestDepthwiseAgainstNaive(t *testing.T) {
	t.Parallel()
	for gi, g := range depthwiseGeoms {
		t.Run(g.String(), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(gi), 17))
			const n = 3
			x := randFloats(r, n*g.InSize())
			w := randFloats(r, g.FilterSize())
			bias := randFloats(r, g.F())
			dy := randFloats(r, n*g.OutSize())
			fg := g.full()
			wantY := naiveConv(fg, n, x, g.blockDiagonal(w), bias)
			wantDx, wantDwFull := naiveConvBackward(fg, n, x, g.blockDiagonal(w), dy)
			taps := g.KH * g.KW
			wantDw := make([]float32, g.FilterSize())
			for f := range g.F() {
				copy(wantDw[f*taps:(f+1)*taps], wantDwFull[(f*g.C+f/g.M)*taps:])
			}
			tol := 1e-5 * float64(taps+n*g.OutH()*g.OutW())
			noBias := naiveConv(fg, n, x, g.blockDiagonal(w), nil)
			// The Go loops, and each implementation's DirectConv per channel.
			variants := map[string]*Depthwise{"go": {g: g}}
			for _, im := range supportedImpls() {
				if im.convTaps != nil {
					dc := NewDirectConv(g.planeGeom())
					dc.impl = im
					variants["direct/"+im.name] = &Depthwise{g: g, plane: dc}
				}
			}
			for name, d := range variants {
				// Outputs start as NaN: every element must be written.
				y := nanFloats(n * g.OutSize())
				d.Forward(n, x, w, bias, y)
				closeTo(t, name+" y", y, wantY, tol)
				d.Forward(n, x, w, nil, y)
				closeTo(t, name+" y without bias", y, noBias, tol)
				dx := nanFloats(n * g.InSize())
				d.BackwardData(n, dy, w, dx)
				closeTo(t, name+" dx", dx, wantDx, tol)
				dw := nanFloats(g.FilterSize())
				d.BackwardFilter(n, x, dy, dw)
				closeTo(t, name+" dw", dw, wantDw, tol)
			}
			if len(asmImpls()) > 0 && asmImpls()[0].convTaps != nil && len(variants) < 2 {
				t.Fatal("the DirectConv path was not tested")
			}
		})
	}
}

func TestDepthwiseGeomValidate(t *testing.T) {
	t.Parallel()
	for _, g := range []DepthwiseGeom{
		{C: 0, M: 1, H: 3, W: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{C: 1, M: 0, H: 3, W: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{C: 1, M: 1, H: 3, W: 3, KH: 4, KW: 1, StrideH: 1, StrideW: 1},
		{C: 1, M: 1, H: 3, W: 3, KH: 1, KW: 1, StrideH: 0, StrideW: 1},
		{C: 1, M: 1, H: 3, W: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1, PadLeft: -1},
	} {
		if g.Validate() == nil {
			t.Errorf("%v: no error", g)
		}
	}
	if err := depthwiseGeoms[0].Validate(); err != nil {
		t.Error(err)
	}
}

func TestDepthwiseNoAllocs(t *testing.T) {
	g := depthwiseGeoms[2]
	d := NewDepthwise(g)
	t.Logf("DirectConv per channel: %v", d.plane != nil)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2
	x, w, dy := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, n*g.OutSize())
	y, dx, dw := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, g.FilterSize())
	if a := testing.AllocsPerRun(10, func() {
		d.Forward(n, x, w, nil, y)
		d.BackwardData(n, dy, w, dx)
		d.BackwardFilter(n, x, dy, dw)
	}); a != 0 {
		t.Errorf("%v allocations per call, want 0", a)
	}
}

// TestDepthwiseGoLoopsNoAllocs checks that the Go loops (the passes without the AVX-512
// kernels, walking the taps through eachTap) allocate nothing per call either.
func TestDepthwiseGoLoopsNoAllocs(t *testing.T) {
	for _, g := range depthwiseGeoms[1:3] {
		d := &Depthwise{g: g}
		r := rand.New(rand.NewPCG(3, 4))
		const n = 2
		x, w, dy := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, n*g.OutSize())
		bias := randFloats(r, g.F())
		y, dx, dw := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, g.FilterSize())
		if a := testing.AllocsPerRun(10, func() {
			d.Forward(n, x, w, bias, y)
			d.BackwardData(n, dy, w, dx)
			d.BackwardFilter(n, x, dy, dw)
		}); a != 0 {
			t.Errorf("%v: %v allocations per call, want 0", g, a)
		}
	}
}
