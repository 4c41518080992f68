package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opCase is one op under test in a small graph whose cost is a scalar:
//
//	dense         Σ(Dense(x, w, b) ⊙ r)   WRT w, b (and x with wrtX)
//	logsoftmax    Σ(LogSoftmax(x) ⊙ r)    WRT x
//	crossentropy  CrossEntropy(x, labels, count), count real rows of batch   WRT x
type opCase struct {
	name             string
	kind             string
	batch, in, units int
	act              string
	bias, wrtX       bool
	count            int
}

// caseGraph is an opCase built with one Ops.
type caseGraph struct {
	g         *G.ExprGraph
	inputs    map[string]*G.Node // by name: x, w, b, r, labels
	count     *G.Node
	out, cost *G.Node
	wrt       G.Nodes
	vm        G.VM
}

func buildCase(t *testing.T, tc opCase, ops opSet) *caseGraph {
	t.Helper()
	g := G.NewGraph()
	c := &caseGraph{g: g, inputs: map[string]*G.Node{}}
	mat := func(name string, rows, cols int) *G.Node {
		n := G.NewMatrix(g, tensor.Float32, G.WithShape(rows, cols), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.Of(tensor.Float32))))
		c.inputs[name] = n
		return n
	}
	var err error
	must := func(n *G.Node, e error) *G.Node {
		t.Helper()
		if e != nil {
			t.Fatal(e)
		}
		return n
	}
	switch tc.kind {
	case "dense":
		x, w := mat("x", tc.batch, tc.in), mat("w", tc.in, tc.units)
		var b *G.Node
		c.wrt = G.Nodes{w}
		if tc.bias {
			b = mat("b", 1, tc.units)
			c.wrt = append(c.wrt, b)
		}
		if tc.wrtX {
			c.wrt = append(c.wrt, x)
		}
		c.out = must(ops.Dense(x, w, b, tc.act))
		c.cost = must(G.Sum(must(G.HadamardProd(c.out, mat("r", tc.batch, tc.units)))))
	case "logsoftmax":
		x := mat("x", tc.batch, tc.units)
		c.wrt = G.Nodes{x}
		c.out = must(ops.LogSoftmax(x))
		c.cost = must(G.Sum(must(G.HadamardProd(c.out, mat("r", tc.batch, tc.units)))))
	case "crossentropy":
		x := mat("x", tc.batch, tc.units)
		c.wrt = G.Nodes{x}
		c.count = G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(tc.count)))
		c.out = must(ops.CrossEntropy(x, mat("labels", tc.batch, tc.units), c.count))
		c.cost = c.out
	default:
		t.Fatalf("unknown kind %q", tc.kind)
	}
	if _, err = G.Grad(c.cost, c.wrt...); err != nil {
		t.Fatal(err)
	}
	c.vm = G.NewTapeMachine(g, G.BindDualValues(c.wrt...))
	return c
}

// caseValues draws the values of an opCase's inputs.
func caseValues(tc opCase, rng *rand.Rand) map[string][]float32 {
	normal := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	vals := map[string][]float32{}
	switch tc.kind {
	case "dense":
		vals["x"] = normal(tc.batch*tc.in, 1)
		vals["w"] = normal(tc.in*tc.units, 1/math.Sqrt(float64(tc.in)))
		vals["b"] = normal(tc.units, 0.3)
		vals["r"] = normal(tc.batch*tc.units, 1)
	case "logsoftmax":
		vals["x"] = normal(tc.batch*tc.units, 3)
		vals["r"] = normal(tc.batch*tc.units, 1)
	case "crossentropy":
		vals["x"] = normal(tc.batch*tc.units, 2)
		labels := make([]float32, tc.batch*tc.units)
		for r := range tc.count {
			labels[r*tc.units+rng.IntN(tc.units)] = 1
		}
		vals["labels"] = labels
	}
	return vals
}

// referenceOutput computes the output of an opCase's op in float64 with plain loops.
func referenceOutput(tc opCase, vals map[string][]float32) []float32 {
	x := vals["x"]
	switch tc.kind {
	case "dense":
		w, b := vals["w"], vals["b"]
		out := make([]float32, tc.batch*tc.units)
		for r := range tc.batch {
			for u := range tc.units {
				var z float64
				for i := range tc.in {
					z += float64(x[r*tc.in+i]) * float64(w[i*tc.units+u])
				}
				if tc.bias {
					z += float64(b[u])
				}
				switch tc.act {
				case "relu":
					z = math.Max(z, 0)
				case "sigmoid":
					z = 1 / (1 + math.Exp(-z))
				case "tanh":
					z = math.Tanh(z)
				}
				out[r*tc.units+u] = float32(z)
			}
		}
		return out
	case "logsoftmax":
		out := make([]float32, len(x))
		for r := range tc.batch {
			row := x[r*tc.units : (r+1)*tc.units]
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v))
			}
			for j, v := range row {
				out[r*tc.units+j] = float32(float64(v) - math.Log(sum))
			}
		}
		return out
	default: // crossentropy
		var sum float64
		for i, l := range vals["labels"] {
			sum -= float64(x[i]) * float64(l)
		}
		return []float32{float32(sum / float64(tc.count))}
	}
}

