package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolCase is one pooling geometry: input NCHW shape, window, strides and padding.
type poolCase struct {
	name                     string
	n, c, h, w               int
	kh, kw, sh, sw           int
	top, bottom, left, right int
}

func (pc poolCase) inShape() tensor.Shape { return tensor.Shape{pc.n, pc.c, pc.h, pc.w} }

func (pc poolCase) outHW() (int, int) {
	return (pc.h+pc.top+pc.bottom-pc.kh)/pc.sh + 1, (pc.w+pc.left+pc.right-pc.kw)/pc.sw + 1
}

func (pc poolCase) apply(kind poolKind, x *G.Node) (*G.Node, error) {
	if kind == maxPool {
		return MaxPool2D(x, pc.kh, pc.kw, pc.sh, pc.sw, pc.top, pc.bottom, pc.left, pc.right)
	}
	return AvgPool2D(x, pc.kh, pc.kw, pc.sh, pc.sw, pc.top, pc.bottom, pc.left, pc.right)
}

var poolCases = []poolCase{
	{name: "2x2 stride 2 valid", n: 1, c: 1, h: 4, w: 4, kh: 2, kw: 2, sh: 2, sw: 2},
	{name: "2x2 stride 2 valid odd sizes", n: 2, c: 3, h: 5, w: 7, kh: 2, kw: 2, sh: 2, sw: 2},
	{name: "2x2 stride 2 same odd (keras: bottom and right)", n: 2, c: 2, h: 5, w: 7, kh: 2, kw: 2, sh: 2, sw: 2, bottom: 1, right: 1},
	{name: "2x2 stride 2 padding on every side", n: 2, c: 2, h: 6, w: 5, kh: 2, kw: 2, sh: 2, sw: 2, top: 1, bottom: 1, left: 1, right: 1},
	{name: "2x2 stride 2 padding before only", n: 1, c: 2, h: 5, w: 5, kh: 2, kw: 2, sh: 2, sw: 2, top: 1, left: 1},
	{name: "3x3 stride 2 overlapping valid", n: 2, c: 2, h: 9, w: 8, kh: 3, kw: 3, sh: 2, sw: 2},
	{name: "3x3 stride 2 same", n: 3, c: 2, h: 7, w: 6, kh: 3, kw: 3, sh: 2, sw: 2, top: 1, bottom: 1, left: 0, right: 1},
	{name: "3x3 stride 1 same", n: 2, c: 3, h: 6, w: 5, kh: 3, kw: 3, sh: 1, sw: 1, top: 1, bottom: 1, left: 1, right: 1},
	{name: "2x2 stride 1", n: 3, c: 2, h: 6, w: 5, kh: 2, kw: 2, sh: 1, sw: 1},
	{name: "2x2 stride 3 (stride > window)", n: 2, c: 2, h: 8, w: 10, kh: 2, kw: 2, sh: 3, sw: 3},
	{name: "3x2 window 1x2 stride asymmetric padding", n: 2, c: 3, h: 7, w: 9, kh: 3, kw: 2, sh: 1, sw: 2, top: 2, bottom: 0, left: 0, right: 1},
	{name: "1x1 window stride 2", n: 2, c: 2, h: 5, w: 4, kh: 1, kw: 1, sh: 2, sw: 2},
	{name: "window is the whole input", n: 2, c: 3, h: 4, w: 3, kh: 4, kw: 3, sh: 1, sw: 1},
	{name: "4x4 stride 3 same", n: 1, c: 2, h: 11, w: 10, kh: 4, kw: 4, sh: 3, sw: 3, top: 1, bottom: 2, left: 1, right: 2},
}

// distinctInput returns n distinct values in [-1, 1) in random order, so that max pooling has
// no ties, and the smallest gap between two of them.
func distinctInput(rng *rand.Rand, n int) ([]float32, float64) {
	x := make([]float32, n)
	for i, p := range rng.Perm(n) {
		x[i] = float32(2*float64(p)/float64(n) - 1)
	}
	return x, 2 / float64(n)
}

