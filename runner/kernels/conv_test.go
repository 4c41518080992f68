package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv computes the forward pass in float64 straight from the definition in ConvGeom.
func naiveConv(g ConvGeom, n int, x, w, bias []float32) []float32 {
	oh, ow := g.OutH(), g.OutW()
	y := make([]float32, n*g.OutSize())
	for b := 0; b < n; b++ {
		for f := 0; f < g.F; f++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var s float64
					if bias != nil {
						s = float64(bias[f])
					}
					for c := 0; c < g.C; c++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih, iw := i*g.StrideH+kh-g.PadTop, j*g.StrideW+kw-g.PadLeft
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								s += float64(w[((f*g.C+c)*g.KH+kh)*g.KW+kw]) * float64(x[((b*g.C+c)*g.H+ih)*g.W+iw])
							}
						}
					}
					y[((b*g.F+f)*oh+i)*ow+j] = float32(s)
				}
			}
		}
	}
	return y
}

// naiveConvBackward computes both gradients of Σ y·dy in float64 from the same definition.
func naiveConvBackward(g ConvGeom, n int, x, w, dy []float32) (dx, dw []float32) {
	oh, ow := g.OutH(), g.OutW()
	dx64 := make([]float64, n*g.InSize())
	dw64 := make([]float64, g.FilterSize())
	for b := 0; b < n; b++ {
		for f := 0; f < g.F; f++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					d := float64(dy[((b*g.F+f)*oh+i)*ow+j])
					for c := 0; c < g.C; c++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih, iw := i*g.StrideH+kh-g.PadTop, j*g.StrideW+kw-g.PadLeft
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								wi := ((f*g.C+c)*g.KH+kh)*g.KW + kw
								xi := ((b*g.C+c)*g.H+ih)*g.W + iw
								dx64[xi] += float64(w[wi]) * d
								dw64[wi] += float64(x[xi]) * d
							}
						}
					}
				}
			}
		}
	}
	dx, dw = make([]float32, len(dx64)), make([]float32, len(dw64))
	for i, v := range dx64 {
		dx[i] = float32(v)
	}
	for i, v := range dw64 {
		dw[i] = float32(v)
	}
	return dx, dw
}

