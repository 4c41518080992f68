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
	// Params are the weight nodes, in the order of Weights.Tensors.
	Params G.Nodes
	// Grads are the nodes of the loss's gradient with respect to each of Params (training
	// graphs only): after a run of the graph their values are the gradients of that run.
	Grads G.Nodes
}

// Ops makes the nodes of the layers that carry the work. StockOps builds them from gorgonia's
// own operations; package runner supplies fused, faster ops with the same meaning, and its tests
// check the two against each other. Images are NCHW float32.
type Ops interface {
	// Dense returns activation(x·w + b) for x [batch, in], w [in, units] and b [1, units], or
	// without bias when b is nil.
	Dense(x, w, b *G.Node, activation string) (*G.Node, error)
	// Conv2D returns activation(conv(x, k) + b) for x [batch, in_ch, h, w], k [filters, in_ch,
	// kh, kw] and b [1, filters, 1, 1] (or nil), with l's stride and padding.
	Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error)
	// Pool returns l's max or average pooling of x.
	Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error)
	// LogSoftmax returns the log-softmax of logits [batch, classes] along the classes.
	LogSoftmax(logits *G.Node) (*G.Node, error)
	// CrossEntropy returns the scalar -Σ(logProbs ⊙ labels) / count.
	CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error)
}

// Build makes the graph of model m at point p over the given weights (see NewWeights) with ops
// (nil: StockOps). train selects a training graph (labels, loss, dropout) or an evaluation graph.
func Build(m spec.ResolvedModel, p spec.Point, w *Weights, batch int, train bool, ops Ops) (gr *Graph, err error) {
	if ops == nil {
		ops = StockOps{}
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
	lb := &layerBuild{g: g, gr: gr, w: w, ops: ops, train: train}
	x := gr.Input
	for i, l := range m.Layers {
		// The last layer's activation (softmax or linear) is left to the log-softmax.
		act := l.Activation
		if i == len(m.Layers)-1 {
			act = "linear"
		}
		graph := layerGraphs[l.Kind]
		if graph == nil {
			return nil, fmt.Errorf("builder: %s: no graph for layer kind %q", l.Name, l.Kind)
		}
		if x, err = graph(lb, x, l, act); err != nil {
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
	gr.Count = G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(batch)))
	if gr.Loss, err = ops.CrossEntropy(gr.LogProbs, gr.Labels, gr.Count); err != nil {
		return nil, fmt.Errorf("builder: loss: %w", err)
	}
	if gr.Grads, err = G.Grad(gr.Loss, gr.Params...); err != nil {
		return nil, fmt.Errorf("builder: gradients: %w", err)
	}
	return gr, nil
}

// StockOps builds layers from gorgonia's own operations (and our pooling ops, whose gradients
// are right where gorgonia's average pooling's are not).
type StockOps struct{}

// Dense implements Ops.
func (StockOps) Dense(x, w, b *G.Node, activation string) (*G.Node, error) {
	y, err := G.Mul(x, w)
	if err == nil && b != nil {
		y, err = G.BroadcastAdd(y, b, nil, []byte{0})
	}
	if err != nil {
		return nil, err
	}
	return activate(y, activation)
}

// Conv2D implements Ops.
func (StockOps) Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	y, err := conv(x, k, l)
	if err == nil && b != nil {
		y, err = G.BroadcastAdd(y, b, nil, []byte{0, 2, 3})
	}
	if err != nil {
		return nil, err
	}
	return activate(y, activation)
}

// Pool implements Ops.
func (StockOps) Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) { return pool(x, l) }

// LogSoftmax implements Ops. gorgonia rewrites Log(SoftMax(x)) in place and merges SoftMax and
// LogSoftMax nodes of one graph, so LogSoftMax is the only form used.
func (StockOps) LogSoftmax(logits *G.Node) (*G.Node, error) { return G.LogSoftMax(logits) }

// CrossEntropy implements Ops.
func (StockOps) CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	prod, err := G.HadamardProd(logProbs, labels)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return nil, err
	}
	mean, err := G.Div(sum, count)
	if err != nil {
		return nil, err
	}
	return G.Neg(mean)
}

func activate(x *G.Node, a string) (*G.Node, error) {
	switch a {
	case "relu":
		return relu(x)
	case "sigmoid":
		return G.Sigmoid(x)
	case "tanh":
		return G.Tanh(x)
	case "linear", "softmax", "":
		return x, nil
	}
	return nil, fmt.Errorf("unknown activation %q", a)
}

// relu returns x ⊙ (x > 0), whose gradient is 0 where x is 0, as in Keras and PyTorch.
// gorgonia's Rectify masks with x ≥ 0 and so passes the gradient where x is exactly 0, which
// is common: a convolution's zero bias on MNIST's blank background gives exact zeros everywhere
// there, and Rectify then trained the first convolution's bias on the background.
func relu(x *G.Node) (*G.Node, error) {
	mask, err := G.Gt(x, G.NewConstant(float32(0)), true)
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(x, mask)
}

func conv(x, kernel *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	pad := []int{0, 0}
	if l.Padding == "same" {
		top, bottom := spec.SamePadding(l.InH, l.Window.H, l.Stride.H)
		left, right := spec.SamePadding(l.InW, l.Window.W, l.Stride.W)
		if top != bottom || left != right {
			var err error
			if x, err = zeroPad(x, top, bottom, left, right); err != nil {
				return nil, err
			}
		} else {
			pad = []int{top, left}
		}
	}
	return G.Conv2d(x, kernel, tensor.Shape{l.Window.H, l.Window.W}, pad, []int{l.Stride.H, l.Stride.W}, []int{1, 1})
}

// zeroPad pads an NCHW node with zeros by concatenation.
func zeroPad(x *G.Node, top, bottom, left, right int) (*G.Node, error) {
	zeros := func(shape ...int) *G.Node {
		return G.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32)))
	}
	s := x.Shape()
	parts := func(axis, before, after int, shape tensor.Shape) []*G.Node {
		var ns []*G.Node
		if before > 0 {
			sh := shape.Clone()
			sh[axis] = before
			ns = append(ns, zeros(sh...))
		}
		ns = append(ns, x)
		if after > 0 {
			sh := shape.Clone()
			sh[axis] = after
			ns = append(ns, zeros(sh...))
		}
		return ns
	}
	var err error
	if top+bottom > 0 {
		if x, err = G.Concat(2, parts(2, top, bottom, s)...); err != nil {
			return nil, err
		}
	}
	if left+right > 0 {
		if x, err = G.Concat(3, parts(3, left, right, x.Shape())...); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// pool applies our pooling ops (op_pool.go), which follow Keras: max pooling never picks a
// padded cell and average pooling divides by the real cells of each window.
func pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) { return PoolWith(x, l, PoolKernels{}) }