func randomFloats(rng *rand.Rand, n int) []float32 {
	r := make([]float32, n)
	for i := range r {
		r[i] = float32(rng.Float64()*2 - 1)
	}
	return r
}

// refPool is the reference pooling, written from the definition: it walks every window cell in
// padded coordinates, skips padding, takes the first strict maximum in row-major order or the
// mean of the real cells. It returns the output and the exact gradient of sum(out ⊙ r) with
// respect to x.
func refPool(kind poolKind, pc poolCase, x, r []float32) (out, grad []float64) {
	outH, outW := pc.outHW()
	out = make([]float64, pc.n*pc.c*outH*outW)
	grad = make([]float64, len(x))
	o := 0
	for b := 0; b < pc.n; b++ {
		for ch := 0; ch < pc.c; ch++ {
			plane := (b*pc.c + ch) * pc.h * pc.w
			for oh := 0; oh < outH; oh++ {
				for ow := 0; ow < outW; ow++ {
					var cells []int
					for i := 0; i < pc.kh; i++ {
						for j := 0; j < pc.kw; j++ {
							row, col := oh*pc.sh-pc.top+i, ow*pc.sw-pc.left+j
							if row < 0 || row >= pc.h || col < 0 || col >= pc.w {
								continue
							}
							cells = append(cells, plane+row*pc.w+col)
						}
					}
					if kind == maxPool {
						best := cells[0]
						for _, c := range cells[1:] {
							if x[c] > x[best] {
								best = c
							}
						}
						out[o] = float64(x[best])
						grad[best] += float64(r[o])
					} else {
						var sum float64
						for _, c := range cells {
							sum += float64(x[c])
						}
						out[o] = sum / float64(len(cells))
						for _, c := range cells {
							grad[c] += float64(r[o]) / float64(len(cells))
						}
					}
					o++
				}
			}
		}
	}
	return out, grad
}

// checkClose reports the first few values of got that differ from want by more than tol.
func checkClose[T float32 | float64](t *testing.T, what string, got []T, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// newPoolGraph builds x → pool → sum(out ⊙ r) with the gradient of x, x bound to xs.
func newPoolGraph(t testing.TB, kind poolKind, pc poolCase, xs, r []float32) (g *G.ExprGraph, x, out, dx *G.Node) {
	t.Helper()
	g = G.NewGraph()
	x = G.NewTensor(g, tensor.Float32, 4, G.WithShape(pc.inShape()...), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))))
	out, err := pc.apply(kind, x)
	if err != nil {
		t.Fatal(err)
	}
	outH, outW := pc.outHW()
	if want := (tensor.Shape{pc.n, pc.c, outH, outW}); !out.Shape().Eq(want) {
		t.Fatalf("output shape %v, want %v", out.Shape(), want)
	}
	rn := G.NewTensor(g, tensor.Float32, 4, G.WithShape(out.Shape().Clone()...), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(r))))
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, rn))))
	grads, err := G.Grad(loss, x)
	if err != nil {
		t.Fatal(err)
	}
	return g, x, out, grads[0]
}

// TestPoolMatchesReference runs the forward and backward ops on inputs in [-1, 1) and, to show
// that padding never counts as a zero, on inputs all below -1.
func TestPoolMatchesReference(t *testing.T) {
	t.Parallel()
	for _, kind := range []poolKind{maxPool, avgPool} {
		for i, pc := range poolCases {
			t.Run(kind.String()+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				outH, outW := pc.outHW()
				xs, _ := distinctInput(rng, pc.inShape().TotalSize())
				if i%2 == 1 {
					for j := range xs {
						xs[j] -= 2
					}
				}
				r := randomFloats(rng, pc.n*pc.c*outH*outW)
				wantOut, wantGrad := refPool(kind, pc, xs, r)

				_, x, out, _ := newPoolGraph(t, kind, pc, xs, r)
				op := out.Op().(*poolOp)
				xv := x.Value()
				y, err := op.Do(xv)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, "out", y.(*tensor.Dense).Float32s(), wantOut, 1e-6)
				gradOp := &poolGradOp{fwd: op}
				dy := tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(r))
				dx, err := gradOp.Do(xv, dy)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, "dx", dx.(*tensor.Dense).Float32s(), wantGrad, 1e-6)
			})
		}
	}
}

