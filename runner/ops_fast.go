package runner

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// FastOps builds layers from our fused ops (ops_dense.go, ops_conv.go, ops_loss.go), whose work
// runs on package kernels, and builder's pooling ops on our kernels (Pool). Tests check every fused op against
// builder.StockOps, forward and backward. One difference is deliberate: the gradient of relu at
// exactly 0 is 0, as in TensorFlow and PyTorch, where gorgonia's is 1.
type FastOps struct {
	builder.StockOps
}

// Dense implements builder.Ops with one fused op (product, bias and activation).
func (FastOps) Dense(x, w, b *G.Node, activation string) (*G.Node, error) {
	return FusedDense(x, w, b, activation)
}

// Conv2D implements builder.Ops with one fused op (convolution, bias and activation).
func (FastOps) Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	return FusedConv2D(x, k, b, l, activation)
}

// Pool implements builder.Ops with builder's pooling ops given the assembly kernel for 2×2 max
// pooling (where the CPU has AVX-512) and, for inputs large enough, both cores: a pass is cut into chunks of planes, run
// split or whole as measured (see kernels.Pass). Every output is computed the same way
// whichever goroutine computes it, so the results equal StockOps' bit for bit. On CNN1 n=32's
// pooling layer the forward pass takes 1.7 ms against 8.2 ms (BenchmarkPoolForward).
func (FastOps) Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	k := builder.PoolKernels{Split: newPlaneSplit}
	if kernels.MaxPool2x2Asm() {
		k.Max2x2 = kernels.MaxPool2x2
	}
	return builder.PoolWith(x, l, k)
}

// planeSplit runs a pooling pass over planes in chunks (builder.PoolKernels.Split).
type planeSplit struct {
	planes   int
	eligible bool
	task     *kernels.Pass
	pass     func(p0, p1 int) // the pass in progress
}

// poolSplitMode is the mode of the pooling passes made from now on (tests force modes).
var poolSplitMode = kernels.PassAuto

func newPlaneSplit(planes, floats int) func(pass func(p0, p1 int)) {
	ps := &planeSplit{planes: planes, eligible: planes >= 2 && floats >= convSplitMinFloats}
	ps.task = kernels.NewPass(ps.chunk, planes)
	ps.task.Mode = poolSplitMode
	return ps.run
}

func (ps *planeSplit) run(pass func(p0, p1 int)) {
	ps.pass = pass
	ps.task.Run(ps.eligible)
	ps.pass = nil
}

func (ps *planeSplit) chunk(c, chunks, _ int) {
	lo, hi := kernels.ChunkRange(ps.planes, c, chunks)
	ps.pass(lo, hi)
}

// LogSoftmax implements builder.Ops.
func (FastOps) LogSoftmax(logits *G.Node) (*G.Node, error) { return FusedLogSoftmax(logits) }

// CrossEntropy implements builder.Ops.
func (FastOps) CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	return FusedCrossEntropy(logProbs, labels, count)
}

// Engines names the ways to build a model's layers: "fast" (FastOps, the default) and "stock"
// (gorgonia's own operations, for comparison).
var Engines = []string{"fast", "stock"}

// engineRevisions counts, per engine, the changes to what it computes. Results trained by an
// earlier revision are not the results of this one, so the revision enters every result key
// (EngineKey). stock's revision 2: ReLU's gradient is 0 where its input is exactly 0 (it was 1).
var engineRevisions = map[string]int{"fast": 1, "stock": 2}

// EngineKey returns what of the named engine enters a result key: "" for the fast engine's
// first revision and the engine's name for any engine's first (the keys written before
// revisions were counted), the name and "/r" and the revision after that.
func EngineKey(name string) string {
	if name == "" {
		name = "fast"
	}
	rev := engineRevisions[name]
	switch {
	case rev <= 1 && name == "fast":
		return ""
	case rev <= 1:
		return name
	}
	return fmt.Sprintf("%s/r%d", name, rev)
}

// EngineOps returns the Ops of the named engine.
func EngineOps(name string) (builder.Ops, error) {
	switch name {
	case "", "fast":
		return FastOps{}, nil
	case "stock":
		return builder.StockOps{}, nil
	}
	return nil, fmt.Errorf("unknown engine %q; use fast or stock", name)
}
