package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnModels are models with batch_norm layers over images and over vectors, every setting used.
var bnModels = []struct{ name, input, layers string }{
	{"conv", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {momentum: 0.9}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"dense", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 2n, use_bias: false}\n    - batch_norm: {scale: false}\n    - dense: {units: 4, activation: tanh}\n    - batch_norm: {center: false, epsilon: 0.1}\n    - dense: {units: 3}\n"},
	{"plain", "[4, 4, 1]", "    - batch_norm: {center: false, scale: false}\n    - conv2d: {filters: n, kernel: 2, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	// A ReLU after a batch norm, which Fast fuses into the batch norm's op (fuseReLU).
	{"conv-relu", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3, use_bias: false}\n    - batch_norm: {}\n    - activation: relu\n    - flatten: {}\n    - dense: {units: 3}\n"},
	// A residual block's input is also its shortcut: a ReLU inside it must not fuse into x.
	{"residual-relu", "[5, 5, 1]", "    - conv2d: {filters: n, kernel: 2, padding: same}\n    - batch_norm: {}\n    - residual:\n        layers:\n          - activation: relu\n          - conv2d: {filters: n, kernel: 3, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"dense-relu", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 2n}\n    - batch_norm: {scale: false}\n    - activation: relu\n    - activation: relu\n    - dense: {units: 3}\n"},
}

// bnRun is what one training step of a batch-norm model gives: its log-probabilities on the real
// rows, loss, gradients and all weights after the step (the moving statistics updated).
type bnRun struct {
	logp    []float32
	loss    float32
	grads   [][]float32
	weights [][]float32
}

// bnStep builds m's training graph of batch rows with ops over fresh weights (seed 3, γ and β
// drawn away from 1 and 0), fills its first real rows from the images and labels of seed 7 (the
// same examples whatever the batch), puts 50 in every padding value, and runs it once.
func bnStep(t *testing.T, m spec.ResolvedModel, p spec.Point, ops builder.Ops, batch, real int) bnRun {
	t.Helper()
	w, err := builder.NewWeights(m, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	wr := rand.New(rand.NewPCG(4, 4))
	for i, name := range w.Names {
		if w.Trainable(i) && !slices.Contains([]string{"kernel", "bias"}, name[len(name)-len("kernel"):]) {
			for j := range w.Floats()[i] {
				w.Floats()[i][j] += float32(wr.NormFloat64() * 0.3)
			}
		}
	}
	gr, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.Fill(gr, rand.New(rand.NewPCG(7, 7)), real)
	in := gr.Input.Value().Data().([]float32)
	size := len(in) / batch
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range in {
		in[i] = rng.Float32()
		if i >= real*size {
			in[i] = 50
		}
	}
	lab := gr.Labels.Value().Data().([]float32)
	classes := len(lab) / batch
	clear(lab)
	for r := range real {
		lab[r*classes+r%classes] = 1
	}
	vm := G.NewTapeMachine(gr.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	run := bnRun{logp: slices.Clone(gr.LogProbs.Value().Data().([]float32)[:real*classes]), loss: gr.Loss.Value().Data().(float32)}
	for _, g := range gr.Grads {
		run.grads = append(run.grads, slices.Clone(g.Value().Data().([]float32)))
	}
	for _, f := range w.Floats() {
		run.weights = append(run.weights, slices.Clone(f))
	}
	return run
}

func bnClose(t *testing.T, what string, a, b []float32, tol float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values against %d", what, len(a), len(b))
	}
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > tol*(1+math.Abs(float64(b[i]))) || math.IsNaN(float64(a[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, a[i], b[i])
		}
	}
}

func compareRuns(t *testing.T, a, b bnRun, tol float64) {
	t.Helper()
	bnClose(t, "log-probabilities", a.logp, b.logp, tol)
	bnClose(t, "loss", []float32{a.loss}, []float32{b.loss}, tol)
	if len(a.grads) != len(b.grads) {
		t.Fatalf("%d gradients against %d", len(a.grads), len(b.grads))
	}
	for i := range a.grads {
		bnClose(t, fmt.Sprintf("gradient %d", i), a.grads[i], b.grads[i], tol)
	}
	for i := range a.weights {
		bnClose(t, fmt.Sprintf("weight %d", i), a.weights[i], b.weights[i], tol)
	}
}

// TestBatchNormFastMatchesStock checks the fused ops against gorgonia's composition: the
// training step's outputs, gradients and updated moving statistics, with a partial batch, and
// the evaluation graph's outputs with the moving statistics the step left.
func TestBatchNormFastMatchesStock(t *testing.T) {
	t.Parallel()
	for _, tt := range bnModels {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
			fast, stock := bnStep(t, m, p, Fast{}, 6, 4), bnStep(t, m, p, Stock{}, 6, 4)
			compareRuns(t, fast, stock, 2e-4)
			// The moving statistics moved: the step updated them on both engines.
			w0, _ := builder.NewWeights(m, p, 3)
			moved := 0
			for i := range w0.Tensors {
				if !w0.Trainable(i) && !slices.Equal(w0.Floats()[i], fast.weights[i]) {
					moved++
				}
			}
			if moved == 0 {
				t.Fatal("no moving statistic changed in a training step")
			}
			// Evaluation with the updated statistics.
			eval := func(ops builder.Ops) []float32 {
				w, _ := builder.NewWeights(m, p, 3)
				for i, f := range fast.weights {
					copy(w.Floats()[i], f)
				}
				gr, err := builder.Build(m, p, w, 5, false, ops)
				if err != nil {
					t.Fatal(err)
				}
				in := gr.Input.Value().Data().([]float32)
				rng := rand.New(rand.NewPCG(5, 5))
				for i := range in {
					in[i] = rng.Float32()
				}
				vm := G.NewTapeMachine(gr.G)
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				return slices.Clone(gr.LogProbs.Value().Data().([]float32))
			}
			bnClose(t, "evaluation log-probabilities", eval(Fast{}), eval(Stock{}), 2e-5)
		})
	}
}

