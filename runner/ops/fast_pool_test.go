package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/internal/testcmp"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolGraph is Σ(Pool(x) ⊙ r) with the gradient with respect to x.
type poolGraph struct {
	x, r, out *G.Node
	vm        G.VM
}

func buildPoolGraph(t *testing.T, l spec.ResolvedLayer, shape tensor.Shape, ops opSet) *poolGraph {
	t.Helper()
	g := G.NewGraph()
	t4 := func(name string, s tensor.Shape) *G.Node {
		return G.NewTensor(g, tensor.Float32, 4, G.WithShape(s...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(s...), tensor.Of(tensor.Float32))))
	}
	p := &poolGraph{x: t4("x", shape)}
	var err error
	if p.out, err = ops.Pool(p.x, l); err != nil {
		t.Fatal(err)
	}
	p.r = t4("r", p.out.Shape())
	prod, err := G.HadamardProd(p.out, p.r)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = G.Grad(cost, p.x); err != nil {
		t.Fatal(err)
	}
	p.vm = G.NewTapeMachine(g, G.BindDualValues(p.x))
	return p
}

// run sets x and r, runs the graph and returns copies of the output and of x's gradient.
func (p *poolGraph) run(t *testing.T, x, r []float32) (out, dx []float32) {
	t.Helper()
	copy(p.x.Value().Data().([]float32), x)
	copy(p.r.Value().Data().([]float32), r)
	p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gv, err := p.x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	dx = slices.Clone(gv.Data().([]float32))
	clear(gv.Data().([]float32))
	return slices.Clone(p.out.Value().Data().([]float32)), dx
}

