package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convCase is one convolution under test in a graph whose cost is Σ(Conv2D(x, k, b) ⊙ r), with
// gradients with respect to k, b (with bias) and x (with wrtX).
type convCase struct {
	name              string
	batch, c, h, w, f int // batch, input channels, height, width, filters
	kh, kw, sh, sw    int // kernel and strides
	padding, act      string
	bias, wrtX        bool
}

func (tc convCase) layer() spec.ResolvedLayer {
	return spec.ResolvedLayer{Name: "conv", Kind: spec.KindConv2D, Window: spec.Pair{H: tc.kh, W: tc.kw},
		Stride: spec.Pair{H: tc.sh, W: tc.sw}, Padding: tc.padding, Activation: tc.act, UseBias: tc.bias,
		InH: tc.h, InW: tc.w}
}

// geom returns the case's kernels geometry.
func (tc convCase) geom() kernels.ConvGeom {
	g := kernels.ConvGeom{C: tc.c, H: tc.h, W: tc.w, F: tc.f, KH: tc.kh, KW: tc.kw, StrideH: tc.sh, StrideW: tc.sw}
	if tc.padding == "same" {
		g.PadTop, g.PadBottom = spec.SamePadding(tc.h, tc.kh, tc.sh)
		g.PadLeft, g.PadRight = spec.SamePadding(tc.w, tc.kw, tc.sw)
	}
	return g
}

// convGraph is a convCase built with one Ops.
type convGraph struct {
	inputs    map[string]*G.Node // x, k, b, r
	out, cost *G.Node
	wrt       G.Nodes
	vm        G.VM
	g         *G.ExprGraph
}

func buildConvCase(t *testing.T, tc convCase, ops opSet) *convGraph {
	t.Helper()
	g := G.NewGraph()
	c := &convGraph{g: g, inputs: map[string]*G.Node{}}
	t4 := func(name string, shape ...int) *G.Node {
		n := G.NewTensor(g, tensor.Float32, 4, G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))))
		c.inputs[name] = n
		return n
	}
	geom := tc.geom()
	x, k := t4("x", tc.batch, tc.c, tc.h, tc.w), t4("k", tc.f, tc.c, tc.kh, tc.kw)
	c.wrt = G.Nodes{k}
	var b *G.Node
	if tc.bias {
		b = t4("b", 1, tc.f, 1, 1)
		c.wrt = append(c.wrt, b)
	}
	if tc.wrtX {
		c.wrt = append(c.wrt, x)
	}
	var err error
	if c.out, err = ops.Conv2D(x, k, b, tc.layer(), tc.act); err != nil {
		t.Fatal(err)
	}
	if want := (tensor.Shape{tc.batch, tc.f, geom.OutH(), geom.OutW()}); !c.out.Shape().Eq(want) {
		t.Fatalf("output shape %v, want %v", c.out.Shape(), want)
	}
	prod, err := G.HadamardProd(c.out, t4("r", tc.batch, tc.f, geom.OutH(), geom.OutW()))
	if err != nil {
		t.Fatal(err)
	}
	if c.cost, err = G.Sum(prod); err != nil {
		t.Fatal(err)
	}
	if _, err = G.Grad(c.cost, c.wrt...); err != nil {
		t.Fatal(err)
	}
	c.vm = G.NewTapeMachine(g, G.BindDualValues(c.wrt...))
	return c
}

// convValues draws the values of a convCase's inputs.
func convValues(tc convCase, rng *rand.Rand) map[string][]float32 {
	g := tc.geom()
	normal := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	return map[string][]float32{
		"x": normal(tc.batch*g.InSize(), 1),
		"k": normal(g.FilterSize(), 1/math.Sqrt(float64(g.ColRows()))),
		"b": normal(tc.f, 0.3),
		"r": normal(tc.batch*g.OutSize(), 1),
	}
}