// TestBatchNormPaddingRows checks that a batch padded with rows of 50s gives, on its real rows,
// the outputs, loss, gradients and moving statistics of the same examples as a full batch.
func TestBatchNormPaddingRows(t *testing.T) {
	t.Parallel()
	for _, tt := range bnModels {
		for _, ops := range []builder.Ops{Fast{}, Stock{}} {
			t.Run(fmt.Sprintf("%s-%T", tt.name, ops), func(t *testing.T) {
				t.Parallel()
				m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
				compareRuns(t, bnStep(t, m, p, ops, 7, 3), bnStep(t, m, p, ops, 3, 3), 1e-5)
			})
		}
	}
}

// bnLayer returns the batch_norm layer of a model input → batch_norm → flatten → dense → dense.
func bnLayer(t *testing.T, input, settings string) (spec.ResolvedModel, spec.Point, spec.ResolvedLayer) {
	t.Helper()
	m, p := spectest.Model(t, input, 3, 2, "{}", "    - batch_norm: "+settings+"\n    - flatten: {}\n    - dense: {units: n}\n    - dense: {units: 3}\n")
	return m, p, m.Layers[0]
}

// reference computes the batch's mean and biased variance per channel over its first real rows
// (x [rows, c, s]) in float64.
func bnReference(x []float32, rows, c, s int) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	for ch := range c {
		var sum, sq float64
		for r := range rows {
			for j := range s {
				sum += float64(x[(r*c+ch)*s+j])
			}
		}
		mu := sum / float64(rows*s)
		for r := range rows {
			for j := range s {
				d := float64(x[(r*c+ch)*s+j]) - mu
				sq += d * d
			}
		}
		mean[ch], variance[ch] = mu, sq/float64(rows*s)
	}
	return mean, variance
}

