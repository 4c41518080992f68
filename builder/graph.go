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
}

// Build makes the graph of model m at point p over the given weights (see NewWeights). train
// selects a training graph (labels, loss, dropout) or an evaluation graph.
func Build(m spec.ResolvedModel, p spec.Point, w *Weights, batch int, train bool) (gr *Graph, err error) {
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
	next := 0
	param := func() *G.Node {
		t := w.Tensors[next]
		n := G.NodeFromAny(g, t, G.WithName(w.Names[next]))
		gr.Params = append(gr.Params, n)
		next++
		return n
	}
	x := gr.Input
	for i, l := range m.Layers {
		last := i == len(m.Layers)-1
		switch l.Kind {
		case spec.KindDense:
			x, err = G.Mul(x, param())
			if err == nil && l.UseBias {
				x, err = G.BroadcastAdd(x, param(), nil, []byte{0})
			}
		case spec.KindConv2D:
			x, err = conv(x, param(), l)
			if err == nil && l.UseBias {
				x, err = G.BroadcastAdd(x, param(), nil, []byte{0, 2, 3})
			}
		case spec.KindMaxPool2D, spec.KindAvgPool2D:
			x, err = pool(x, l)
		case spec.KindFlatten:
			s := x.Shape()
			x, err = G.Reshape(x, tensor.Shape{s[0], s[1] * s[2] * s[3]})
		case spec.KindDropout:
			if train {
				mask := G.NewTensor(g, tensor.Float32, x.Dims(), G.WithShape(x.Shape().Clone()...), G.WithName(l.Name+"/mask"),
					G.WithValue(tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.Of(tensor.Float32))))
				gr.Dropouts = append(gr.Dropouts, mask)
				gr.DropoutRates = append(gr.DropoutRates, l.Rate)
				x, err = G.HadamardProd(x, mask)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("builder: %s: %w", l.Name, err)
		}
		if !last {
			if x, err = activate(x, l.Activation); err != nil {
				return nil, fmt.Errorf("builder: %s: %w", l.Name, err)
			}
		}
	}
	if next != len(w.Tensors) {
		return nil, fmt.Errorf("builder: %s at %s uses %d weight tensors, the weights have %d", m.Name, p, next, len(w.Tensors))
	}
	// The last layer's softmax (or linear output) becomes a log-softmax: gorgonia rewrites
	// Log(SoftMax(x)) in place and merges SoftMax and LogSoftMax nodes, so LogSoftMax is the only
	// form used.
	if gr.LogProbs, err = G.LogSoftMax(x); err != nil {
		return nil, fmt.Errorf("builder: log-softmax: %w", err)
	}
	if !train {
		return gr, nil
	}
	classes := x.Shape()[1]
	gr.Labels = G.NewMatrix(g, tensor.Float32, G.WithShape(batch, classes), G.WithName("labels"),
		G.WithValue(tensor.New(tensor.WithShape(batch, classes), tensor.Of(tensor.Float32))))
	gr.Count = G.NewScalar(g, tensor.Float32, G.WithName("count"), G.WithValue(float32(batch)))
	prod, err := G.HadamardProd(gr.LogProbs, gr.Labels)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return nil, err
	}
	mean, err := G.Div(sum, gr.Count)
	if err != nil {
		return nil, err
	}
	if gr.Loss, err = G.Neg(mean); err != nil {
		return nil, err
	}
	if _, err = G.Grad(gr.Loss, gr.Params...); err != nil {
		return nil, fmt.Errorf("builder: gradients: %w", err)
	}
	return gr, nil
}

func activate(x *G.Node, a string) (*G.Node, error) {
	switch a {
	case "relu":
		return G.Rectify(x)
	case "sigmoid":
		return G.Sigmoid(x)
	case "tanh":
		return G.Tanh(x)
	case "linear", "softmax", "":
		return x, nil
	}
	return nil, fmt.Errorf("unknown activation %q", a)
}

// samePadding returns Keras's padding for "same": the total max((out-1)·stride + k - in, 0), split
// with the smaller half before.
func samePadding(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

func conv(x, kernel *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	pad := []int{0, 0}
	if l.Padding == "same" {
		top, bottom := samePadding(l.InH, l.Window.H, l.Stride.H)
		left, right := samePadding(l.InW, l.Window.W, l.Stride.W)
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
func pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	var top, bottom, left, right int
	if l.Padding == "same" {
		top, bottom = samePadding(l.InH, l.Window.H, l.Stride.H)
		left, right = samePadding(l.InW, l.Window.W, l.Stride.W)
	}
	if l.Kind == spec.KindAvgPool2D {
		return AvgPool2D(x, l.Window.H, l.Window.W, l.Stride.H, l.Stride.W, top, bottom, left, right)
	}
	return MaxPool2D(x, l.Window.H, l.Window.W, l.Stride.H, l.Stride.W, top, bottom, left, right)
}