// referenceConv computes activation(conv(x, k) + b) in float64 with plain loops, padding read
// as zeros.
func referenceConv(tc convCase, vals map[string][]float32) []float32 {
	g := tc.geom()
	x, k, b := vals["x"], vals["k"], vals["b"]
	oh, ow := g.OutH(), g.OutW()
	y := make([]float32, tc.batch*g.OutSize())
	for n := range tc.batch {
		for f := range tc.f {
			for i := range oh {
				for j := range ow {
					var z float64
					if tc.bias {
						z = float64(b[f])
					}
					for c := range tc.c {
						for u := range tc.kh {
							for v := range tc.kw {
								r, q := i*tc.sh+u-g.PadTop, j*tc.sw+v-g.PadLeft
								if r < 0 || r >= tc.h || q < 0 || q >= tc.w {
									continue
								}
								z += float64(k[((f*tc.c+c)*tc.kh+u)*tc.kw+v]) * float64(x[((n*tc.c+c)*tc.h+r)*tc.w+q])
							}
						}
					}
					switch tc.act {
					case "relu":
						z = math.Max(z, 0)
					case "sigmoid":
						z = 1 / (1 + math.Exp(-z))
					case "tanh":
						z = math.Tanh(z)
					}
					y[((n*tc.f+f)*oh+i)*ow+j] = float32(z)
				}
			}
		}
	}
	return y
}

func (c *convGraph) set(vals map[string][]float32) {
	for name, n := range c.inputs {
		copy(n.Value().Data().([]float32), vals[name])
	}
}

// run runs the graph once and returns copies of its output, cost and WRT gradients.
func (c *convGraph) run(t *testing.T) (out []float32, cost float32, grads [][]float32) {
	t.Helper()
	c.vm.Reset()
	if err := c.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out = slices.Clone(c.out.Value().Data().([]float32))
	cost = c.cost.Value().Data().(float32)
	for _, n := range c.wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, slices.Clone(gv.Data().([]float32)))
	}
	return out, cost, grads
}

func (c *convGraph) zeroGrads(t *testing.T) {
	t.Helper()
	for _, n := range c.wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		clear(gv.Data().([]float32))
	}
}

// splitTasks returns the tasks of the fused convolution ops of g.
func splitTasks(g *G.ExprGraph) []*kernels.Pass {
	var tasks []*kernels.Pass
	for _, n := range g.AllNodes() {
		switch op := n.Op().(type) {
		case *convOp:
			tasks = append(tasks, op.task)
		case *outputGradOp:
			tasks = append(tasks, op.task)
		case *convDataGradOp:
			tasks = append(tasks, op.task)
		case *convFilterGradOp:
			tasks = append(tasks, op.task)
		case *convBiasGradOp:
			tasks = append(tasks, op.task)
		}
	}
	return tasks
}

// setSplitMode sets the mode of every fused convolution op of g.
func setSplitMode(g *G.ExprGraph, mode kernels.PassMode) {
	for _, t := range splitTasks(g) {
		t.Mode = mode
	}
}

// convCases is the table of TestFusedConv2DMatchesStock.
func convCases() []convCase {
	type shape struct {
		batch, c, h, w, f, kh, kw, sh, sw int
		padding                           string
	}
	shapes := []shape{
		{1, 1, 5, 5, 1, 3, 3, 1, 1, "valid"},      // one channel, one filter, batch 1
		{3, 1, 7, 9, 2, 3, 3, 1, 1, "same"},       // odd sizes, symmetric same padding
		{2, 3, 6, 7, 4, 2, 3, 1, 1, "same"},       // kernel [2, 3]: padding t0 b1 l1 r1
		{4, 2, 9, 8, 3, 3, 3, 2, 2, "valid"},      // stride 2
		{2, 3, 8, 6, 5, 3, 2, 2, 2, "same"},       // stride 2, asymmetric same: t0 b1 l0 r0
		{1, 4, 6, 6, 3, 2, 2, 1, 2, "same"},       // mixed strides, t0 b1 l0 r0
		{5, 2, 1, 9, 2, 1, 3, 1, 1, "valid"},      // a one-row image
		{3, 5, 5, 5, 7, 5, 5, 1, 1, "valid"},      // kernel covering the whole image
		{2, 1, 3, 4, 2, 3, 3, 3, 3, "same"},       // stride 3 on a small image
		{64, 4, 16, 15, 8, 3, 3, 1, 1, "same"},    // large enough to split over two goroutines
		{37, 8, 11, 11, 16, 3, 3, 1, 1, "valid"},  // split, odd batch
		{17, 32, 10, 10, 32, 3, 3, 1, 1, "valid"}, // split, many channels: im2col passes
		{128, 2, 24, 23, 8, 3, 3, 1, 1, "same"},   // activation and bias gradients split too
	}
	var cases []convCase
	for ai, act := range []string{"relu", "sigmoid", "tanh", "linear"} {
		for i, s := range shapes {
			bias := (i+ai)%2 == 0
			wrtX := (i+ai)%3 != 2
			cases = append(cases, convCase{
				name:  fmt.Sprintf("%s-b%d-%dx%dx%d-f%d-k%dx%d-s%dx%d-%s-bias=%t-wrtx=%t", act, s.batch, s.c, s.h, s.w, s.f, s.kh, s.kw, s.sh, s.sw, s.padding, bias, wrtX),
				batch: s.batch, c: s.c, h: s.h, w: s.w, f: s.f, kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw,
				padding: s.padding, act: act, bias: bias, wrtX: wrtX,
			})
		}
	}
	return cases
}