// TestBatchNormTrainingForward checks the training output and the moving statistics' update
// against a float64 reference: y = γ(x−μ)/√(σ²+ε)+β over the real rows, 0 on padding rows, and
// moving = moving·momentum + batch·(1−momentum) with the biased variance, twice in a row.
func TestBatchNormTrainingForward(t *testing.T) {
	t.Parallel()
	for _, ops := range []builder.Ops{Fast{}, Stock{}} {
		t.Run(fmt.Sprintf("%T", ops), func(t *testing.T) {
			t.Parallel()
			m, p, l := bnLayer(t, "[3, 2, 4]", "{momentum: 0.8, epsilon: 0.01}")
			w, _ := builder.NewWeights(m, p, 1)
			gamma, beta, mm, mv := w.Floats()[0], w.Floats()[1], w.Floats()[2], w.Floats()[3]
			for ch := range gamma {
				gamma[ch], beta[ch] = 0.5+float32(ch), float32(ch)-1
			}
			const batch, real = 5, 3
			var bn *G.Node
			gr, err := builder.Build(m, p, w, batch, true, layerTap{ops, l.Name, &bn})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 1))
			wantMM, wantMV := slices.Clone(mm), slices.Clone(mv)
			for step := range 2 {
				graphtest.Fill(gr, rng, real)
				x := gr.Input.Value().Data().([]float32)
				for i := range x {
					x[i] = x[i]*float32(step+2) + float32(i%4) // channels with different means
				}
				vm := G.NewTapeMachine(gr.G)
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				c, s := 4, 6
				mean, variance := bnReference(x, real, c, s)
				y := bn.Value().Data().([]float32)
				for r := range batch {
					for ch := range c {
						for j := range s {
							i := (r*c+ch)*s + j
							want := 0.0
							if r < real {
								want = float64(gamma[ch])*(float64(x[i])-mean[ch])/math.Sqrt(variance[ch]+0.01) + float64(beta[ch])
							}
							if math.Abs(float64(y[i])-want) > 1e-4 {
								t.Fatalf("step %d: y[%d] = %v, want %v", step, i, y[i], want)
							}
						}
					}
				}
				for ch := range c {
					wantMM[ch] = float32(float64(wantMM[ch])*0.8 + mean[ch]*0.2)
					wantMV[ch] = float32(float64(wantMV[ch])*0.8 + variance[ch]*0.2)
				}
				bnClose(t, fmt.Sprintf("step %d: moving mean", step), mm, wantMM, 1e-5)
				bnClose(t, fmt.Sprintf("step %d: moving variance", step), mv, wantMV, 1e-5)
				vm.Close()
			}
		})
	}
}

// TestBatchNormEvalUsesMovingStatistics checks that evaluation normalises each example with
// the moving statistics, whatever else is in the batch, and leaves them unchanged.
func TestBatchNormEvalUsesMovingStatistics(t *testing.T) {
	t.Parallel()
	for _, ops := range []builder.Ops{Fast{}, Stock{}} {
		t.Run(fmt.Sprintf("%T", ops), func(t *testing.T) {
			t.Parallel()
			m, p, l := bnLayer(t, "[1, 1, 3]", "{}")
			w, _ := builder.NewWeights(m, p, 1)
			copy(w.Floats()[0], []float32{1, 2, -1})     // γ
			copy(w.Floats()[1], []float32{0, 0.5, 3})    // β
			copy(w.Floats()[2], []float32{0.2, -1, 4})   // moving mean
			copy(w.Floats()[3], []float32{0.25, 4, 0.5}) // moving variance
			before := slices.Clone(w.Floats()[2:])
			var bn *G.Node
			gr, err := builder.Build(m, p, w, 2, false, layerTap{ops, l.Name, &bn})
			if err != nil {
				t.Fatal(err)
			}
			copy(gr.Input.Value().Data().([]float32), []float32{1, 2, 3, -7, 0, 9})
			vm := G.NewTapeMachine(gr.G)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			x := []float64{1, 2, 3, -7, 0, 9}
			g, b, mm, mv := []float64{1, 2, -1}, []float64{0, 0.5, 3}, []float64{0.2, -1, 4}, []float64{0.25, 4, 0.5}
			want := make([]float32, 6)
			for i, v := range x {
				ch := i % 3
				want[i] = float32(g[ch]*(v-mm[ch])/math.Sqrt(mv[ch]+0.001) + b[ch])
			}
			bnClose(t, "y", bn.Value().Data().([]float32), want, 1e-5)
			for i, f := range before {
				bnClose(t, "moving statistics", w.Floats()[2+i], f, 0)
			}
		})
	}
}

// layerTap is an engine that records the node of one layer's output.
type layerTap struct {
	builder.Ops
	name string
	node **G.Node
}

