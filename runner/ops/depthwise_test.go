package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDepthwiseFiniteDifferences checks the gradients of depthwise_conv2d and separable_conv2d
// on both engines against central finite differences of the loss (see checkFiniteDifferences).
func TestDepthwiseFiniteDifferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, layers string
		eps                 float32
	}{
		{"depthwise-valid", "[5, 5, 2]", "    - depthwise_conv2d: {kernel: 3, activation: tanh}\n    - conv2d: {filters: n, kernel: 1}\n    - flatten: {}\n    - dense: {units: 3, activation: softmax}\n", 0},
		{"depthwise-multiplier-same-stride", "[6, 5, 2]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - depthwise_conv2d: {kernel: [2, 3], depth_multiplier: 2, stride: 2, padding: same, activation: sigmoid}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"depthwise-nobias-linear", "[4, 4, 3]", "    - depthwise_conv2d: {kernel: 2, depth_multiplier: 2, use_bias: false}\n    - conv2d: {filters: n, kernel: 1}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"separable-tanh", "[6, 6, 2]", "    - separable_conv2d: {filters: n, kernel: 3, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3, activation: softmax}\n", 0},
		{"separable-multiplier-same-stride-nobias", "[7, 6, 1]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - separable_conv2d: {filters: 3, kernel: 3, depth_multiplier: 2, stride: 2, padding: same, activation: sigmoid, use_bias: false}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"depthwise-swish", "[5, 5, 2]", "    - depthwise_conv2d: {kernel: 3, activation: swish}\n    - conv2d: {filters: n, kernel: 1}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"depthwise-leaky-separable-swish", "[6, 6, 2]", "    - depthwise_conv2d: {kernel: 2, activation: leaky_relu}\n    - separable_conv2d: {filters: n, kernel: 2, activation: swish}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3},
		{"separable-relu", "[6, 6, 2]", "    - separable_conv2d: {filters: 2n, kernel: 2, activation: tanh}\n    - separable_conv2d: {filters: n, kernel: 2, padding: same, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3},
	}
	for _, tt := range tests {
		for _, ops := range []builder.Ops{Stock{}, Fast{}} {
			t.Run(fmt.Sprintf("%s/%T", tt.name, ops), func(t *testing.T) {
				t.Parallel()
				m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
				checkFiniteDifferences(t, m, p, ops, tt.eps)
			})
		}
	}
}

// depthwiseTasks returns the passes of the fused depthwise ops of g and of the convolution and
// element-wise ops they use.
func depthwiseTasks(g *G.ExprGraph) []*kernels.Pass {
	tasks := splitTasks(g)
	for _, n := range g.AllNodes() {
		switch op := n.Op().(type) {
		case *depthwiseOp:
			tasks = append(tasks, op.task)
		case *depthwiseDataGradOp:
			tasks = append(tasks, op.task)
		case *depthwiseFilterGradOp:
			tasks = append(tasks, op.task)
		}
	}
	return tasks
}

// depthwiseRun is one training step of a graph: its log-probabilities, loss and gradients.
type depthwiseRun struct {
	logProbs []float32
	loss     float32
	grads    [][]float32
}

// runStep builds m's training graph at p with ops and batch over weights of seed 5 (biases
// drawn away from zero), fills it from seed 9, sets every split mode to mode and runs it once.
func runStep(t *testing.T, m spec.ResolvedModel, p spec.Point, ops builder.Ops, batch int, mode kernels.PassMode) depthwiseRun {
	t.Helper()
	w, err := builder.NewWeights(m, p, 5)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for i, name := range w.Names {
		if strings.HasSuffix(name, "/bias") {
			for j := range w.Floats()[i] {
				w.Floats()[i][j] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	gr, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Fill(gr, rand.New(rand.NewPCG(9, 9)), batch)
	for _, task := range depthwiseTasks(gr.G) {
		task.Mode = mode
	}
	vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	r := depthwiseRun{logProbs: append([]float32(nil), gr.LogProbs.Value().Data().([]float32)...), loss: gr.Loss.Value().Data().(float32)}
	for _, n := range gr.Params {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		r.grads = append(r.grads, append([]float32(nil), gv.Data().([]float32)...))
	}
	return r
}

// TestDepthwiseFastMatchesStock checks the fused ops against Stock's composition (gorgonia's
// Conv2d over the block-diagonal kernel) on one training step: log-probabilities, loss and
// every gradient close, and the fused results bit for bit the same whole or split over cores.
func TestDepthwiseFastMatchesStock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, layers string
		batch               int
	}{
		{"depthwise-relu-same", "[9, 9, 3]", "    - depthwise_conv2d: {kernel: 3, padding: same, activation: relu}\n    - conv2d: {filters: n, kernel: 1}\n    - flatten: {}\n    - dense: {units: 4}\n", 8},
		{"depthwise-multiplier-stride", "[10, 9, 2]", "    - depthwise_conv2d: {kernel: [3, 2], depth_multiplier: 3, stride: [2, 3], activation: tanh}\n    - conv2d: {filters: n, kernel: 1}\n    - flatten: {}\n    - dense: {units: 4}\n", 5},
		{"separable-chain", "[12, 12, 1]", "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - separable_conv2d: {filters: 2n, kernel: 3, depth_multiplier: 2, padding: same, activation: relu}\n    - separable_conv2d: {filters: n, kernel: 3, stride: 2, activation: sigmoid, use_bias: false}\n    - flatten: {}\n    - dense: {units: 4}\n", 6},
		// Large enough for the depthwise passes to be split over two goroutines.
		{"separable-split", "[28, 28, 1]", "    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - separable_conv2d: {filters: n, kernel: 5, depth_multiplier: 2, padding: same, activation: relu}\n    - flatten: {}\n    - dense: {units: 4}\n", 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := spectest.Model(t, tt.input, 4, 4, "{}", tt.layers)
			stock := runStep(t, m, p, Stock{}, tt.batch, kernels.PassAuto)
			whole := runStep(t, m, p, Fast{}, tt.batch, kernels.PassWhole)
			split := runStep(t, m, p, Fast{}, tt.batch, kernels.PassSplit)
			if bad := closeSlices(whole.logProbs, stock.logProbs, 1e-4); bad >= 0 {
				t.Fatalf("log-probs[%d]: fast %v, stock %v", bad, whole.logProbs[bad], stock.logProbs[bad])
			}
			if math.Abs(float64(whole.loss-stock.loss)) > 1e-5*(1+math.Abs(float64(stock.loss))) {
				t.Fatalf("loss: fast %v, stock %v", whole.loss, stock.loss)
			}
			for i := range stock.grads {
				if bad := closeSlices(whole.grads[i], stock.grads[i], 1e-4); bad >= 0 {
					t.Fatalf("gradient %d [%d]: fast %v, stock %v", i, bad, whole.grads[i][bad], stock.grads[i][bad])
				}
				if fmt.Sprint(whole.grads[i]) != fmt.Sprint(split.grads[i]) {
					t.Fatalf("gradient %d differs between whole and split passes", i)
				}
			}
			if fmt.Sprint(whole.logProbs) != fmt.Sprint(split.logProbs) {
				t.Fatal("log-probs differ between whole and split passes")
			}
		})
	}
}

// TestFusedDepthwiseSplits checks that the "separable-split" shape does split its depthwise passes
// (so TestDepthwiseFastMatchesStock compares split and whole runs of the same chunks).
func TestFusedDepthwiseSplits(t *testing.T) {
	t.Parallel()
	g := kernels.DepthwiseGeom{C: 4, M: 2, H: 26, W: 26, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}
	if !newDepthwiseGeometry(128, g).splittable {
		t.Fatalf("%v over 128 examples is not splittable: %.3g FLOP", g, g.Flops(128))
	}
}

// TestFusedDepthwiseAllocations checks that the depthwise ops and the ops they use allocate
// nothing per call once their buffers exist, whole, split or measured.
func TestFusedDepthwiseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled buffers are allocated again")
	}
	m, p := spectest.Model(t, "[28, 28, 1]", 4, 4, "{}", "    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - depthwise_conv2d: {kernel: 5, depth_multiplier: 2, padding: same, activation: relu}\n    - separable_conv2d: {filters: n, kernel: 3, activation: tanh, use_bias: false}\n    - flatten: {}\n    - dense: {units: 4}\n")
	stock, _ := stepAllocs(t, m, p, Stock{}, 128, 5)
	fast, gr := stepAllocs(t, m, p, Fast{}, 128, 5)
	t.Logf("allocations per training step (RunAll + Reset): stock %.0f, fast %.0f", stock, fast)
	vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var checked, split int
	for _, n := range gr.G.AllNodes() {
		op := n.Op()
		switch o := op.(type) {
		case *depthwiseOp:
			if o.geom.splittable {
				split++
			}
		case *depthwiseDataGradOp, *depthwiseFilterGradOp:
		default:
			continue
		}
		var inputs []G.Value
		for children := gr.G.From(n.ID()); children.Next(); {
			inputs = append(inputs, children.Node().(*G.Node).Value())
		}
		for _, mode := range []kernels.PassMode{kernels.PassWhole, kernels.PassSplit, kernels.PassAuto} {
			for _, task := range depthwiseTasks(gr.G) {
				task.Mode = mode
			}
			if a := testing.AllocsPerRun(5, func() {
				if _, err := op.Do(inputs...); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v allocates %.0f times per call in mode %d", op, a, mode)
			}
		}
		checked++
	}
	// Two depthwise forward ops, two input gradients, two kernel gradients; both forward ops split.
	if checked != 6 || split != 2 {
		t.Fatalf("checked %d depthwise ops (%d forward splittable), want 6 (2)", checked, split)
	}
}

