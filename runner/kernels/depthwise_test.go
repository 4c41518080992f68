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
				if im.convTapsOut != nil {
					dc := NewDirectConv(g.planeGeom())
					dc.impl = im
					variants["direct/"+im.name] = &Depthwise{g: g, plane: dc}
				}
				if ip := newDepthwiseInPlace(im, g); ip != nil {
					variants["inplace/"+im.name] = &Depthwise{g: g, ip: ip}
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
			if len(asmImpls()) > 0 && asmImpls()[0].convTapsOut != nil && len(variants) < 2 {
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
	if a := depthwiseAllocs(d, false); a != 0 {
		t.Errorf("%v allocations per call, want 0", a)
	}
}

// depthwiseAllocs returns the allocations of one call of each of d's passes on a batch of two
// random examples (with a bias when bias is set), after warm-up.
func depthwiseAllocs(d *Depthwise, bias bool) float64 {
	g := d.g
	r := rand.New(rand.NewPCG(3, 4))
	const n = 2
	x, w, dy := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, n*g.OutSize())
	var b []float32
	if bias {
		b = randFloats(r, g.F())
	}
	y, dx, dw := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, g.FilterSize())
	return testing.AllocsPerRun(10, func() {
		d.Forward(n, x, w, b, y)
		d.BackwardData(n, dy, w, dx)
		d.BackwardFilter(n, x, dy, dw)
	})
}

// TestDepthwiseGoLoopsNoAllocs checks that the Go loops (the passes without the AVX-512
// kernels, walking the taps through eachTap) allocate nothing per call either.
func TestDepthwiseGoLoopsNoAllocs(t *testing.T) {
	for _, g := range depthwiseGeoms[1:3] {
		d := &Depthwise{g: g}
		if a := depthwiseAllocs(d, true); a != 0 {
			t.Errorf("%v: %v allocations per call, want 0", g, a)
		}
	}
}

// TestDepthwiseInPlace compares the in-place passes (stride 1) with the gathering path
// (DirectConv per channel) and the Go loops on random shapes: planes from 1×1 to 28×28 (every
// tail length of a row), one to five channels, depth multipliers 1 and 2, kernels 1×1 to 5×5,
// valid, same and asymmetric padding. Forward and input gradient match the gathering path to
// rounding (the same fused multiply-adds in the same order), the filter gradient to summation
// order.
func TestDepthwiseInPlace(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range supportedImpls() {
		if im.dwTaps != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no in-place depthwise kernels on this CPU or build")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		g := DepthwiseGeom{C: 1 + r.IntN(5), M: 1 + r.IntN(2), H: 1 + r.IntN(28), W: 1 + r.IntN(28),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1, StrideW: 1}
		if trial%7 == 0 {
			g.KH, g.KW = 5, 1+r.IntN(5)
		}
		switch trial % 3 {
		case 1: // same
			g.PadTop, g.PadLeft = (g.KH-1)/2, (g.KW-1)/2
			g.PadBottom, g.PadRight = g.KH-1-g.PadTop, g.KW-1-g.PadLeft
		case 2:
			g.PadTop, g.PadBottom, g.PadLeft, g.PadRight = r.IntN(3), r.IntN(2), r.IntN(2), r.IntN(3)
		}
		if g.Validate() != nil {
			continue
		}
		n := 1 + r.IntN(3)
		x, w, bias := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, g.F())
		bias[0] = 0
		dy := randFloats(r, n*g.OutSize())
		for _, im := range ims {
			ip := &Depthwise{g: g, ip: newDepthwiseInPlace(im, g)}
			dc := NewDirectConv(g.planeGeom())
			dc.impl = im
			gather := &Depthwise{g: g, plane: dc}
			loops := &Depthwise{g: g}
			run := func(d *Depthwise) (y, dx, dw []float32) {
				y, dx, dw = nanFloats(n*g.OutSize()), nanFloats(n*g.InSize()), nanFloats(g.FilterSize())
				d.Forward(n, x, w, bias, y)
				d.BackwardData(n, dy, w, dx)
				d.BackwardFilter(n, x, dy, dw)
				return y, dx, dw
			}
			y, dx, dw := run(ip)
			gy, gdx, gdw := run(gather)
			ly, ldx, ldw := run(loops)
			name := fmt.Sprintf("%s %v n=%d", im.name, g, n)
			taps := float64(g.KH * g.KW * g.M)
			closeTo(t, name+" y vs gather", y, gy, 1e-6*taps)
			closeTo(t, name+" dx vs gather", dx, gdx, 1e-6*taps)
			closeTo(t, name+" dw vs gather", dw, gdw, 1e-5*float64(n*g.OutH()*g.OutW()))
			closeTo(t, name+" y vs loops", y, ly, 1e-5*taps)
			closeTo(t, name+" dx vs loops", dx, ldx, 1e-5*taps)
			closeTo(t, name+" dw vs loops", dw, ldw, 1e-5*float64(n*g.OutH()*g.OutW()))
			// The kernels specialised to the kernel size against the general tap kernel: the
			// same bits.
			general := *im
			general.dwTapsK = [2][][]dwTapsKFunc{}
			sy, sdx, sdw := run(&Depthwise{g: g, ip: newDepthwiseInPlace(&general, g)})
			closeTo(t, name+" y vs general taps", y, sy, 0)
			closeTo(t, name+" dx vs general taps", dx, sdx, 0)
			closeTo(t, name+" dw vs general taps", dw, sdw, 0)
		}
	}
}

func TestDepthwiseInPlaceNoAllocs(t *testing.T) {
	for _, g := range []DepthwiseGeom{depthwiseGeoms[0], depthwiseGeoms[1]} {
		d := NewDepthwise(g)
		if d.ip == nil {
			t.Skip("no in-place depthwise kernels on this CPU or build")
		}
		if a := depthwiseAllocs(d, false); a != 0 {
			t.Errorf("%v: %v allocations per call, want 0", g, a)
		}
	}
}

// BenchmarkDepthwise runs the three passes of the frontier model's depthwise layers (n = 12,
// batches of 128) on every path the CPU has: in place, gathering channels for DirectConv, and
// the Go loops; cpu-GFLOP/s counts the three passes' flops over the thread's CPU time.
func BenchmarkDepthwise(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 128
	for _, g := range []DepthwiseGeom{
		{C: 12, M: 1, H: 26, W: 26, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
		{C: 24, M: 1, H: 12, W: 12, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
		{C: 24, M: 1, H: 8, W: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	} {
		x, w, dy := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, n*g.OutSize())
		y, dx, dw := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, g.FilterSize())
		paths := map[string]*Depthwise{"loops": {g: g}}
		for _, im := range supportedImpls() {
			if ip := newDepthwiseInPlace(im, g); ip != nil {
				paths["inplace"] = &Depthwise{g: g, ip: ip}
			}
			if im.convTapsOut != nil {
				dc := NewDirectConv(g.planeGeom())
				dc.impl = im
				paths["gather"] = &Depthwise{g: g, plane: dc}
			}
		}
		for _, name := range []string{"inplace", "gather", "loops"} {
			d := paths[name]
			if d == nil {
				continue
			}
			b.Run(fmt.Sprintf("%v/%s", g, name), func(b *testing.B) {
				singleThread(b, 3*g.Flops(n), func() {
					for b.Loop() {
						d.Forward(n, x, w, nil, y)
						d.BackwardData(n, dy, w, dx)
						d.BackwardFilter(n, x, dy, dw)
					}
				})
			})
		}
	}
}