func (e layerTap) Layer(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error) {
	y, err := e.Ops.Layer(lb, x, l, act)
	if l.Name == e.name {
		*e.node = y
	}
	return y, err
}

// TestBatchNormInputGradient checks the gradients of Σ r⊙y with respect to x, γ and β against
// central finite differences, for the training op over a partial batch, on both engines.
func TestBatchNormInputGradient(t *testing.T) {
	t.Parallel()
	for _, shape := range []tensor.Shape{{4, 3, 2, 2}, {5, 3}} {
		for _, fast := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v-fast=%v", shape, fast), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(2, 3))
				c := shape[1]
				fill := func(n int, scale, offset float64) []float32 { return normalFloats(rng, n, scale, offset) }
				xs, rs := fill(shape.TotalSize(), 1.5, 0.3), fill(shape.TotalSize(), 1, 0)
				gs, bs := fill(c, 0.3, 1), fill(c, 0.3, 0)
				g := G.NewGraph()
				x := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(xs))))
				gamma := G.NewVector(g, tensor.Float32, G.WithShape(c), G.WithName("gamma"), G.WithValue(tensor.New(tensor.WithShape(c), tensor.WithBacking(gs))))
				beta := G.NewVector(g, tensor.Float32, G.WithShape(c), G.WithName("beta"), G.WithValue(tensor.New(tensor.WithShape(c), tensor.WithBacking(bs))))
				r := G.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(rs)))
				count := G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(shape[0]-1)))
				bn := BatchNorm{Momentum: 0.99, Epsilon: 0.001,
					MovingMean: tensor.New(tensor.WithShape(c), tensor.Of(tensor.Float32)), MovingVariance: tensor.New(tensor.WithShape(c), tensor.Of(tensor.Float32))}
				train := bn.StockTrain
				if fast {
					train = bn.FusedTrain
				}
				y, err := train(x, count, gamma, beta)
				if err != nil {
					t.Fatal(err)
				}
				cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, r))))
				grads, err := G.Grad(cost, x, gamma, beta)
				if err != nil {
					t.Fatal(err)
				}
				vm := G.NewTapeMachine(g)
				defer vm.Close()
				run := func() float64 {
					vm.Reset()
					if err := vm.RunAll(); err != nil {
						t.Fatal(err)
					}
					return float64(cost.Value().Data().(float32))
				}
				run()
				got := make([][]float32, 3)
				for i, gn := range grads {
					got[i] = slices.Clone(gn.Value().Data().([]float32))
				}
				const eps = 1e-2
				for i, vals := range [][]float32{xs, gs, bs} {
					for j := range vals {
						old := vals[j]
						vals[j] = old + eps
						up := run()
						vals[j] = old - eps
						down := run()
						vals[j] = old
						num := (up - down) / (2 * eps)
						if d := math.Abs(num - float64(got[i][j])); d > 3e-3+0.02*math.Abs(num) {
							t.Errorf("input %d [%d]: gradient %.5f, finite difference %.5f", i, j, got[i][j], num)
						}
					}
				}
				// The padding row gets no gradient.
				per := shape.TotalSize() / shape[0]
				for j, v := range got[0][(shape[0]-1)*per:] {
					if v != 0 {
						t.Fatalf("padding row's gradient [%d] = %v, want 0", j, v)
					}
				}
			})
		}
	}
}

// TestBatchNormAllocations checks that the fused batch-norm ops allocate nothing per call once
// their buffers exist. It does not run in parallel: testing.AllocsPerRun counts every
// allocation of the process.
func TestBatchNormAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled buffers are allocated again")
	}
	m, p := spectest.Model(t, "[6, 6, 1]", 4, 2, "{}", "    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {}\n    - flatten: {}\n    - dense: {units: 2n}\n    - batch_norm: {}\n    - dense: {units: 4}\n")
	checked := 0
	for _, train := range []bool{true, false} {
		w, _ := builder.NewWeights(m, p, 1)
		gr, err := builder.Build(m, p, w, 8, train, Fast{})
		if err != nil {
			t.Fatal(err)
		}
		if train {
			graphtest.Fill(gr, rand.New(rand.NewPCG(1, 1)), 5)
		}
		vm := G.NewTapeMachine(gr.G)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for _, n := range gr.G.AllNodes() {
			switch n.Op().(type) {
			case *bnTrainOp, *bnEvalOp, *bnSumsOp, *bnPickOp, *bnInputGradOp, *movingStatsOp:
			default:
				continue
			}
			var inputs []G.Value
			for children := gr.G.From(n.ID()); children.Next(); {
				inputs = append(inputs, children.Node().(*G.Node).Value())
			}
			op := n.Op()
			if a := testing.AllocsPerRun(10, func() {
				if _, err := op.Do(inputs...); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v allocates %.0f times per call", op, a)
			}
			checked++
		}
		vm.Close()
	}
	// Training: two forward ops, two sums, two input gradients, four parameter gradients;
	// evaluation: two.
	if checked != 12 {
		t.Fatalf("checked %d batch-norm ops, want 12", checked)
	}
}

