package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The CNNs of examples/mnist-cnn1.yaml and examples/mnist-cnn2.yaml.
const (
	benchCNN1 = "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 4n, activation: relu}\n    - dense: {units: 10, activation: softmax}\n"
	benchCNN2 = "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 10, activation: softmax}\n"
)

// gradStep is one training step without the optimizer: RunAll, clearing the gradients (as the
// optimizer does), Reset.
type gradStep struct {
	vm    G.VM
	grads []G.ValueGrad
}

func newGradStep(b *testing.B, layers string, n, batch int, ops builder.Ops) *gradStep {
	b.Helper()
	m, p := spectest.Model(b, "[28, 28, 1]", 10, n, "{}", layers)
	w, err := builder.NewWeights(m, p, 1)
	if err != nil {
		b.Fatal(err)
	}
	gr, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		b.Fatal(err)
	}
	graphtest.Fill(gr, rand.New(rand.NewPCG(1, 1)), batch)
	return &gradStep{vm: G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...)), grads: G.NodesToValueGrads(gr.Params)}
}

func (s *gradStep) run(b *testing.B) {
	if err := s.vm.RunAll(); err != nil {
		b.Fatal(err)
	}
	for _, vg := range s.grads {
		gv, _ := vg.Grad()
		clear(gv.Data().([]float32))
	}
	s.vm.Reset()
}

