package runner

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	G "gorgonia.org/gorgonia"
)

// FastOps builds layers from our fused ops (ops_dense.go, ops_loss.go), whose products run on
// package kernels, and builder's pooling ops. Layers it does not fuse yet come from
// builder.StockOps. Tests check every fused op against StockOps.
type FastOps struct {
	builder.StockOps
}

// Dense implements builder.Ops with one fused op (product, bias and activation).
func (FastOps) Dense(x, w, b *G.Node, activation string) (*G.Node, error) {
	return FusedDense(x, w, b, activation)
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