// bnTasks returns the kernels.Pass of every fused batch-norm op of g.
func bnTasks(g *G.ExprGraph) []*kernels.Pass {
	var tasks []*kernels.Pass
	for _, n := range g.AllNodes() {
		switch op := n.Op().(type) {
		case *bnTrainOp:
			tasks = append(tasks, op.task)
		case *bnSumsOp:
			tasks = append(tasks, op.task)
		case *bnInputGradOp:
			tasks = append(tasks, op.task)
		case *bnEvalOp:
			tasks = append(tasks, op.task)
		}
	}
	return tasks
}

// TestBatchNormSplitIsExact checks that the fused batch-norm ops of a tensor large enough to
// split over both cores give the same bits whole and split (each channel is computed by one
// goroutine), training (with padding rows) and evaluating, and that they agree with the stock
// composition.
func TestBatchNormSplitIsExact(t *testing.T) {
	t.Parallel()
	const input, layers = "[32, 32, 1]", "    - conv2d: {filters: 4n, kernel: 1, use_bias: false}\n    - batch_norm: {}\n    - maxpool2d: {pool: 4}\n    - flatten: {}\n    - dense: {units: 4}\n"
	m, p := spectest.Model(t, input, 4, 2, "{}", layers) // 64 rows × 8 channels × 32×32 = 2¹⁹ floats
	type result struct {
		train bnRun
		eval  []float32
	}
	runs := map[string]result{}
	for _, mode := range []struct {
		name string
		mode kernels.PassMode
		ops  builder.Ops
	}{{"whole", kernels.PassWhole, Fast{}}, {"split", kernels.PassSplit, Fast{}}, {"stock", kernels.PassWhole, Stock{}}} {
		w, _ := builder.NewWeights(m, p, 3)
		gr, err := builder.Build(m, p, w, 64, true, mode.ops)
		if err != nil {
			t.Fatal(err)
		}
		tasks := bnTasks(gr.G)
		if mode.name != "stock" && (len(tasks) != 3 || !slices.ContainsFunc(gr.G.AllNodes(), func(n *G.Node) bool {
			op, ok := n.Op().(*bnTrainOp)
			return ok && op.splittable
		})) {
			t.Fatalf("%d batch-norm passes, the forward splittable: want 3 and true", len(tasks))
		}
		for _, task := range tasks {
			task.Mode = mode.mode
		}
		graphtest.Fill(gr, rand.New(rand.NewPCG(6, 6)), 61)
		vm := G.NewTapeMachine(gr.G)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		r := result{train: bnRun{logp: slices.Clone(gr.LogProbs.Value().Data().([]float32)), loss: gr.Loss.Value().Data().(float32)}}
		for _, g := range gr.Grads {
			r.train.grads = append(r.train.grads, slices.Clone(g.Value().Data().([]float32)))
		}
		for _, f := range w.Floats() {
			r.train.weights = append(r.train.weights, slices.Clone(f))
		}
		vm.Close()
		ev, err := builder.Build(m, p, w, 64, false, mode.ops)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range bnTasks(ev.G) {
			task.Mode = mode.mode
		}
		copy(ev.Input.Value().Data().([]float32), gr.Input.Value().Data().([]float32))
		evm := G.NewTapeMachine(ev.G)
		if err := evm.RunAll(); err != nil {
			t.Fatal(err)
		}
		r.eval = slices.Clone(ev.LogProbs.Value().Data().([]float32))
		evm.Close()
		runs[mode.name] = r
	}
	whole, split := runs["whole"], runs["split"]
	compareRuns(t, split.train, whole.train, 0)
	bnClose(t, "evaluation", split.eval, whole.eval, 0)
	compareRuns(t, whole.train, runs["stock"].train, 2e-4)
	bnClose(t, "evaluation against stock", whole.eval, runs["stock"].eval, 2e-5)
}