// TestFusedDepthwiseErrors checks that shapes that do not fit are errors, not panics.
func TestFusedDepthwiseErrors(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 6, 6), G.WithName("x"))
	tensor4 := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, G.Float32, 4, G.WithShape(shape...), G.WithName(name))
	}
	layer := func(m int, window spec.Pair, padding string) spec.ResolvedLayer {
		return spec.ResolvedLayer{Name: "d", Kind: spec.KindDepthwiseConv2D, Window: window, Stride: spec.Pair{H: 1, W: 1},
			Padding: padding, Settings: spec.DepthwiseSettings{DepthMultiplier: m}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"k channels", second(FusedDepthwiseConv2D(x, tensor4("k1", 4, 1, 3, 3), nil, layer(1, spec.Pair{H: 3, W: 3}, "valid"), "relu")), "k must be [3, 1, kh, kw]"},
		{"k multiplier", second(FusedDepthwiseConv2D(x, tensor4("k2", 3, 1, 3, 3), nil, layer(2, spec.Pair{H: 3, W: 3}, "valid"), "relu")), "k must be [6, 1, kh, kw]"},
		{"k not depthwise", second(FusedDepthwiseConv2D(x, tensor4("k3", 3, 3, 3, 3), nil, layer(1, spec.Pair{H: 3, W: 3}, "valid"), "relu")), "k must be [3, 1, kh, kw]"},
		{"window", second(FusedDepthwiseConv2D(x, tensor4("k4", 3, 1, 3, 3), nil, layer(1, spec.Pair{H: 2, W: 2}, "valid"), "relu")), "the layer's kernel is 2×2"},
		{"too large", second(FusedDepthwiseConv2D(x, tensor4("k5", 3, 1, 7, 7), nil, layer(1, spec.Pair{}, "valid"), "relu")), "larger than padded input"},
		{"padding", second(FusedDepthwiseConv2D(x, tensor4("k6", 3, 1, 3, 3), nil, layer(1, spec.Pair{}, "full"), "relu")), `unknown padding "full"`},
		{"bias", second(FusedDepthwiseConv2D(x, tensor4("k7", 3, 1, 3, 3), tensor4("b7", 1, 4, 1, 1), layer(1, spec.Pair{}, "valid"), "relu")), "b must have shape (1, 3, 1, 1)"},
		{"activation", second(FusedDepthwiseConv2D(x, tensor4("k8", 3, 1, 3, 3), nil, layer(1, spec.Pair{}, "valid"), "gelu")), `unknown activation "gelu"`},
		{"stock k", second(stockDepthwiseConv2D(x, tensor4("k9", 4, 1, 3, 3), nil, layer(1, spec.Pair{H: 3, W: 3}, "valid"), "relu")), "k must be [3, 1, kh, kw]"},
		{"separable pointwise", second(FusedSeparableConv2D(x, tensor4("k10", 3, 1, 3, 3), tensor4("p10", 2, 4, 1, 1), nil, layer(1, spec.Pair{H: 3, W: 3}, "valid"), "relu")), "channels"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, tt.err, tt.want)
		}
	}
}

