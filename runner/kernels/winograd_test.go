package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randWinoGeom draws a 3×3 stride-1 geometry WinogradSupports accepts: odd and even sizes,
// planes 1 wide, rows of more than 16 tiles (two chunks), asymmetric padding of 0…2.
func randWinoGeom(r *rand.Rand) ConvGeom {
	for {
		g := ConvGeom{C: 1 + r.IntN(20), F: 1 + r.IntN(20), H: 1 + r.IntN(20), W: 1 + r.IntN(40), KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			PadTop: r.IntN(3), PadBottom: r.IntN(3), PadLeft: r.IntN(3), PadRight: r.IntN(3)}
		if r.IntN(3) == 0 {
			g.PadTop, g.PadBottom, g.PadLeft, g.PadRight = 0, 0, 0, 0
		}
		if WinogradSupports(g) {
			return g
		}
	}
}

// winoTol is the tolerance of the Winograd passes against the float64 definition: an error of
// at most tol·(1 + |want|) with tol = 1e-6 + 2e-7 per term of the sum (C·9 for an output, F·9
// for an input gradient, n·OutH·OutW for a filter gradient). The transforms add and subtract up
// to nine values before and after each product, so the rounding error is a few times the
// direct convolution's; with inputs in [−1, 1] the largest errors seen are a fifth of this
// bound.
func winoTol(terms int) float64 { return 1e-6 + 2e-7*float64(terms) }

func maxRelErr(got, want []float32) float64 {
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i])))
		if !(d <= worst) {
			worst = d
		}
	}
	return worst
}

// TestWinogradAgainstNaive runs the three passes of WinogradConv, on every implementation, on
// random geometries against the float64 definition and against DirectConv, with chunks of
// one tile row, three (across images) and as many as fit.
func TestWinogradAgainstNaive(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(41, 42))
	geoms := []ConvGeom{
		{C: 32, H: 26, W: 26, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1}, // CNN1's second layer
		{C: 3, H: 3, W: 3, F: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1},     // one output pixel
		{C: 5, H: 1, W: 1, F: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{C: 7, H: 9, W: 37, F: 9, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 2, PadBottom: 0, PadLeft: 0, PadRight: 2},
	}
	for i := 0; i < 40; i++ {
		geoms = append(geoms, randWinoGeom(r))
	}
	for gi, g := range geoms {
		n := 1 + gi%3
		x, w, bias := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, g.F)
		dy := randFloats(r, n*g.OutSize())
		wantY := naiveConv(g, n, x, w, bias)
		wantDx, wantDw := naiveConvBackward(g, n, x, w, dy)
		direct := NewDirectConv(g)
		directY, directDx, directDw := make([]float32, len(wantY)), make([]float32, len(wantDx)), make([]float32, len(wantDw))
		direct.Forward(n, x, w, bias, directY)
		direct.BackwardData(n, dy, w, directDx)
		direct.BackwardFilter(n, x, dy, directDw)
		tolY, tolDx, tolDw := winoTol(9*g.C), winoTol(9*g.F), winoTol(n*g.ColCols())
		for _, im := range supportedImpls() {
			for _, rows := range []int{1, 3, 0} {
				cv := NewWinogradConv(g)
				cv.impl = im
				if rows > 0 {
					cv.fwd.rows, cv.bwd.rows = rows, rows
				}
				name := fmt.Sprintf("%v n=%d rows=%d %s", g, n, rows, im.name)
				y, dx, dw := nanFloats(len(wantY)), nanFloats(len(wantDx)), nanFloats(len(wantDw))
				cv.Forward(n, x, w, bias, y)
				cv.BackwardData(n, dy, w, dx)
				cv.BackwardFilter(n, x, dy, dw)
				for _, c := range []struct {
					what            string
					got, want, peer []float32
					tol             float64
				}{{"y", y, wantY, directY, tolY}, {"dx", dx, wantDx, directDx, tolDx}, {"dw", dw, wantDw, directDw, tolDw}} {
					if e := maxRelErr(c.got, c.want); !(e <= c.tol) {
						t.Fatalf("%s %s: error %.3g against the definition, tolerance %.3g", name, c.what, e, c.tol)
					}
					if e := maxRelErr(c.got, c.peer); !(e <= 2*c.tol) {
						t.Fatalf("%s %s: error %.3g against DirectConv, tolerance %.3g", name, c.what, e, 2*c.tol)
					}
				}
				// A second call reuses the scratch buffers (and the forward pass without bias).
				cv.Forward(n, x, w, nil, y)
				closeTo(t, name+" y without bias", y, naiveConv(g, n, x, w, nil), tolY)
			}
		}
	}
}

