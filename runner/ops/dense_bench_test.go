package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchStep is one training step (RunAll, optimizer step, Reset) of a built training graph.
type benchStep struct {
	vm     G.VM
	solver G.Solver
	grads  []G.ValueGrad
}

func (s *benchStep) run(b *testing.B) {
	if err := s.vm.RunAll(); err != nil {
		b.Fatal(err)
	}
	if err := s.solver.Step(s.grads); err != nil {
		b.Fatal(err)
	}
	s.vm.Reset()
}

// newMLPStep builds the training step of the MNIST MLP 784→n→n→10 (relu, batch 128, SGD) with ops.
func newMLPStep(b *testing.B, n int, ops builder.Ops) *benchStep {
	b.Helper()
	m, p := spectest.Model(b, "[28, 28, 1]", 10, n, "{optimizer: {name: sgd, learning_rate: 0.001}}",
		"    - flatten: {}\n    - dense: {units: n, activation: relu}\n    - dense: {units: n, activation: relu}\n    - dense: {units: 10, activation: softmax}\n")
	w, err := builder.NewWeights(m, p, 1)
	if err != nil {
		b.Fatal(err)
	}
	gr, err := builder.Build(m, p, w, 128, true, ops)
	if err != nil {
		b.Fatal(err)
	}
	graphtest.Fill(gr, rand.New(rand.NewPCG(1, 1)), 128)
	// gorgonia's own SGD: the same update for both engines (runner's optimizers are measured by
	// runner's benchmarks).
	solver := G.NewVanillaSolver(G.WithLearnRate(0.001))
	return &benchStep{vm: G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...)), solver: solver, grads: G.NodesToValueGrads(gr.Params)}
}

// BenchmarkDenseMLPStep times a training step of the MLP 784→n→n→10 (batch 128) with the stock
// and the fused ops, alternating the two in every iteration, and reports each one's ns/step and
// the speedup (stock time / fused time). allocs/op counts both steps.
func BenchmarkDenseMLPStep(b *testing.B) {
	for _, n := range []int{32, 512} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			stock, fused := newMLPStep(b, n, Stock{}), newMLPStep(b, n, Fast{})
			defer stock.vm.Close()
			defer fused.vm.Close()
			stock.run(b) // warm up: buffers, optimizer state
			fused.run(b)
			var tStock, tFused time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				stock.run(b)
				t1 := time.Now()
				fused.run(b)
				tFused += time.Since(t1)
				tStock += t1.Sub(t0)
			}
			b.ReportMetric(float64(tStock.Nanoseconds())/float64(b.N), "stock-ns/step")
			b.ReportMetric(float64(tFused.Nanoseconds())/float64(b.N), "fused-ns/step")
			b.ReportMetric(float64(tStock)/float64(tFused), "speedup")
		})
	}
}

// BenchmarkDenseMLPStepAllocs reports the allocations of one training step of each kind alone.
func BenchmarkDenseMLPStepAllocs(b *testing.B) {
	for _, n := range []int{32, 512} {
		for _, kind := range []struct {
			name string
			ops  builder.Ops
		}{{"stock", Stock{}}, {"fused", Fast{}}} {
			b.Run(fmt.Sprintf("n=%d/%s", n, kind.name), func(b *testing.B) {
				s := newMLPStep(b, n, kind.ops)
				defer s.vm.Close()
				s.run(b)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					s.run(b)
				}
			})
		}
	}
}

// BenchmarkLogSoftmaxCrossEntropy times forward and backward of the loss alone: logits [128, 10]
// → log-softmax → cross-entropy, gradient with respect to the logits, stock and fused alternating.
func BenchmarkLogSoftmaxCrossEntropy(b *testing.B) {
	build := func(ops builder.Ops) G.VM {
		g := G.NewGraph()
		rng := rand.New(rand.NewPCG(2, 2))
		logits := make([]float32, 128*10)
		labels := make([]float32, 128*10)
		for i := range logits {
			logits[i] = float32(rng.NormFloat64())
		}
		for r := range 128 {
			labels[r*10+rng.IntN(10)] = 1
		}
		x := G.NewMatrix(g, tensor.Float32, G.WithShape(128, 10), G.WithName("logits"),
			G.WithValue(tensor.New(tensor.WithShape(128, 10), tensor.WithBacking(logits))))
		y := G.NewMatrix(g, tensor.Float32, G.WithShape(128, 10), G.WithName("labels"),
			G.WithValue(tensor.New(tensor.WithShape(128, 10), tensor.WithBacking(labels))))
		count := G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(128)))
		lp, err := ops.LogSoftmax(x)
		if err != nil {
			b.Fatal(err)
		}
		loss, err := ops.CrossEntropy(lp, y, count)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := G.Grad(loss, x); err != nil {
			b.Fatal(err)
		}
		return G.NewTapeMachine(g, G.BindDualValues(x))
	}
	stock, fused := build(Stock{}), build(Fast{})
	defer stock.Close()
	defer fused.Close()
	step := func(vm G.VM) {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
	var tStock, tFused time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		step(stock)
		t1 := time.Now()
		step(fused)
		tFused += time.Since(t1)
		tStock += t1.Sub(t0)
	}
	b.ReportMetric(float64(tStock.Nanoseconds())/float64(b.N), "stock-ns/step")
	b.ReportMetric(float64(tFused.Nanoseconds())/float64(b.N), "fused-ns/step")
	b.ReportMetric(float64(tStock)/float64(tFused), "speedup")
}