// TestFusedConv2DMatchesStock checks the fused convolution's output against a float64 reference
// and its cost and gradients against the same graph built with Stock (gorgonia's
// im2col convolution, explicit zero padding, BroadcastAdd and activation), over three runs:
// fresh values; new values after zeroing the gradients (stale buffers); the same values again
// without zeroing (each run adds its gradient to the bound one). Passes large enough to split
// are split on every run (TestFusedConv2DDeterministic shows the other modes give the same bits).
func TestFusedConv2DMatchesStock(t *testing.T) {
	t.Parallel()
	cases := convCases()
	var split, whole int
	for _, tc := range cases {
		if g, err := newConvGeometry(tc.batch, tc.geom()); err != nil {
			t.Fatal(err)
		} else if g.splittable {
			split++
		} else {
			whole++
		}
	}
	if split == 0 || whole == 0 {
		t.Fatalf("%d cases split the batch, %d do not; the table needs both", split, whole)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stock, fused := buildConvCase(t, tc, Stock{}), buildConvCase(t, tc, Fast{})
			defer stock.vm.Close()
			defer fused.vm.Close()
			setSplitMode(fused.g, kernels.PassSplit)
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			var vals map[string][]float32
			const tol = 2e-5
			compare := func(step string) [][]float32 {
				t.Helper()
				_, sc, sg := stock.run(t)
				fo, fc, fg := fused.run(t)
				want := referenceConv(tc, vals)
				if j := closeSlices(fo, want, tol); j >= 0 {
					t.Fatalf("%s: output[%d] = %v, want %v", step, j, fo[j], want[j])
				}
				// The costs are float32 sums of many terms that mostly cancel: both are checked
				// against the float64 sum, relative to the sum of the terms' magnitudes.
				var cost, mass float64
				for i, y := range want {
					cost += float64(y) * float64(vals["r"][i])
					mass += math.Abs(float64(y) * float64(vals["r"][i]))
				}
				for _, c := range []struct {
					name string
					got  float32
				}{{"fused", fc}, {"stock", sc}} {
					if math.Abs(float64(c.got)-cost) > 1e-5*(1+mass) {
						t.Fatalf("%s: %s cost %v, want %v (terms' magnitudes sum to %v)", step, c.name, c.got, cost, mass)
					}
				}
				for k := range sg {
					if j := closeSlices(fg[k], sg[k], tol); j >= 0 {
						t.Fatalf("%s: gradient of %s [%d] = %v, stock %v", step, stock.wrt[k].Name(), j, fg[k][j], sg[k][j])
					}
				}
				return fg
			}
			vals = convValues(tc, rng)
			stock.set(vals)
			fused.set(vals)
			compare("run 1")
			vals = convValues(tc, rng)
			for _, c := range []*convGraph{stock, fused} {
				c.set(vals)
				c.zeroGrads(t)
			}
			second := compare("run 2 (new values)")
			third := compare("run 3 (gradients not zeroed)")
			for k := range second {
				twice := make([]float32, len(second[k]))
				for j, v := range second[k] {
					twice[j] = 2 * v
				}
				if j := closeSlices(third[k], twice, 1e-6); j >= 0 {
					t.Fatalf("gradient of %s after two runs [%d] = %v, want twice %v", fused.wrt[k].Name(), j, third[k][j], second[k][j])
				}
			}
		})
	}
}