func (c *caseGraph) set(vals map[string][]float32) {
	for name, n := range c.inputs {
		copy(n.Value().Data().([]float32), vals[name])
	}
}

// run runs the graph once and returns copies of its output, cost and WRT gradients.
func (c *caseGraph) run(t *testing.T) (out []float32, cost float32, grads [][]float32) {
	t.Helper()
	c.vm.Reset()
	if err := c.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	switch v := c.out.Value().(type) {
	case *tensor.Dense:
		out = append([]float32(nil), v.Float32s()...)
	default:
		out = []float32{c.out.Value().Data().(float32)}
	}
	cost = c.cost.Value().Data().(float32)
	for _, n := range c.wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
	}
	return out, cost, grads
}

func (c *caseGraph) zeroGrads(t *testing.T) {
	t.Helper()
	for _, n := range c.wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		clear(gv.Data().([]float32))
	}
}

// closeSlices reports the first index where got and want differ by more than
// tol·(1 + max|want|), or -1.
func closeSlices(got, want []float32, tol float64) int {
	if len(got) != len(want) {
		return 0
	}
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			return i
		}
	}
	return -1
}

// TestFusedOpsMatchStock checks each fused op's forward value and the gradients of the WRT nodes
// against the same graph built with Stock, over three runs: fresh values; new values
// after zeroing the gradients (stale buffers); the same values again without zeroing (the tape
// machine adds each run's gradient to the bound one, so both must hold twice the second run's).
func TestFusedOpsMatchStock(t *testing.T) {
	t.Parallel()
	var tests []opCase
	shapes := [][3]int{{1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {3, 13, 1}, {7, 9, 11}, {33, 17, 65}}
	for _, act := range []string{"relu", "sigmoid", "tanh", "linear"} {
		for i, s := range shapes {
			bias := i%2 == 0 || act == "linear"
			tests = append(tests, opCase{name: fmt.Sprintf("dense-%s-%dx%dx%d-bias=%t", act, s[0], s[1], s[2], bias),
				kind: "dense", batch: s[0], in: s[1], units: s[2], act: act, bias: bias})
		}
	}
	tests = append(tests,
		opCase{name: "dense-relu-wrt-x", kind: "dense", batch: 6, in: 5, units: 4, act: "relu", bias: true, wrtX: true},
		opCase{name: "dense-linear-nobias-wrt-x", kind: "dense", batch: 1, in: 3, units: 1, act: "linear", wrtX: true},
		opCase{name: "dense-tanh-wrt-x", kind: "dense", batch: 9, in: 31, units: 7, act: "tanh", bias: true, wrtX: true},
		opCase{name: "logsoftmax-1x1", kind: "logsoftmax", batch: 1, units: 1},
		opCase{name: "logsoftmax-1x10", kind: "logsoftmax", batch: 1, units: 10},
		opCase{name: "logsoftmax-17x3", kind: "logsoftmax", batch: 17, units: 3},
		opCase{name: "logsoftmax-128x10", kind: "logsoftmax", batch: 128, units: 10},
		opCase{name: "crossentropy-1x1", kind: "crossentropy", batch: 1, units: 1, count: 1},
		opCase{name: "crossentropy-7x3-padded", kind: "crossentropy", batch: 7, units: 3, count: 4},
		opCase{name: "crossentropy-128x10", kind: "crossentropy", batch: 128, units: 10, count: 128},
	)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stock, fused := buildCase(t, tc, Stock{}), buildCase(t, tc, Fast{})
			defer stock.vm.Close()
			defer fused.vm.Close()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			var vals map[string][]float32
			compare := func(step string) (grads [][]float32) {
				t.Helper()
				_, sc, sg := stock.run(t)
				fo, fc, fg := fused.run(t)
				// The stock graph's output value may be overwritten in place by its backward
				// pass, so the fused output is checked against a plain computation instead.
				if want := referenceOutput(tc, vals); closeSlices(fo, want, 1e-5) >= 0 {
					j := closeSlices(fo, want, 1e-5)
					t.Fatalf("%s: output[%d] = %v, want %v", step, j, fo[j], want[j])
				}
				if j := closeSlices([]float32{fc}, []float32{sc}, 1e-5); j >= 0 {
					t.Fatalf("%s: cost %v, stock %v", step, fc, sc)
				}
				for k := range sg {
					if j := closeSlices(fg[k], sg[k], 1e-5); j >= 0 {
						t.Fatalf("%s: gradient of %s [%d] = %v, stock %v", step, stock.wrt[k].Name(), j, fg[k][j], sg[k][j])
					}
				}
				return fg
			}
			vals = caseValues(tc, rng)
			for _, c := range []*caseGraph{stock, fused} {
				c.set(vals)
			}
			compare("run 1")
			vals = caseValues(tc, rng)
			for _, c := range []*caseGraph{stock, fused} {
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

// opsByRole returns the graph's fused matrix-product ops named role.
func opsByRole(g *G.ExprGraph, role string) []*matMulOp {
	var ops []*matMulOp
	for _, n := range g.AllNodes() {
		if op, ok := n.Op().(*matMulOp); ok && op.role == role {
			ops = append(ops, op)
		}
	}
	return ops
}

// The first dense layer's dX, which gorgonia asks for but nothing uses, is not computed; the
// second layer's is.
func TestFusedDenseSkipsUnusedInputGradient(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[2, 3, 1]", 3, 2, "{}", "    - flatten: {}\n    - dense: {units: 2n, activation: relu}\n    - dense: {units: 3}\n")
	gr, vm := graphtest.Train(t, m, p, 1, 5, Fast{}, rand.New(rand.NewPCG(3, 3)))
	defer vm.Close()
	var skipped, computed []string
	for _, op := range opsByRole(gr.G, "DenseInputGrad") {
		if !op.decided {
			t.Fatalf("%v did not run", op)
		}
		if op.skip {
			skipped = append(skipped, op.String())
			for _, v := range op.out.data {
				if v != 0 {
					t.Fatalf("skipped %v holds %v", op, op.out.data)
				}
			}
		} else {
			computed = append(computed, op.String())
		}
	}
	wantSkipped := []string{"nnsweep.DenseInputGrad{(5, 4)×(6, 4)ᵀ}"}
	wantComputed := []string{"nnsweep.DenseInputGrad{(5, 3)×(4, 3)ᵀ}"}
	if fmt.Sprint(skipped) != fmt.Sprint(wantSkipped) || fmt.Sprint(computed) != fmt.Sprint(wantComputed) {
		t.Fatalf("skipped %v, computed %v; want %v and %v", skipped, computed, wantSkipped, wantComputed)
	}
}

// The ops' DoDiff (gorgonia's LispMachine) gives the gradients their SymDiff gives on a tape machine.
func TestFusedOpsLispMachine(t *testing.T) {
	t.Parallel()
	build := func() (*G.ExprGraph, G.Nodes, *G.Node) {
		g := G.NewGraph()
		rng := rand.New(rand.NewPCG(5, 5))
		mat := func(name string, rows, cols int, scale float64, data []float32) *G.Node {
			if data == nil {
				data = make([]float32, rows*cols)
				for i := range data {
					data[i] = float32(rng.NormFloat64() * scale)
				}
			}
			return G.NewMatrix(g, tensor.Float32, G.WithShape(rows, cols), G.WithName(name),
				G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data))))
		}
		x := mat("x", 4, 3, 1, nil)
		w1, b1 := mat("w1", 3, 5, 0.5, nil), mat("b1", 1, 5, 0.1, nil)
		w2 := mat("w2", 5, 3, 0.5, nil)
		labels := mat("labels", 4, 3, 0, []float32{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0})
		count := G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(3)))
		h, err := FusedDense(x, w1, b1, "tanh")
		if err != nil {
			t.Fatal(err)
		}
		logits, err := FusedDense(h, w2, nil, "linear")
		if err != nil {
			t.Fatal(err)
		}
		lp, err := FusedLogSoftmax(logits)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := FusedCrossEntropy(lp, labels, count)
		if err != nil {
			t.Fatal(err)
		}
		return g, G.Nodes{w1, b1, w2, x}, loss
	}
	gradsOf := func(wrt G.Nodes) [][]float32 {
		var gs [][]float32
		for _, n := range wrt {
			gv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			gs = append(gs, append([]float32(nil), gv.Data().([]float32)...))
		}
		return gs
	}

	g, wrt, loss := build()
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	tape := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer tape.Close()
	if err := tape.RunAll(); err != nil {
		t.Fatal(err)
	}
	want, wantLoss := gradsOf(wrt), loss.Value().Data().(float32)

	g, wrt, loss = build()
	lisp := G.NewLispMachine(g)
	defer lisp.Close()
	if err := lisp.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := loss.Value().Data().(float32); math.Abs(float64(got-wantLoss)) > 1e-6 {
		t.Fatalf("LispMachine loss %v, tape machine %v", got, wantLoss)
	}
	for k, got := range gradsOf(wrt) {
		if j := closeSlices(got, want[k], 1e-5); j >= 0 {
			t.Fatalf("LispMachine gradient of %s [%d] = %v, tape machine %v", wrt[k].Name(), j, got[j], want[k][j])
		}
	}
}