func TestPoolMaxTiesGoToFirstMaximum(t *testing.T) {
	t.Parallel()
	for i, pc := range poolCases {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			outH, outW := pc.outHW()
			// Many ties, -0 among them: it equals +0, so the first of the two wins.
			values := []float32{-1, float32(math.Copysign(0, -1)), 0, 1}
			xs := make([]float32, pc.inShape().TotalSize())
			for j := range xs {
				xs[j] = values[rng.IntN(len(values))]
			}
			r := randomFloats(rng, pc.n*pc.c*outH*outW)
			wantOut, wantGrad := refPool(maxPool, pc, xs, r)
			_, _, out, _ := newPoolGraph(t, maxPool, pc, xs, r)
			op := out.Op().(*poolOp)
			xv := tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))
			y, err := op.Do(xv)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "out", y.(*tensor.Dense).Float32s(), wantOut, 0)
			dx, err := (&poolGradOp{fwd: op}).Do(xv, tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(r)))
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dx", dx.(*tensor.Dense).Float32s(), wantGrad, 1e-6)
		})
	}
}

// TestPoolGradInTapeMachine runs the ops as a training graph does: G.Grad, a TapeMachine with
// BindDualValues, Reset between runs; the second run uses new data in the same buffers.
func TestPoolGradInTapeMachine(t *testing.T) {
	t.Parallel()
	for _, kind := range []poolKind{maxPool, avgPool} {
		for i, pc := range poolCases {
			t.Run(kind.String()+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(i), 3))
				outH, outW := pc.outHW()
				xs, _ := distinctInput(rng, pc.inShape().TotalSize())
				r := randomFloats(rng, pc.n*pc.c*outH*outW)
				g, x, out, dx := newPoolGraph(t, kind, pc, xs, r)
				vm := G.NewTapeMachine(g, G.BindDualValues(x))
				defer vm.Close()
				for run := range 2 {
					if run > 0 {
						next, _ := distinctInput(rng, len(xs))
						copy(xs, next)
						copy(r, randomFloats(rng, len(r)))
						grad, err := x.Grad()
						if err != nil {
							t.Fatal(err)
						}
						grad.(*tensor.Dense).Zero()
					}
					if err := vm.RunAll(); err != nil {
						t.Fatal(err)
					}
					wantOut, wantGrad := refPool(kind, pc, xs, r)
					checkClose(t, fmt.Sprintf("run %d out", run), out.Value().Data().([]float32), wantOut, 1e-6)
					checkClose(t, fmt.Sprintf("run %d grad node", run), dx.Value().Data().([]float32), wantGrad, 1e-6)
					grad, err := x.Grad()
					if err != nil {
						t.Fatal(err)
					}
					checkClose(t, fmt.Sprintf("run %d x.Grad()", run), grad.Data().([]float32), wantGrad, 1e-6)
					vm.Reset()
				}
			})
		}
	}
}

// TestPoolLispMachine checks DoDiff, which gorgonia's LispMachine uses instead of SymDiff.
func TestPoolLispMachine(t *testing.T) {
	t.Parallel()
	for _, kind := range []poolKind{maxPool, avgPool} {
		for i, pc := range poolCases[:4] {
			t.Run(kind.String()+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(i), 4))
				outH, outW := pc.outHW()
				xs, _ := distinctInput(rng, pc.inShape().TotalSize())
				r := randomFloats(rng, pc.n*pc.c*outH*outW)
				g := G.NewGraph()
				x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(pc.inShape()...), G.WithName("x"),
					G.WithValue(tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))))
				out, err := pc.apply(kind, x)
				if err != nil {
					t.Fatal(err)
				}
				rn := G.NewConstant(tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(r)), G.WithName("r"))
				G.Must(G.Sum(G.Must(G.HadamardProd(out, rn))))
				vm := G.NewLispMachine(g) // forward, then backward from the scalar root
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				_, wantGrad := refPool(kind, pc, xs, r)
				grad, err := x.Grad()
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, "x.Grad()", grad.Data().([]float32), wantGrad, 1e-6)
			})
		}
	}
}

