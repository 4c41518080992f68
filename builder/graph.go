package builder

import (
	"fmt"

	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is a gorgonia graph of one model at one sweep point for a fixed batch size.
//
// A training graph computes the mean softmax cross-entropy of the batch's real examples: Count
// holds how many of the Batch rows are real (the last batch of an epoch may be partial; its
// padding rows have all-zero Labels and so add nothing to the loss or the gradients). An
// evaluation graph has no Labels, Count, Loss or dropout: it only computes LogProbs.
type Graph struct {
	G     *G.ExprGraph
	Batch int
	// Input is the batch of images, NCHW [Batch, C, H, W], float32.
	Input *G.Node
	// Labels is one-hot [Batch, classes] (training graphs only).
	Labels *G.Node
	// Count is the float32 scalar number of real rows in the batch (training graphs only).
	Count *G.Node
	// Dropouts are the dropout layers' masks, to be filled before every step with 0 or
	// 1/(1-rate) per value (training graphs only); DropoutRates holds each mask's rate.
	Dropouts     []*G.Node
	DropoutRates []float64
	// LogProbs is the log-softmax of the last layer, [Batch, classes].
	LogProbs *G.Node
	// Loss is the scalar mean cross-entropy (training graphs only).
	Loss *G.Node
	// Params are the trainable weight nodes, in the order of Weights.Tensors (the non-trainable
	// tensors, Weights.NonTrainable, are bound but not among them).
	Params G.Nodes
	// Grads are the nodes of the loss's gradient with respect to each of Params (training
	// graphs only): after a run of the graph their values are the gradients of that run.
	Grads G.Nodes
}

// Ops makes the nodes of a graph's layers: an engine. Package ops has two, Stock (gorgonia's own
// operations) and Fast (our fused ops), with the same meaning; its tests check the two against
// each other. Images are NCHW float32.
type Ops interface {
	// Layer returns layer l applied to x with activation act (linear for the last layer, whose
	// softmax the log-softmax applies), taking the layer's weights from lb in the order of
	// l.Weights().
	Layer(lb *LayerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error)
	// LogSoftmax returns the log-softmax of logits [batch, classes] along the classes.
	LogSoftmax(logits *G.Node) (*G.Node, error)
	// CrossEntropy returns the scalar -Σ(logProbs ⊙ labels) / count.
	CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error)
}

// Build makes the graph of model m at point p over the given weights (see NewWeights) with ops
// (an engine of package ops). train selects a training graph (labels, loss, dropout) or an evaluation graph.
func Build(m spec.ResolvedModel, p spec.Point, w *Weights, batch int, train bool, ops Ops) (gr *Graph, err error) {
	if ops == nil {
		return nil, fmt.Errorf("builder: building %s at %s: no ops to build its layers with", m.Name, p)
	}
	defer func() {
		// gorgonia reports some shape errors by panicking; turn them into errors.
		if r := recover(); r != nil {
			gr, err = nil, fmt.Errorf("builder: building %s at %s: %v", m.Name, p, r)
		}
	}()
	g := G.NewGraph()
	gr = &Graph{G: g, Batch: batch}
	gr.Input = G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, m.Input.C, m.Input.H, m.Input.W), G.WithName("input"),
		G.WithValue(tensor.New(tensor.WithShape(batch, m.Input.C, m.Input.H, m.Input.W), tensor.Of(tensor.Float32))))
	lb := &LayerBuild{g: g, gr: gr, w: w, train: train}
	x := gr.Input
	for i, l := range m.Layers {
		// The last layer's activation (softmax or linear) is left to the log-softmax.
		act := l.Activation
		if i == len(m.Layers)-1 {
			act = "linear"
		}
		if x, err = ops.Layer(lb, x, l, act); err != nil {
			return nil, fmt.Errorf("builder: %s: %w", l.Name, err)
		}
	}
	next := lb.next
	if next != len(w.Tensors) {
		return nil, fmt.Errorf("builder: %s at %s uses %d weight tensors, the weights have %d", m.Name, p, next, len(w.Tensors))
	}
	if gr.LogProbs, err = ops.LogSoftmax(x); err != nil {
		return nil, fmt.Errorf("builder: log-softmax: %w", err)
	}
	if !train {
		return gr, nil
	}
	classes := x.Shape()[1]
	gr.Labels = G.NewMatrix(g, tensor.Float32, G.WithShape(batch, classes), G.WithName("labels"),
		G.WithValue(tensor.New(tensor.WithShape(batch, classes), tensor.Of(tensor.Float32))))
	if gr.Count == nil {
		gr.Count = G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(batch)))
	}
	if gr.Loss, err = ops.CrossEntropy(gr.LogProbs, gr.Labels, gr.Count); err != nil {
		return nil, fmt.Errorf("builder: loss: %w", err)
	}
	if gr.Grads, err = G.Grad(gr.Loss, gr.Params...); err != nil {
		return nil, fmt.Errorf("builder: gradients: %w", err)
	}
	return gr, nil
}