func TestFusedOpsErrors(t *testing.T) {
	t.Parallel()
	g := G.NewGraph()
	mat := func(name string, rows, cols int) *G.Node {
		return G.NewMatrix(g, tensor.Float32, G.WithShape(rows, cols), G.WithName(name))
	}
	x, w, b := mat("x", 2, 3), mat("w", 3, 4), mat("b", 1, 4)
	vec := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("v"))
	f64 := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("w64"))
	count := G.NewScalar(g, tensor.Float32, G.WithName("count"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"activation", second(FusedDense(x, w, b, "gelu")), `ops: dense: unknown activation "gelu"; use relu, sigmoid, tanh, leaky_relu, swish or linear`},
		{"inner-size", second(FusedDense(x, mat("w2", 4, 4), nil, "relu")), "ops: dense: x (2, 3) has 3 columns, w (4, 4) has 4 rows"},
		{"bias-shape", second(FusedDense(x, w, mat("b2", 4, 1), "relu")), "ops: dense: b must have shape (1, 4), got (4, 1)"},
		{"not-matrices", second(FusedDense(vec, f64, nil, "relu")), "ops: dense: x must be a float32 matrix, got shape (3) of float32\nw must be a float32 matrix, got shape (3, 4) of float64"},
		{"logsoftmax-vector", second(FusedLogSoftmax(vec)), "ops: log-softmax: logits must be a float32 matrix, got shape (3) of float32"},
		{"labels-shape", second(FusedCrossEntropy(x, w, count)), "ops: cross-entropy: labels must be float32 of shape (2, 3), got float32 of shape (3, 4)"},
		{"count-not-scalar", second(FusedCrossEntropy(x, x, b)), "ops: cross-entropy: count must be a float32 scalar, got float32 of shape (1, 4)"},
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

func second(_ *G.Node, err error) error { return err }

// TestFusedOpsAllocations checks that the fused ops allocate nothing per call once their buffers
// exist, and logs the allocations of a whole training step (RunAll + Reset) of a small MLP with
// the fused and the stock ops: the rest is gorgonia's tape machine (an inputs slice per
// instruction, a goroutine and channels per RunAll, an add op per bound gradient).
//
// It does not run in parallel: testing.AllocsPerRun counts every allocation of the process.
func TestFusedOpsAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled buffers are allocated again")
	}
	m, p := spectest.Model(t, "[4, 4, 1]", 4, 2, "{}", "    - flatten: {}\n    - dense: {units: 5n, activation: relu}\n    - dense: {units: 5n, activation: tanh}\n    - dense: {units: 4, activation: softmax}\n")
	stock, _ := stepAllocs(t, m, p, Stock{}, 16, 20)
	fused, gr := stepAllocs(t, m, p, Fast{}, 16, 20)
	t.Logf("allocations per training step (RunAll + Reset): stock %.0f, fused %.0f", stock, fused)
	if fused >= stock {
		t.Errorf("fused step allocates %.0f times, stock %.0f", fused, stock)
	}

	// Each op of the fused graph on its own, fed its inputs' values from the last run.
	vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, n := range gr.G.AllNodes() {
		if !strings.HasPrefix(fmt.Sprint(n.Op()), "nnsweep.") {
			continue
		}
		var inputs []G.Value
		for children := gr.G.From(n.ID()); children.Next(); {
			inputs = append(inputs, children.Node().(*G.Node).Value())
		}
		op := n.Op()
		if a := testing.AllocsPerRun(20, func() {
			if _, err := op.Do(inputs...); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v allocates %.0f times per call", op, a)
		}
		checked++
	}
	if checked < 14 {
		t.Fatalf("checked %d fused ops, want at least 14", checked)
	}
}

// stepAllocs counts the allocations of one training step (RunAll, the gradients zeroed as the
// optimizer does, Reset) of m at p with ops at batch, over runs steps; it returns the graph too.
func stepAllocs(t *testing.T, m spec.ResolvedModel, p spec.Point, ops builder.Ops, batch, runs int) (float64, *builder.Graph) {
	t.Helper()
	w, err := builder.NewWeights(m, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Fill(gr, rand.New(rand.NewPCG(1, 1)), batch)
	vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
	defer vm.Close()
	grads := G.NodesToValueGrads(gr.Params)
	allocs := testing.AllocsPerRun(runs, func() {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for _, vg := range grads {
			gv, _ := vg.Grad()
			clear(gv.Data().([]float32))
		}
		vm.Reset()
	})
	return allocs, gr
}