// The results of a pass large enough to split do not depend on whether it was split or on which
// goroutine ran which chunk: graphs run concurrently, always whole, always split and measuring
// (auto), give bitwise equal outputs and gradients on every run.
func TestFusedConv2DDeterministic(t *testing.T) {
	t.Parallel()
	tc := convCase{batch: 128, c: 2, h: 24, w: 23, f: 8, kh: 3, kw: 3, sh: 1, sw: 1, padding: "same", act: "relu", bias: true, wrtX: true}
	vals := convValues(tc, rand.New(rand.NewPCG(4, 4)))
	modes := []kernels.PassMode{kernels.PassWhole, kernels.PassSplit, kernels.PassAuto, kernels.PassSplit, kernels.PassAuto}
	graphs := make([]*convGraph, len(modes))
	for i, mode := range modes {
		graphs[i] = buildConvCase(t, tc, Fast{})
		defer graphs[i].vm.Close()
		graphs[i].set(vals)
		setSplitMode(graphs[i].g, mode)
		if i == 0 && len(splitTasks(graphs[i].g)) != 5 {
			t.Fatalf("%d fused convolution ops, want 5", len(splitTasks(graphs[i].g)))
		}
	}
	results := make(chan convRuns, len(graphs))
	for _, c := range graphs {
		go func() {
			r, err := runConvRepeatedly(c, 6)
			r.err = err
			results <- r
		}()
	}
	var all []convRuns
	for range graphs {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		all = append(all, r)
	}
	first := all[0]
	for _, r := range all {
		for run := range r.out {
			if !slices.Equal(r.out[run], first.out[0]) {
				t.Fatalf("run %d: outputs differ", run)
			}
			for k := range r.grads[run] {
				if !slices.Equal(r.grads[run][k], first.grads[0][k]) {
					t.Fatalf("run %d: gradient %d differs", run, k)
				}
			}
		}
	}
	// The ops that measure (those large enough to split) ran both ways.
	measured := 0
	for _, task := range splitTasks(graphs[2].g) {
		whole, split := task.Runs()
		if whole == 0 && split == 0 {
			continue
		}
		if whole == 0 || split == 0 {
			t.Fatalf("a measuring op ran %d calls whole and %d split", whole, split)
		}
		measured++
	}
	if measured != 5 {
		t.Fatalf("%d ops measured, want all 5", measured)
	}
}

// convRuns are the outputs and gradients of repeated runs of a convolution case's graph.
type convRuns struct {
	out   [][]float32   // per run
	grads [][][]float32 // per run, per WRT node
	err   error
}

// runConvRepeatedly runs c's graph the given number of times from zeroed gradients and keeps
// every output and gradient.
func runConvRepeatedly(c *convGraph, times int) (convRuns, error) {
	var r convRuns
	for range times {
		c.vm.Reset()
		for _, n := range c.wrt {
			if gv, err := n.Grad(); err == nil && gv != nil {
				clear(gv.Data().([]float32))
			}
		}
		if err := c.vm.RunAll(); err != nil {
			return r, err
		}
		r.out = append(r.out, slices.Clone(c.out.Value().Data().([]float32)))
		var grads [][]float32
		for _, n := range c.wrt {
			gv, err := n.Grad()
			if err != nil {
				return r, err
			}
			grads = append(grads, slices.Clone(gv.Data().([]float32)))
		}
		r.grads = append(r.grads, grads)
	}
	return r, nil
}

// convDataGradOps returns the graph's fused convolution input-gradient ops.
func convDataGradOps(g *G.ExprGraph) []*convDataGradOp {
	var ops []*convDataGradOp
	for _, n := range g.AllNodes() {
		if op, ok := n.Op().(*convDataGradOp); ok {
			ops = append(ops, op)
		}
	}
	return ops
}

