package ops

import (
	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// Fast builds layers from our fused ops (dense.go, conv.go, loss.go), whose work runs on package
// kernels, and our pooling ops (pool.go) with the assembly kernel for 2×2 max pooling (where the
// CPU has AVX-512) and, for inputs large enough, both cores (see kernels.Pass). Tests check every
// fused op against Stock, forward and backward, and the pooling ops bit for bit. One difference is
// deliberate: the gradient of relu at exactly 0 is 0, as in TensorFlow and PyTorch, where
// gorgonia's is 1 (Stock's relu agrees since its revision 2).
type Fast struct{}

// Layer implements builder.Ops with the fused ops.
func (Fast) Layer(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error) {
	return addLayer(lb, x, l, act, true)
}

// Dense is Stock.Dense as one fused op (product, bias and activation).
func (Fast) Dense(x, w, b *G.Node, activation string) (*G.Node, error) {
	return FusedDense(x, w, b, activation)
}

// Conv2D is Stock.Conv2D as one fused op (convolution, bias and activation).
func (Fast) Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	return FusedConv2D(x, k, b, l, activation)
}

// Pool is Stock.Pool on the fast kernels. Every output is computed
// the same way whichever goroutine computes it, so the results equal Stock's bit for bit.
func (Fast) Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) { return poolLayer(x, l, true) }

// LogSoftmax implements builder.Ops.
func (Fast) LogSoftmax(logits *G.Node) (*G.Node, error) { return FusedLogSoftmax(logits) }

// CrossEntropy implements builder.Ops.
func (Fast) CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	return FusedCrossEntropy(logProbs, labels, count)
}