// TestWinogradTransformsMatchGeneric compares each assembly transform with the pure-Go one,
// bit for bit (both round every addition in the same order), on random plans with tails of
// every length, planes 1 wide and odd sizes; the buffers around the outputs must stay
// untouched.
func TestWinogradTransformsMatchGeneric(t *testing.T) {
	t.Parallel()
	var asm []*impl
	for _, im := range asmImpls() {
		if im.winoInput != nil {
			asm = append(asm, im)
		}
	}
	if len(asm) == 0 {
		t.Skip("no assembly Winograd transforms on this CPU or build")
	}
	r := rand.New(rand.NewPCG(43, 44))
	for i := 0; i < 300; i++ {
		g := randWinoGeom(r)
		if i%2 == 0 {
			g.W = 1 + r.IntN(80)
			if !WinogradSupports(g) {
				continue
			}
		}
		p := newWinoPlan(g.C, g.F, g.H, g.W, g.PadTop, g.PadLeft, g.OutH(), g.OutW())
		if i%3 == 0 { // the input-gradient plan
			p = newWinoPlan(g.F, g.C, g.OutH(), g.OutW(), 2-g.PadTop, 2-g.PadLeft, g.H, g.W)
		}
		ty := r.IntN(p.th)
		stride := p.tw + r.IntN(5)
		x := randFloats(r, p.cin*p.h*p.w)
		dy := randFloats(r, p.cout*p.oh*p.ow)
		bias := randFloats(r, p.cout)
		m := randFloats(r, 16*p.cout*stride)
		for _, im := range asm {
			name := fmt.Sprintf("%v plan %d×%d→%d×%d ty=%d %s", g, p.h, p.w, p.oh, p.ow, ty, im.name)
			want, got := nanFloats(16*p.cin*stride+8), nanFloats(16*p.cin*stride+8)
			genericImpl.winoInputTiles(&p, x, p.cin, ty, want, stride, p.cin*stride)
			im.winoInputTiles(&p, x, p.cin, ty, got, stride, p.cin*stride)
			sameBits(t, name+" input tiles", got, want)

			ty0 := r.IntN(p.th)
			nty := 1 + r.IntN(p.th-ty0)
			rows := nty*p.tw + r.IntN(5)
			want, got = nanFloats(16*p.cin*rows+8), nanFloats(16*p.cin*rows+8)
			genericImpl.winoInputTileRows(&p, x, p.cin, ty0, nty, want, rows, p.cin*rows)
			im.winoInputTileRows(&p, x, p.cin, ty0, nty, got, rows, p.cin*rows)
			sameBits(t, fmt.Sprintf("%s input tile rows %d…%d", name, ty0, ty0+nty-1), got, want)

			wantY, gotY := nanFloats(p.cout*p.oh*p.ow), nanFloats(p.cout*p.oh*p.ow)
			genericImpl.winoOutputTiles(&p, m, stride, p.cout*stride, wantY, p.cout, ty, bias)
			im.winoOutputTiles(&p, m, stride, p.cout*stride, gotY, p.cout, ty, bias)
			sameBits(t, name+" output tiles", gotY, wantY)

			want, got = nanFloats(16*p.cout*stride+8), nanFloats(16*p.cout*stride+8)
			genericImpl.winoGradTiles(&p, dy, p.cout, ty, want, stride, p.cout*stride)
			im.winoGradTiles(&p, dy, p.cout, ty, got, stride, p.cout*stride)
			sameBits(t, name+" gradient tiles", got, want)
		}
	}
}

// sameBits fails unless got and want hold the same bits (NaNs included).
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The transformed filters are reused only while the filters' bits are unchanged: weights changed
// in place between two calls (as the optimizer changes them between steps) give the result a
// fresh WinogradConv gives, on every pass that transforms them, and a change of one weight's
// sign of zero is seen too.
func TestWinogradReusesFiltersOnlyWhileUnchanged(t *testing.T) {
	t.Parallel()
	g := ConvGeom{C: 3, H: 9, W: 8, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	r := rand.New(rand.NewPCG(21, 22))
	const n = 2
	x, w, dy := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, n*g.OutSize())
	cv := NewWinogradConv(g)
	y, dx := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize())
	cv.Forward(n, x, w, nil, y)
	cv.BackwardData(n, dy, w, dx)
	for step, change := range []func(){
		func() { w[5] += 0.25 },
		func() { w[0] = 0 },
		func() { w[0] = float32(math.Copysign(0, -1)) },
	} {
		change()
		cv.Forward(n, x, w, nil, y)
		cv.BackwardData(n, dy, w, dx)
		fresh := NewWinogradConv(g)
		wantY, wantDX := make([]float32, len(y)), make([]float32, len(dx))
		fresh.Forward(n, x, w, nil, wantY)
		fresh.BackwardData(n, dy, w, wantDX)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(wantY[i]) {
				t.Fatalf("change %d: y[%d] = %v after the weights changed in place, a fresh conv gives %v", step, i, y[i], wantY[i])
			}
		}
		for i := range dx {
			if math.Float32bits(dx[i]) != math.Float32bits(wantDX[i]) {
				t.Fatalf("change %d: dx[%d] = %v after the weights changed in place, a fresh conv gives %v", step, i, dx[i], wantDX[i])
			}
		}
	}
}