// The first convolution's dX, which gorgonia asks for but nothing uses, is not computed; the
// second one's is.
func TestFusedConv2DSkipsUnusedInputGradient(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[6, 6, 1]", 3, 2, "{}", "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n")
	gr, vm := graphtest.Train(t, m, p, 1, 5, Fast{}, rand.New(rand.NewPCG(3, 3)))
	defer vm.Close()
	var skipped, computed []string
	for _, op := range convDataGradOps(gr.G) {
		if !op.decided {
			t.Fatalf("%v did not run", op)
		}
		if op.skip {
			skipped = append(skipped, op.String())
			if slices.ContainsFunc(op.out.data, func(v float32) bool { return v != 0 }) {
				t.Fatalf("skipped %v holds %v", op, op.out.data)
			}
		} else {
			computed = append(computed, op.String())
		}
	}
	wantSkipped := []string{"nnsweep.Conv2DInputGrad{(5, 1, 6, 6)∗(2, 1, 3, 3), stride 1×1, padding t0 b0 l0 r0}"}
	wantComputed := []string{"nnsweep.Conv2DInputGrad{(5, 2, 4, 4)∗(2, 2, 3, 3), stride 1×1, padding t0 b0 l0 r0, relu-masked}"}
	if fmt.Sprint(skipped) != fmt.Sprint(wantSkipped) || fmt.Sprint(computed) != fmt.Sprint(wantComputed) {
		t.Fatalf("skipped %v, computed %v; want %v and %v", skipped, computed, wantSkipped, wantComputed)
	}
}

// The op's DoDiff (gorgonia's LispMachine) gives the gradients its SymDiff gives on a tape machine.
func TestFusedConv2DLispMachine(t *testing.T) {
	t.Parallel()
	tc := convCase{batch: 3, c: 2, h: 6, w: 5, f: 3, kh: 2, kw: 3, sh: 2, sw: 1, padding: "same", act: "sigmoid", bias: true, wrtX: true}
	vals := convValues(tc, rand.New(rand.NewPCG(8, 8)))
	tape := buildConvCase(t, tc, Fast{})
	defer tape.vm.Close()
	tape.set(vals)
	_, wantCost, want := tape.run(t)

	g := G.NewGraph()
	t4 := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, 4, G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(vals[name])))))
	}
	geom := tc.geom()
	x, k, b := t4("x", tc.batch, tc.c, tc.h, tc.w), t4("k", tc.f, tc.c, tc.kh, tc.kw), t4("b", 1, tc.f, 1, 1)
	out, err := FusedConv2D(x, k, b, tc.layer(), tc.act)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(out, t4("r", tc.batch, tc.f, geom.OutH(), geom.OutW()))
	if err != nil {
		t.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	lisp := G.NewLispMachine(g)
	defer lisp.Close()
	if err := lisp.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := cost.Value().Data().(float32); math.Abs(float64(got-wantCost)) > 1e-5*math.Max(1, math.Abs(float64(wantCost))) {
		t.Fatalf("LispMachine cost %v, tape machine %v", got, wantCost)
	}
	for i, n := range []*G.Node{k, b, x} {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		if j := closeSlices(gv.Data().([]float32), want[i], 1e-5); j >= 0 {
			t.Fatalf("LispMachine gradient of %s [%d] = %v, tape machine %v", n.Name(), j, gv.Data().([]float32)[j], want[i][j])
		}
	}
}