// BenchmarkConvNetStep times one training step (forward and backward, no optimizer) of the MNIST
// CNNs (28×28×1, batch 128) built with Stock and with Fast, alternating the two in
// every iteration, and reports each one's ms/step and images/s and the speedup (stock time /
// fast time).
func BenchmarkConvNetStep(b *testing.B) {
	const batch = 128
	for _, tc := range []struct {
		name, layers string
		n            int
	}{
		{"CNN2/n=2", benchCNN2, 2},
		{"CNN2/n=8", benchCNN2, 8},
		{"CNN2/n=32", benchCNN2, 32},
		{"CNN1/n=32", benchCNN1, 32},
	} {
		b.Run(tc.name, func(b *testing.B) {
			stock, fast := newGradStep(b, tc.layers, tc.n, batch, Stock{}), newGradStep(b, tc.layers, tc.n, batch, Fast{})
			defer stock.vm.Close()
			defer fast.vm.Close()
			// Warm up: buffers, and enough steps for every fused op to have measured whether
			// splitting pays (2·PassSamples + 1).
			for range 2*kernels.PassSamples + 1 {
				stock.run(b)
				fast.run(b)
			}
			var tStock, tFast time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				stock.run(b)
				t1 := time.Now()
				fast.run(b)
				tFast += time.Since(t1)
				tStock += t1.Sub(t0)
			}
			perStep := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
			b.ReportMetric(1e3*perStep(tStock), "stock-ms/step")
			b.ReportMetric(1e3*perStep(tFast), "fast-ms/step")
			b.ReportMetric(batch/perStep(tStock), "stock-img/s")
			b.ReportMetric(batch/perStep(tFast), "fast-img/s")
			b.ReportMetric(float64(tStock)/float64(tFast), "speedup")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkConvFastStep times the Fast step alone (for profiling: go test -bench
// ConvFastStep -cpuprofile).
func BenchmarkConvFastStep(b *testing.B) {
	const batch = 128
	for _, tc := range []struct {
		name, layers string
		n            int
	}{
		{"CNN2/n=2", benchCNN2, 2},
		{"CNN2/n=8", benchCNN2, 8},
		{"CNN2/n=32", benchCNN2, 32},
		{"CNN1/n=32", benchCNN1, 32},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newGradStep(b, tc.layers, tc.n, batch, Fast{})
			defer s.vm.Close()
			for range 2*kernels.PassSamples + 1 {
				s.run(b)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.run(b)
			}
			b.ReportMetric(batch*float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkConvSplit times each pass of the fused convolution ops (forward, relu gradient, input
// gradient, kernel gradient) on layers of the MNIST CNNs and smaller ones, six ways, alternating:
// one chunk on the calling goroutine (as a pass too small to split runs), kernels.PassChunks chunks on
// the calling goroutine (kernels.PassWhole), split in 2 and in kernels.PassChunks chunks (kernels.PassSplit), and the
// measured choice (kernels.PassAuto). It reports the one-chunk time and each other way's speedup over it,
// with the layer's size in MFLOP: the data for convSplitMinFlops, convSplitMinFloats and
// kernels.PassChunks.
func BenchmarkConvSplit(b *testing.B) {
	for _, tc := range []struct {
		batch, c, hw, f int
	}{
		{128, 1, 28, 2}, {128, 2, 26, 2}, {128, 2, 12, 4}, {128, 4, 10, 4},
		{128, 1, 28, 4}, {128, 2, 26, 4}, {128, 4, 12, 8},
		{128, 1, 28, 8}, {128, 8, 12, 16}, {128, 16, 10, 16},
		{128, 1, 28, 32}, {128, 32, 12, 64}, {128, 64, 10, 64},
		{32, 1, 28, 2}, {16, 2, 12, 4}, {8, 2, 10, 4},
	} {
		g := kernels.ConvGeom{C: tc.c, H: tc.hw, W: tc.hw, F: tc.f, KH: 3, KW: 3, StrideH: 1, StrideW: 1}
		name := fmt.Sprintf("b%d-c%d-%dx%d-f%d", tc.batch, tc.c, tc.hw, tc.hw, tc.f)
		b.Run(name, func(b *testing.B) {
			base, err := newConvGeometry(tc.batch, g)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			val := func(shape tensor.Shape) *tensor.Dense {
				d := make([]float32, shape.TotalSize())
				for i := range d {
					d[i] = rng.Float32() - 0.5
				}
				return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
			}
			x, k, bias, y := val(base.xShape), val(base.kShape), val(base.bShape), val(base.yShape)
			// passes returns the four passes of the layer in chunks (1: not splittable) run in mode.
			passes := func(chunks int, mode kernels.PassMode) []func() {
				geom := base
				geom.splittable = chunks > 1
				geom.engine = [2]kernels.Conv2D{kernels.NewConv2D(g), kernels.NewConv2D(g)}
				fwd := newConvOp(geom, actReLU, true)
				act := newConvActivationGradOp(actReLU, geom.yShape)
				act.splittable = geom.splittable
				dx := &convDataGradOp{geom: &fwd.geom}
				dx.task = kernels.NewPass(dx.chunk, geom.batch)
				dk := &convFilterGradOp{geom: &fwd.geom}
				dk.task = kernels.NewPass(dk.chunk, geom.batch)
				for _, t := range []*kernels.Pass{fwd.task, act.task, dx.task, dk.task} {
					t.SetChunks(min(chunks, geom.batch))
					t.Mode = mode
				}
				return []func(){
					func() { fwd.Do(x, k, bias) },
					func() { act.Do(y, y) },
					func() { dx.Do(y, k) },
					func() { dk.Do(x, y) },
				}
			}
			variants := [][]func(){
				passes(1, kernels.PassWhole), passes(kernels.PassChunks, kernels.PassWhole), passes(2, kernels.PassSplit),
				passes(kernels.PassChunks, kernels.PassSplit), passes(kernels.PassChunks, kernels.PassAuto),
			}
			suffixes := []string{"", "-chunked", "-x2", "-x8", "-auto"}
			names := []string{"fwd", "relugrad", "dx", "dk"}
			times := make([][][]time.Duration, len(variants)) // variant, pass, iteration
			for v, ps := range variants {
				times[v] = make([][]time.Duration, len(ps))
				for _, p := range ps {
					p()
				}
			}
			b.ResetTimer()
			for range b.N {
				for i := range names {
					for v, ps := range variants {
						t0 := time.Now()
						ps[i]()
						times[v][i] = append(times[v][i], time.Since(t0))
					}
				}
			}
			// Medians: the machine is shared, and a few preempted calls would swamp a mean.
			median := func(ds []time.Duration) float64 {
				s := slices.Clone(ds)
				slices.Sort(s)
				return float64(s[len(s)/2])
			}
			b.ReportMetric(g.Flops(tc.batch)/1e6, "MFLOP")
			for i, n := range names {
				b.ReportMetric(median(times[0][i])/1e3, n+"-µs")
				for v := 1; v < len(variants); v++ {
					b.ReportMetric(median(times[0][i])/median(times[v][i]), n+suffixes[v])
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkConvSplitHandoff times a split call whose chunks do nothing: the cost of offering a
// call to a helper and waiting for it, against which a split pass must gain. It reports how many
// calls a helper joined.
func BenchmarkConvSplitHandoff(b *testing.B) {
	var helped atomic.Int64
	t := kernels.NewPass(func(_, _, slot int) {
		if slot == 1 {
			helped.Add(1)
		}
	}, 128)
	t.Mode = kernels.PassSplit
	t.Run(true)
	helped.Store(0)
	b.ResetTimer()
	for range b.N {
		t.Run(true)
	}
	b.ReportMetric(float64(helped.Load())/float64(b.N), "helper-chunks/call")
}