// TestFusedDepthwiseLispMachine checks that the depthwise op's DoDiff (gorgonia's LispMachine),
// the convolution ops' shared one, gives the gradients its SymDiff gives on a tape machine, with
// a depth multiplier, stride, padding and bias.
func TestFusedDepthwiseLispMachine(t *testing.T) {
	t.Parallel()
	l := spec.ResolvedLayer{Name: "d", Kind: spec.KindDepthwiseConv2D, Window: spec.Pair{H: 3, W: 2},
		Stride: spec.Pair{H: 2, W: 1}, Padding: "same", Settings: spec.DepthwiseSettings{DepthMultiplier: 2}}
	rng := rand.New(rand.NewPCG(9, 9))
	shapes := map[string][]int{"x": {3, 2, 6, 5}, "k": {4, 1, 3, 2}, "b": {1, 4, 1, 1}, "r": {3, 4, 3, 5}}
	vals := map[string][]float32{}
	for name, s := range shapes {
		v := make([]float32, s[0]*s[1]*s[2]*s[3])
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		vals[name] = v
	}
	// build returns the cost Σ r ⊙ tanh(depthwise(x, k) + b) and its inputs k, b and x.
	build := func(g *G.ExprGraph) (cost *G.Node, wrt []*G.Node) {
		t4 := func(name string) *G.Node {
			s := shapes[name]
			return G.NewTensor(g, G.Float32, 4, G.WithShape(s...), G.WithName(name),
				G.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(append([]float32(nil), vals[name]...)))))
		}
		x, k, b := t4("x"), t4("k"), t4("b")
		out, err := FusedDepthwiseConv2D(x, k, b, l, "tanh")
		if err != nil {
			t.Fatal(err)
		}
		prod, err := G.HadamardProd(out, t4("r"))
		if err != nil {
			t.Fatal(err)
		}
		if cost, err = G.Sum(prod); err != nil {
			t.Fatal(err)
		}
		return cost, []*G.Node{k, b, x}
	}
	tg := G.NewGraph()
	tapeCost, tapeWrt := build(tg)
	if _, err := G.Grad(tapeCost, tapeWrt...); err != nil {
		t.Fatal(err)
	}
	tape := G.NewTapeMachine(tg, G.BindDualValues(tapeWrt...))
	defer tape.Close()
	if err := tape.RunAll(); err != nil {
		t.Fatal(err)
	}
	lg := G.NewGraph()
	lispCost, lispWrt := build(lg)
	lisp := G.NewLispMachine(lg)
	defer lisp.Close()
	if err := lisp.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got, want := lispCost.Value().Data().(float32), tapeCost.Value().Data().(float32); math.Abs(float64(got-want)) > 1e-5*math.Max(1, math.Abs(float64(want))) {
		t.Fatalf("LispMachine cost %v, tape machine %v", got, want)
	}
	for i, n := range lispWrt {
		got, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		want, err := tapeWrt[i].Grad()
		if err != nil {
			t.Fatal(err)
		}
		g, w := got.Data().([]float32), want.Data().([]float32)
		if !slices.ContainsFunc(w, func(v float32) bool { return v != 0 }) {
			t.Fatalf("the tape machine's gradient of %s is all zero", n.Name())
		}
		if j := closeSlices(g, w, 1e-5); j >= 0 {
			t.Fatalf("LispMachine gradient of %s [%d] = %v, tape machine %v", n.Name(), j, g[j], w[j])
		}
	}
}