func TestFusedConv2DErrors(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	t4 := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, 4, G.WithShape(shape...), G.WithName(name))
	}
	x, k, b := t4("x", 2, 3, 5, 5), t4("k", 4, 3, 3, 3), t4("b", 1, 4, 1, 1)
	layer := func(window, stride int, padding string) spec.ResolvedLayer {
		return spec.ResolvedLayer{Kind: spec.KindConv2D, Window: spec.Pair{H: window, W: window}, Stride: spec.Pair{H: stride, W: stride}, Padding: padding}
	}
	mat := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 4), G.WithName("m"))
	f64 := G.NewTensor(g, tensor.Float64, 4, G.WithShape(4, 3, 3, 3), G.WithName("k64"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"activation", second(FusedConv2D(x, k, b, layer(3, 1, "valid"), "gelu")), `ops: conv2d: unknown activation "gelu"; use relu, sigmoid, tanh, leaky_relu, swish or linear`},
		{"channels", second(FusedConv2D(x, t4("k2", 4, 2, 3, 3), nil, layer(3, 1, "valid"), "relu")), "ops: conv2d: x (2, 3, 5, 5) has 3 channels, k (4, 2, 3, 3) has 2"},
		{"window", second(FusedConv2D(x, k, nil, layer(2, 1, "valid"), "relu")), "ops: conv2d: the layer's kernel is 2×2, k (4, 3, 3, 3) is 3×3"},
		{"stride", second(FusedConv2D(x, k, nil, layer(3, 0, "valid"), "relu")), "ops: conv2d: strides 0×0 must be at least 1×1"},
		{"padding", second(FusedConv2D(x, k, nil, layer(3, 1, "full"), "relu")), `ops: conv2d: unknown padding "full"; use valid or same`},
		{"too-large", second(FusedConv2D(t4("x2", 2, 3, 2, 5), k, nil, layer(3, 1, "valid"), "relu")), "ops: conv2d: kernels: conv kernel 3×3 larger than padded input 2×5"},
		{"bias-shape", second(FusedConv2D(x, k, t4("b2", 1, 1, 1, 4), layer(3, 1, "valid"), "relu")), "ops: conv2d: b must have shape (1, 4, 1, 1), got (1, 1, 1, 4)"},
		{"not-4d", second(FusedConv2D(mat, f64, nil, layer(3, 1, "valid"), "relu")), "ops: conv2d: x must be a 4-D float32 tensor, got shape (3, 4) of float32\nk must be a 4-D float32 tensor, got shape (4, 3, 3, 3) of float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Fatalf("error %v\nwant %s", tt.err, tt.want)
			}
		})
	}
}

// TestFusedConv2DAllocations checks that the convolution ops allocate nothing per call once their
// buffers exist, split or not, and logs the allocations of a whole training step of a small CNN
// with Fast and Stock.
//
// It does not run in parallel: testing.AllocsPerRun counts every allocation of the process.
func TestFusedConv2DAllocations(t *testing.T) {
	m, p := spectest.Model(t, "[20, 20, 1]", 4, 8, "{}", "    - conv2d: {filters: 2n, kernel: 3, padding: same, activation: relu}\n    - conv2d: {filters: 2, kernel: [2, 3], stride: 2, activation: tanh, use_bias: false}\n    - flatten: {}\n    - dense: {units: 4, activation: softmax}\n")
	stock, _ := stepAllocs(t, m, p, Stock{}, 96, 10)
	fast, gr := stepAllocs(t, m, p, Fast{}, 96, 10)
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
		case *convOp:
			if o.geom.splittable {
				split++
			}
		case *outputGradOp:
			if len(o.shape) != 4 {
				continue // the dense layer's log-softmax gradient
			}
			if o.splittable {
				split++
			}
		case *convBiasGradOp:
			if o.splittable() {
				split++
			}
		case *convDataGradOp, *convFilterGradOp:
		default:
			continue
		}
		var inputs []G.Value
		for children := gr.G.From(n.ID()); children.Next(); {
			inputs = append(inputs, children.Node().(*G.Node).Value())
		}
		for _, mode := range []kernels.PassMode{kernels.PassWhole, kernels.PassSplit, kernels.PassAuto} {
			setSplitMode(gr.G, mode)
			if a := testing.AllocsPerRun(10, func() {
				if _, err := op.Do(inputs...); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v allocates %.0f times per call in mode %d", op, a, mode)
			}
		}
		checked++
	}
	// Two forward ops, the second's activation gradient (the first's is in the second's input
	// gradient), two input gradients, two kernel gradients and one bias gradient; the first
	// layer's forward and bias gradient split.
	if checked != 8 || split != 2 {
		t.Fatalf("checked %d convolution ops (%d forward and elementwise ones splittable), want 8 (2)", checked, split)
	}
}