// TestFastPoolMatchesStock checks Fast' pooling (the assembly 2×2 kernel, passes split over
// goroutines) against Stock's (the Go kernels on one goroutine): outputs and input
// gradients must be equal bit for bit, for every split mode, on data with ties and signed zeros,
// over two runs of the same machine (buffers reused).
func TestFastPoolMatchesStock(t *testing.T) {
	// Not parallel: it sets poolSplitMode for the graphs it builds.
	defer func(m kernels.PassMode) { poolSplitMode = m }(poolSplitMode)
	type pcase struct {
		kind           spec.LayerKind
		n, c, h, w     int
		kh, kw, sh, sw int
		padding        string
	}
	cases := []pcase{
		{spec.KindMaxPool2D, 3, 2, 8, 8, 2, 2, 2, 2, "valid"},
		{spec.KindMaxPool2D, 2, 3, 25, 23, 2, 2, 2, 2, "valid"},   // odd sizes: the last row and column dropped
		{spec.KindMaxPool2D, 2, 3, 25, 23, 2, 2, 2, 2, "same"},    // odd sizes: edge windows of 1 or 2 cells
		{spec.KindMaxPool2D, 2, 2, 9, 11, 3, 3, 2, 2, "same"},     // overlapping windows
		{spec.KindMaxPool2D, 128, 8, 24, 24, 2, 2, 2, 2, "valid"}, // large enough to split
		{spec.KindMaxPool2D, 64, 9, 34, 35, 2, 2, 2, 2, "same"},   // large, odd, rows of 17 and 18 outputs
		{spec.KindAvgPool2D, 2, 3, 25, 23, 2, 2, 2, 2, "same"},
		{spec.KindAvgPool2D, 128, 8, 24, 24, 2, 2, 2, 2, "valid"},
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for _, tc := range cases {
		l := spec.ResolvedLayer{Name: "pool", Kind: tc.kind, Window: spec.Pair{H: tc.kh, W: tc.kw},
			Stride: spec.Pair{H: tc.sh, W: tc.sw}, Padding: tc.padding, InH: tc.h, InW: tc.w}
		shape := tensor.Shape{tc.n, tc.c, tc.h, tc.w}
		for _, mode := range []kernels.PassMode{kernels.PassAuto, kernels.PassWhole, kernels.PassSplit} {
			t.Run(fmt.Sprintf("%s-%v-k%dx%d-s%dx%d-%s-mode%d", tc.kind, []int(shape), tc.kh, tc.kw, tc.sh, tc.sw, tc.padding, mode), func(t *testing.T) {
				poolSplitMode = mode
				stock, fast := buildPoolGraph(t, l, shape, Stock{}), buildPoolGraph(t, l, shape, Fast{})
				defer stock.vm.Close()
				defer fast.vm.Close()
				for run := range 2 {
					x := make([]float32, shape.TotalSize())
					for i := range x {
						switch rng.IntN(8) {
						case 0:
							x[i] = float32(math.Copysign(0, -1))
						case 1, 2:
							x[i] = float32(rng.IntN(3)) // ties
						default:
							x[i] = float32(rng.NormFloat64())
						}
					}
					r := make([]float32, fast.out.Shape().TotalSize())
					for i := range r {
						r[i] = float32(rng.NormFloat64())
					}
					wantOut, wantDx := stock.run(t, x, r)
					gotOut, gotDx := fast.run(t, x, r)
					if i := testcmp.FirstBitDifference(gotOut, wantOut); i >= 0 {
						t.Fatalf("run %d: output %d is %v, want %v", run, i, gotOut[i], wantOut[i])
					}
					if i := testcmp.FirstBitDifference(gotDx, wantDx); i >= 0 {
						t.Fatalf("run %d: input gradient %d is %v, want %v", run, i, gotDx[i], wantDx[i])
					}
				}
				checkPoolOpsDoNotAllocate(t, fast.out.Graph())
			})
		}
	}
}

// checkPoolOpsDoNotAllocate checks that the pooling ops of g, forward and gradient, allocate
// nothing per call.
func checkPoolOpsDoNotAllocate(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	pools := 0
	for _, n := range g.AllNodes() {
		if n.Op() == nil || !strings.HasPrefix(n.Op().String(), "nnsweep.") || !strings.Contains(n.Op().String(), "Pool2D") {
			continue
		}
		var inputs []G.Value
		for children := g.From(n.ID()); children.Next(); {
			inputs = append(inputs, children.Node().(*G.Node).Value())
		}
		if a := testing.AllocsPerRun(5, func() {
			if _, err := n.Op().Do(inputs...); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v allocates %.0f times per call", n.Op(), a)
		}
		pools++
	}
	if pools != 2 {
		t.Errorf("found %d pooling ops in the graph, want 2 (forward and gradient)", pools)
	}
}

// BenchmarkPoolForward times the forward pass of CNN1 n=32's max pooling (128×64×24×24 in) built
// with Fast and with Stock (the Go kernels on one goroutine), alternating, and
// reports each one's time and the speedup.
func BenchmarkPoolForward(b *testing.B) {
	l := spec.ResolvedLayer{Name: "pool", Kind: spec.KindMaxPool2D, Window: spec.Pair{H: 2, W: 2}, Stride: spec.Pair{H: 2, W: 2}, Padding: "valid", InH: 24, InW: 24}
	shape := tensor.Shape{128, 64, 24, 24}
	rng := rand.New(rand.NewPCG(1, 2))
	var vms [2]G.VM
	for i, ops := range []opSet{Stock{}, Fast{}} {
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(shape...), G.WithName("x"),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))))
		xs := x.Value().Data().([]float32)
		for j := range xs {
			xs[j] = float32(rng.NormFloat64())
		}
		if _, err := ops.Pool(x, l); err != nil {
			b.Fatal(err)
		}
		vms[i] = G.NewTapeMachine(g)
		defer vms[i].Close()
	}
	run := func(vm G.VM) time.Duration {
		start := time.Now()
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
		return time.Since(start)
	}
	for range 2*kernels.PassSamples + 1 {
		run(vms[0])
		run(vms[1])
	}
	var tStock, tFast time.Duration
	for b.Loop() {
		tStock += run(vms[0])
		tFast += run(vms[1])
	}
	b.ReportMetric(float64(tStock.Microseconds())/float64(b.N), "stock-µs/op")
	b.ReportMetric(float64(tFast.Microseconds())/float64(b.N), "fast-µs/op")
	b.ReportMetric(float64(tStock)/float64(tFast), "speedup")
}