// TestMaxPoolMatchesGorgoniaValid compares with gorgonia's MaxPool2D where both agree on the
// semantics: no padding.
func TestMaxPoolMatchesGorgoniaValid(t *testing.T) {
	t.Parallel()
	for i, pc := range poolCases {
		if pc.top+pc.bottom+pc.left+pc.right > 0 {
			continue
		}
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			xs, _ := distinctInput(rng, pc.inShape().TotalSize())
			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(pc.inShape()...), G.WithName("x"),
				G.WithValue(tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))))
			ours, err := pc.apply(maxPool, x)
			if err != nil {
				t.Fatal(err)
			}
			stock, err := gorgoniaMaxPool2D(x, tensor.Shape{pc.kh, pc.kw}, []int{0, 0}, []int{pc.sh, pc.sw})
			if err != nil {
				t.Fatal(err)
			}
			if !ours.Shape().Eq(stock.Shape()) {
				t.Fatalf("shape %v, gorgonia's %v", ours.Shape(), stock.Shape())
			}
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			want := make([]float64, stock.Shape().TotalSize())
			for j, v := range stock.Value().Data().([]float32) {
				want[j] = float64(v)
			}
			checkClose(t, "out", ours.Value().Data().([]float32), want, 0)
		})
	}
}

// TestPoolFiniteDifferences checks the backward ops against central differences of
// sum(out ⊙ r), the forward computed by the ops themselves.
func TestPoolFiniteDifferences(t *testing.T) {
	t.Parallel()
	for _, kind := range []poolKind{maxPool, avgPool} {
		for i, pc := range poolCases {
			t.Run(kind.String()+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(i), 6))
				outH, outW := pc.outHW()
				xs, gap := distinctInput(rng, pc.inShape().TotalSize())
				r := randomFloats(rng, pc.n*pc.c*outH*outW)
				geom, err := newPoolGeometry(pc.inShape(), pc.kh, pc.kw, pc.sh, pc.sw, pc.top, pc.bottom, pc.left, pc.right)
				if err != nil {
					t.Fatal(err)
				}
				op := newPoolOp(kind, geom, false)
				xv := tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))
				loss := func() float64 {
					y, err := op.Do(xv)
					if err != nil {
						t.Fatal(err)
					}
					var sum float64
					for j, v := range y.(*tensor.Dense).Float32s() {
						sum += float64(v) * float64(r[j])
					}
					return sum
				}
				loss()
				dx, err := (&poolGradOp{fwd: op}).Do(xv, tensor.New(tensor.WithShape(geom.outShape.Clone()...), tensor.WithBacking(r)))
				if err != nil {
					t.Fatal(err)
				}
				grad := append([]float32(nil), dx.(*tensor.Dense).Float32s()...)
				// Steps below half the smallest gap cannot change which cell is a window's maximum.
				eps := float32(gap / 4)
				numeric := make([]float64, len(xs))
				for j := range xs {
					orig := xs[j]
					xs[j] = orig + eps
					plus := loss()
					xs[j] = orig - eps
					minus := loss()
					xs[j] = orig
					numeric[j] = (plus - minus) / float64((orig+eps)-(orig-eps))
				}
				checkClose(t, "dx", grad, numeric, 2e-3)
			})
		}
	}
}

// TestPoolBackwardWithoutForward checks that max pooling's backward op finds the maxima itself
// when no forward pass has recorded them.
func TestPoolBackwardWithoutForward(t *testing.T) {
	t.Parallel()
	pc := poolCases[6]
	rng := rand.New(rand.NewPCG(7, 7))
	outH, outW := pc.outHW()
	xs, _ := distinctInput(rng, pc.inShape().TotalSize())
	r := randomFloats(rng, pc.n*pc.c*outH*outW)
	geom, err := newPoolGeometry(pc.inShape(), pc.kh, pc.kw, pc.sh, pc.sw, pc.top, pc.bottom, pc.left, pc.right)
	if err != nil {
		t.Fatal(err)
	}
	dx, err := (&poolGradOp{fwd: newPoolOp(maxPool, geom, false)}).Do(
		tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs)),
		tensor.New(tensor.WithShape(geom.outShape.Clone()...), tensor.WithBacking(r)))
	if err != nil {
		t.Fatal(err)
	}
	_, want := refPool(maxPool, pc, xs, r)
	checkClose(t, "dx", dx.(*tensor.Dense).Float32s(), want, 1e-6)
}