// TestBatchNormFusedReLU checks that fusing a ReLU into the batch norm's ops (fuseReLU) gives
// the bits of the batch norm followed by the activation op, forward and backward, on a batch with
// a padding row, training and evaluation, images and vectors.
func TestBatchNormFusedReLU(t *testing.T) {
	t.Parallel()
	for _, shape := range []tensor.Shape{{4, 3, 5, 3}, {5, 7}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(4, 5))
			c := shape[1]
			fill := func(n int, scale, offset float64) []float32 { return normalFloats(rng, n, scale, offset) }
			xs, rs := fill(shape.TotalSize(), 1.5, 0.3), fill(shape.TotalSize(), 1, 0)
			gs, bs := fill(c, 0.3, 1), fill(c, 0.3, 0)
			mm, mv := fill(c, 0.2, 0), fill(c, 0.1, 1)
			// run builds x → batch norm → ReLU, fused or not, and returns the output and the
			// gradients of Σ y·r with respect to x, γ and β (training) or the output (evaluation).
			run := func(fused, training bool) [][]float32 {
				g := G.NewGraph()
				x := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(xs)))))
				vec := func(name string, v []float32) *G.Node {
					return G.NewVector(g, tensor.Float32, G.WithShape(c), G.WithName(name), G.WithValue(tensor.New(tensor.WithShape(c), tensor.WithBacking(slices.Clone(v)))))
				}
				gamma, beta := vec("gamma", gs), vec("beta", bs)
				bn := BatchNorm{Momentum: 0.9, Epsilon: 0.001,
					MovingMean:     tensor.New(tensor.WithShape(c), tensor.WithBacking(slices.Clone(mm))),
					MovingVariance: tensor.New(tensor.WithShape(c), tensor.WithBacking(slices.Clone(mv)))}
				var y *G.Node
				var err error
				if training {
					count := G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(shape[0]-1)))
					y, err = bn.FusedTrain(x, count, gamma, beta)
				} else {
					y, err = bn.FusedEval(x, vec("mean", mm), vec("variance", mv), gamma, beta)
				}
				if err != nil {
					t.Fatal(err)
				}
				if fused {
					if !fuseReLU(y) {
						t.Fatal("the batch norm's op took no ReLU")
					}
				} else if y, err = FusedActivation(y, "relu"); err != nil {
					t.Fatal(err)
				}
				outs := []*G.Node{y}
				if training {
					cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, G.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(rs)))))))
					grads, err := G.Grad(cost, x, gamma, beta)
					if err != nil {
						t.Fatal(err)
					}
					outs = append(outs, grads...)
				}
				vm := G.NewTapeMachine(g)
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				var got [][]float32
				for _, n := range outs {
					got = append(got, slices.Clone(n.Value().Data().([]float32)))
				}
				return append(got, bn.MovingMean.Float32s(), bn.MovingVariance.Float32s())
			}
			for _, training := range []bool{true, false} {
				want, got := run(false, training), run(true, training)
				zeros := 0
				for _, v := range want[0] {
					if v == 0 {
						zeros++
					}
				}
				if zeros == 0 || zeros == len(want[0]) {
					t.Fatalf("training=%v: %d of %d outputs are 0: the ReLU is not exercised", training, zeros, len(want[0]))
				}
				for i := range want {
					for j := range want[i] {
						if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
							t.Fatalf("training=%v: value %d [%d] fused %v, unfused %v", training, i, j, got[i][j], want[i][j])
						}
					}
				}
			}
		})
	}
}

// normalFloats returns n draws of rng from the normal distribution of mean offset and standard
// deviation scale.
func normalFloats(rng *rand.Rand, n int, scale, offset float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64()*scale + offset)
	}
	return v
}
