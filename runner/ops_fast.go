package runner

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// FastOps builds layers from our fused ops (ops_dense.go, ops_conv.go, ops_loss.go), whose work
// runs on package kernels, and builder's pooling ops. Tests check every fused op against
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

// LogSoftmax implements builder.Ops.
func (FastOps) LogSoftmax(logits *G.Node) (*G.Node, error) { return FusedLogSoftmax(logits) }

// CrossEntropy implements builder.Ops.
func (FastOps) CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	return FusedCrossEntropy(logProbs, labels, count)
}

// Engines names the ways to build a model's layers: "fast" (FastOps, the default) and "stock"
// (gorgonia's own operations, for comparison).
var Engines = []string{"fast", "stock"}

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