// TestPoolNodesAreDistinct checks the ops' hashes: gorgonia merges nodes with equal hashes, and
// its own MaxPool2D hashes only the top and left padding.
func TestPoolNodesAreDistinct(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 1, 6, 6), G.WithName("x"))
	a := G.Must(MaxPool2D(x, 2, 2, 2, 2, 0, 0, 0, 0))
	b := G.Must(MaxPool2D(x, 2, 2, 2, 2, 0, 1, 0, 1)) // same output shape, different windows
	c := G.Must(AvgPool2D(x, 2, 2, 2, 2, 0, 0, 0, 0))
	d := G.Must(MaxPool2D(x, 2, 2, 2, 2, 0, 0, 0, 0))
	if a == b || a == c || b == c {
		t.Errorf("distinct poolings share a node: %v %v %v", a, b, c)
	}
	if a != d {
		t.Errorf("equal poolings of one input make two nodes")
	}
}

func TestPoolErrors(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 1, 5, 5), G.WithName("x"))
	x3 := G.NewTensor(g, tensor.Float32, 3, G.WithShape(1, 5, 5), G.WithName("x3"))
	x64 := G.NewTensor(g, tensor.Float64, 4, G.WithShape(1, 1, 5, 5), G.WithName("x64"))
	tests := []struct {
		name                                string
		x                                   *G.Node
		kh, kw, sh, sw, top, bot, left, rgt int
		want                                string
	}{
		{name: "3-D input", x: x3, kh: 2, kw: 2, sh: 2, sw: 2,
			want: "ops: MaxPool2D: input must be a 4-D NCHW float32 tensor, got shape (1, 5, 5) of float32"},
		{name: "float64 input", x: x64, kh: 2, kw: 2, sh: 2, sw: 2,
			want: "ops: MaxPool2D: input must be a 4-D NCHW float32 tensor, got shape (1, 1, 5, 5) of float64"},
		{name: "zero window and stride", x: x, kh: 0, kw: 2, sh: 2, sw: 0,
			want: "ops: MaxPool2D: window 0×2 must be at least 1×1\nstrides 2×0 must be at least 1×1"},
		{name: "negative padding", x: x, kh: 2, kw: 2, sh: 2, sw: 2, left: -1,
			want: "ops: MaxPool2D: padding (top 0, bottom 0, left -1, right 0) must not be negative"},
		{name: "padding as large as the window", x: x, kh: 2, kw: 3, sh: 2, sw: 2, bot: 2,
			want: "ops: MaxPool2D: padding (top 0, bottom 2, left 0, right 0) must be smaller than the window 2×3, or a window could hold no input"},
		{name: "window larger than the input", x: x, kh: 7, kw: 2, sh: 1, sw: 1, top: 1,
			want: "ops: MaxPool2D: window 7×2 is larger than the padded input 6×5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := MaxPool2D(tt.x, tt.kh, tt.kw, tt.sh, tt.sw, tt.top, tt.bot, tt.left, tt.rgt)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

// TestPoolStepDoesNotAllocate measures the allocations of one forward and backward call of
// each op, both through Do (what a TapeMachine calls after Reset) and UsePreallocDo. It does not
// call t.Parallel: AllocsPerRun counts every allocation in the process.
func TestPoolStepDoesNotAllocate(t *testing.T) {
	pc := poolCase{n: 4, c: 3, h: 7, w: 7, kh: 2, kw: 2, sh: 2, sw: 2, bottom: 1, right: 1}
	for _, kind := range []poolKind{maxPool, avgPool} {
		rng := rand.New(rand.NewPCG(8, 8))
		outH, outW := pc.outHW()
		xs, _ := distinctInput(rng, pc.inShape().TotalSize())
		r := randomFloats(rng, pc.n*pc.c*outH*outW)
		_, _, out, _ := newPoolGraph(t, kind, pc, xs, r)
		op := out.Op().(*poolOp)
		gradOp := &poolGradOp{fwd: op}
		xv := G.Value(tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs)))
		dy := G.Value(tensor.New(tensor.WithShape(op.geom.outShape.Clone()...), tensor.WithBacking(r)))
		y := G.Value(tensor.New(tensor.WithShape(op.geom.outShape.Clone()...), tensor.Of(tensor.Float32)))
		dx := G.Value(tensor.New(tensor.WithShape(pc.inShape()...), tensor.Of(tensor.Float32)))
		one, two := []G.Value{xv}, []G.Value{xv, dy}
		var err error
		do := testing.AllocsPerRun(100, func() {
			if _, err = op.Do(one...); err == nil {
				_, err = gradOp.Do(two...)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		prealloc := testing.AllocsPerRun(100, func() {
			if _, err = op.UsePreallocDo(y, one...); err == nil {
				_, err = gradOp.UsePreallocDo(dx, two...)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s forward+backward: %v allocations per call through Do, %v through UsePreallocDo", kind, do, prealloc)
		if do != 0 || prealloc != 0 {
			t.Errorf("%s forward+backward allocates: %v per call through Do, %v through UsePreallocDo", kind, do, prealloc)
		}
	}
}

// benchCase is the benchmark's pooling: a batch of 128, 8 channels of 24×24, 2×2 windows.
var benchCase = poolCase{n: 128, c: 8, h: 24, w: 24, kh: 2, kw: 2, sh: 2, sw: 2}

// poolStep is one forward and backward call of a pooling's ops at op level, outside a machine.
type poolStep func() error

// benchSteps returns the forward+backward step of our op and of gorgonia's for kind on pc.
func benchSteps(b *testing.B, kind poolKind, pc poolCase) (ours, stock poolStep) {
	rng := rand.New(rand.NewPCG(9, 9))
	outH, outW := pc.outHW()
	xs, _ := distinctInput(rng, pc.inShape().TotalSize())
	r := randomFloats(rng, pc.n*pc.c*outH*outW)
	xv := tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))
	dy := tensor.New(tensor.WithShape(pc.n, pc.c, outH, outW), tensor.WithBacking(r))

	_, _, out, _ := newPoolGraph(b, kind, pc, xs, r)
	op := out.Op().(*poolOp)
	gradOp := &poolGradOp{fwd: op}
	y := tensor.New(tensor.WithShape(op.geom.outShape.Clone()...), tensor.Of(tensor.Float32))
	dx := tensor.New(tensor.WithShape(pc.inShape()...), tensor.Of(tensor.Float32))
	ours = func() error {
		if _, err := op.UsePreallocDo(y, xv); err != nil {
			return err
		}
		_, err := gradOp.UsePreallocDo(dx, xv, dy)
		return err
	}

	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(pc.inShape()...), G.WithName("x"), G.WithValue(xv))
	var sout *G.Node
	var err error
	pad := []int{pc.top, pc.left}
	if kind == maxPool {
		sout, err = gorgoniaMaxPool2D(x, tensor.Shape{pc.kh, pc.kw}, pad, []int{pc.sh, pc.sw})
	} else {
		sout, err = gorgoniaAvgPool2D(x, tensor.Shape{pc.kh, pc.kw}, pad, []int{pc.sh, pc.sw})
	}
	if err != nil {
		b.Fatal(err)
	}
	grads, err := G.Grad(G.Must(G.Sum(sout)), x)
	if err != nil {
		b.Fatal(err)
	}
	sfwd := sout.Op().(G.UsePreallocDoer)
	sbwd := grads[0].Op().(G.UsePreallocDoer)
	sy := tensor.New(tensor.WithShape(sout.Shape().Clone()...), tensor.Of(tensor.Float32))
	sdx := tensor.New(tensor.WithShape(pc.inShape()...), tensor.Of(tensor.Float32))
	stock = func() error {
		if _, err := sfwd.UsePreallocDo(sy, xv); err != nil {
			return err
		}
		_, err := sbwd.UsePreallocDo(sdx, xv, sy, dy)
		return err
	}
	return ours, stock
}

// BenchmarkPool2D times one forward+backward call of each pooling op on benchCase, ours and
// gorgonia's, alternating the two in the same loop, and reports both and their ratio.
func BenchmarkPool2D(b *testing.B) {
	for _, kind := range []poolKind{maxPool, avgPool} {
		b.Run(kind.String(), func(b *testing.B) {
			ours, stock := benchSteps(b, kind, benchCase)
			var tOurs, tStock time.Duration
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if err := ours(); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := stock(); err != nil {
					b.Fatal(err)
				}
				tOurs += mid.Sub(start)
				tStock += time.Since(mid)
			}
			b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "nnsweep-ns/op")
			b.ReportMetric(float64(tStock.Nanoseconds())/float64(b.N), "gorgonia-ns/op")
			b.ReportMetric(float64(tStock)/float64(tOurs), "speedup")
		})
	}
}

// BenchmarkPool2DOps times our ops alone on benchCase, forward then backward.
func BenchmarkPool2DOps(b *testing.B) {
	for _, kind := range []poolKind{maxPool, avgPool} {
		b.Run(kind.String(), func(b *testing.B) {
			ours, _ := benchSteps(b, kind, benchCase)
			b.ReportAllocs()
			for b.Loop() {
				if err := ours(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPoolTapeStep runs x → pool → sum(out ⊙ r) with its gradient on a TapeMachine, Reset
// after every run as training does, with our op and with gorgonia's; allocs/op shows what the
// machine allocates around each.
func BenchmarkPoolTapeStep(b *testing.B) {
	pc := benchCase
	for _, kind := range []poolKind{maxPool, avgPool} {
		for _, impl := range []string{"nnsweep", "gorgonia"} {
			b.Run(kind.String()+"/"+impl, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(10, 10))
				xs, _ := distinctInput(rng, pc.inShape().TotalSize())
				g := G.NewGraph()
				x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(pc.inShape()...), G.WithName("x"),
					G.WithValue(tensor.New(tensor.WithShape(pc.inShape()...), tensor.WithBacking(xs))))
				var out *G.Node
				var err error
				switch {
				case impl == "nnsweep":
					out, err = pc.apply(kind, x)
				case kind == maxPool:
					out, err = gorgoniaMaxPool2D(x, tensor.Shape{pc.kh, pc.kw}, []int{0, 0}, []int{pc.sh, pc.sw})
				default:
					out, err = gorgoniaAvgPool2D(x, tensor.Shape{pc.kh, pc.kw}, []int{0, 0}, []int{pc.sh, pc.sw})
				}
				if err != nil {
					b.Fatal(err)
				}
				rs := randomFloats(rng, out.Shape().TotalSize())
				rn := G.NewTensor(g, tensor.Float32, 4, G.WithShape(out.Shape().Clone()...), G.WithName("r"),
					G.WithValue(tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(rs))))
				if _, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(out, rn)))), x); err != nil {
					b.Fatal(err)
				}
				vm := G.NewTapeMachine(g, G.BindDualValues(x))
				defer vm.Close()
				b.ReportAllocs()
				for b.Loop() {
					if err := vm.RunAll(); err != nil {
						b.Fatal(err)
					}
					vm.Reset()
				}
			})
		}
	}
}

// gorgoniaMaxPool2D and gorgoniaAvgPool2D are gorgonia's pooling, called under
// lockGorgoniaGroups as every call of them must be (the tests run in parallel).
func gorgoniaMaxPool2D(x *G.Node, kernel tensor.Shape, pad, stride []int) (*G.Node, error) {
	unlock := lockGorgoniaGroups()
	defer unlock()
	return G.MaxPool2D(x, kernel, pad, stride)
}

func gorgoniaAvgPool2D(x *G.Node, kernel tensor.Shape, pad, stride []int) (*G.Node, error) {
	unlock := lockGorgoniaGroups()
	defer unlock()
	return G.AveragePool2D(x, kernel, pad, stride)
}