func (g ConvGeom) String() string {
	return fmt.Sprintf("C%d_%dx%d_F%d_k%dx%d_s%dx%d_p%d.%d.%d.%d", g.C, g.H, g.W, g.F, g.KH, g.KW, g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// convGeoms are the geometries every convolution test runs: the CNN shapes of the sweeps,
// strides of two and three, asymmetric padding, kernels wider than tall, and channel counts on
// both sides of the four-filter groups.
var convGeoms = []ConvGeom{
	{C: 1, H: 28, W: 28, F: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	{C: 2, H: 12, W: 12, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	{C: 3, H: 9, W: 11, F: 5, KH: 3, KW: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 0, PadLeft: 2, PadRight: 1},
	{C: 4, H: 8, W: 8, F: 9, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2},
	{C: 1, H: 7, W: 6, F: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{C: 6, H: 10, W: 10, F: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{C: 2, H: 13, W: 10, F: 3, KH: 4, KW: 3, StrideH: 3, StrideW: 2, PadTop: 0, PadBottom: 2, PadLeft: 1, PadRight: 0},
	{C: 5, H: 6, W: 20, F: 4, KH: 2, KW: 7, StrideH: 1, StrideW: 3, PadLeft: 3, PadRight: 3},
	{C: 1, H: 3, W: 3, F: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
	{C: 3, H: 5, W: 4, F: 2, KH: 5, KW: 4, StrideH: 1, StrideW: 1},
	{C: 2, H: 9, W: 37, F: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 1}, // whole rows 35 wide, every other input row
	// Large enough for DirectConv's block-outer passes: both (with a partial group of filters and
	// of channels), and the forward pass alone with strides and padding.
	{C: 15, H: 24, W: 24, F: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
	{C: 9, H: 30, W: 29, F: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
}

func TestConvAgainstNaive(t *testing.T) {
	t.Parallel()
	for gi, g := range convGeoms {
		t.Run(g.String(), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(gi), 9))
			const n = 3
			x := randFloats(r, n*g.InSize())
			w := randFloats(r, g.FilterSize())
			bias := randFloats(r, g.F)
			dy := randFloats(r, n*g.OutSize())
			wantY := naiveConv(g, n, x, w, bias)
			wantDx, wantDw := naiveConvBackward(g, n, x, w, dy)
			tol := 1e-5 * float64(g.ColRows()+n*g.ColCols())
			for _, im := range supportedImpls() {
				direct := NewDirectConv(g)
				direct.impl = im
				lowered := NewIm2colConv(g)
				lowered.impl = im
				convs := []Conv2D{direct, lowered}
				if g.StrideW == 1 {
					// The other way of running the filter gradient.
					other := newDirectConv(g, !direct.compact)
					other.impl = im
					convs = append(convs, other)
				}
				for _, cv := range convs {
					name := fmt.Sprintf("%T/%s", cv, im.name)
					if d, ok := cv.(*DirectConv); ok && d.compact {
						name += "/compact"
					}
					// Outputs start as NaN: every element must be written.
					y := nanFloats(n * g.OutSize())
					cv.Forward(n, x, w, bias, y)
					closeTo(t, name+" y", y, wantY, tol)
					dx := nanFloats(n * g.InSize())
					cv.BackwardData(n, dy, w, dx)
					closeTo(t, name+" dx", dx, wantDx, tol)
					dw := nanFloats(g.FilterSize())
					cv.BackwardFilter(n, x, dy, dw)
					closeTo(t, name+" dw", dw, wantDw, tol)
					// One example: the first call of the batch is also its last.
					_, wantDw1 := naiveConvBackward(g, 1, x, w, dy)
					cv.BackwardFilter(1, x, dy, dw)
					closeTo(t, name+" dw of one example", dw, wantDw1, tol)
					// A second call reuses the scratch buffers and must give the same results.
					cv.Forward(n, x, w, nil, y)
					closeTo(t, name+" y without bias", y, naiveConv(g, n, x, w, nil), tol)
				}
			}
		})
	}
}

func nanFloats(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

func TestIm2colCol2im(t *testing.T) {
	t.Parallel()
	for gi, g := range convGeoms {
		t.Run(g.String(), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(gi), 11))
			x := randFloats(r, g.InSize())
			oh, ow := g.OutH(), g.OutW()
			col := nanFloats(g.ColRows() * g.ColCols())
			Im2col(g, x, col)
			// Naive im2col straight from the definition.
			for c := 0; c < g.C; c++ {
				for kh := 0; kh < g.KH; kh++ {
					for kw := 0; kw < g.KW; kw++ {
						for i := 0; i < oh; i++ {
							for j := 0; j < ow; j++ {
								ih, iw := i*g.StrideH+kh-g.PadTop, j*g.StrideW+kw-g.PadLeft
								var want float32
								if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
									want = x[(c*g.H+ih)*g.W+iw]
								}
								if got := col[((c*g.KH+kh)*g.KW+kw)*oh*ow+i*ow+j]; got != want {
									t.Fatalf("col[%d,%d,%d][%d,%d] = %v, want %v", c, kh, kw, i, j, got, want)
								}
							}
						}
					}
				}
			}
			// Col2im is the adjoint: <Im2col(x), d> = <x, Col2im(d)> for any d.
			d := randFloats(r, len(col))
			back := nanFloats(g.InSize())
			Col2im(g, d, back)
			var lhs, rhs float64
			for i, v := range col {
				lhs += float64(v) * float64(d[i])
			}
			for i, v := range x {
				rhs += float64(v) * float64(back[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
				t.Fatalf("<im2col(x), d> = %v but <x, col2im(d)> = %v", lhs, rhs)
			}
		})
	}
}

// TestNewConv2DChoice pins down the crossovers NewConv2D applies with the AVX-512 kernels.
func TestNewConv2DChoice(t *testing.T) {
	t.Parallel()
	if bestImpl().convTapsOut == nil || Impl() != bestImpl().name {
		t.Skip("the choice is only made with the AVX-512 convolution kernels")
	}
	conv3 := func(c, hw, f int) ConvGeom {
		return ConvGeom{C: c, H: hw, W: hw, F: f, KH: 3, KW: 3, StrideH: 1, StrideW: 1}
	}
	tests := []struct {
		name string
		g    ConvGeom
		want string // direct or im2col for forward, backward data, backward filter
	}{
		{"n2", conv3(2, 12, 4), "direct direct direct"},
		{"n32 first layer", conv3(1, 28, 32), "direct direct direct"},
		{"n8 26x26", conv3(8, 26, 8), "direct direct direct"},
		{"n16 26x26", conv3(16, 26, 16), "direct direct direct"},
		{"n16 first layer", conv3(1, 28, 16), "direct direct direct"},
		{"n16 26x26 to 2n", conv3(16, 26, 32), "winograd winograd winograd"},
		{"n32 26x26", conv3(32, 26, 64), "winograd winograd winograd"},
		{"n32 12x12", conv3(32, 12, 64), "winograd winograd winograd"},
		{"n32 10x10", conv3(64, 10, 64), "winograd winograd winograd"},
		{"n32 10x10 same padding", ConvGeom{C: 64, H: 10, W: 10, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, "winograd winograd winograd"},
		{"n32 10x10 padding 3", ConvGeom{C: 64, H: 10, W: 10, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 3, PadBottom: 3, PadLeft: 3, PadRight: 3}, "direct direct direct"},
		{"n32 stride 2", ConvGeom{C: 64, H: 21, W: 21, F: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, "direct direct im2col"},
		{"n32 5x5 kernel 13x13", ConvGeom{C: 64, H: 17, W: 17, F: 64, KH: 5, KW: 5, StrideH: 1, StrideW: 1}, "direct direct direct"},
		{"n32 5x5 kernel", ConvGeom{C: 64, H: 12, W: 12, F: 64, KH: 5, KW: 5, StrideH: 1, StrideW: 1}, "direct direct im2col"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cv := NewConv2D(tc.g)
			var got []string
			for i := 0; i < 3; i++ {
				var p Conv2D = cv
				if m, ok := cv.(*mixedConv); ok {
					p = m.pass(i)
				}
				switch p.(type) {
				case *DirectConv:
					got = append(got, "direct")
				case *WinogradConv:
					got = append(got, "winograd")
				default:
					got = append(got, "im2col")
				}
			}
			if s := fmt.Sprint(got[0], " ", got[1], " ", got[2]); s != tc.want {
				t.Errorf("NewConv2D(%v) runs %s, want %s", tc.g, s, tc.want)
			}
		})
	}
}

// TestCompactCheaper pins down which filter gradients run on the width-compact planes.
func TestCompactCheaper(t *testing.T) {
	t.Parallel()
	conv3 := func(c, hw, f int) ConvGeom {
		return ConvGeom{C: c, H: hw, W: hw, F: f, KH: 3, KW: 3, StrideH: 1, StrideW: 1}
	}
	tests := []struct {
		name string
		g    ConvGeom
		want bool
	}{
		{"n2 first layer", conv3(1, 28, 2), false},
		{"n8 first layer", conv3(1, 28, 8), true},
		{"n32 first layer", conv3(1, 28, 32), true},
		{"n8 second layer", conv3(8, 26, 8), false},
		{"n16 second layer", conv3(16, 26, 16), false},
		{"n32 second layer", conv3(32, 26, 32), true},
		{"cnn1 n32 second layer", conv3(32, 26, 64), true},
		{"n2 8x8", conv3(4, 10, 4), false},
	}
	for _, tc := range tests {
		if got := compactCheaper(tc.g); got != tc.want {
			t.Errorf("%s: compactCheaper(%v) = %v, want %v", tc.name, tc.g, got, tc.want)
		}
		if d := NewDirectConv(tc.g); d.compact != tc.want {
			t.Errorf("%s: NewDirectConv(%v).compact = %v, want %v", tc.name, tc.g, d.compact, tc.want)
		}
	}
}
