package builder

import (
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerGraph adds layer l to the graph under construction: x is its input, act its activation
// (linear for the last layer, whose activation the log-softmax applies). A kind with weights
// takes them with lb.param, in the order of spec.ResolvedLayer.Weights.
type layerGraph func(lb *layerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error)

// layerGraphs holds each layer kind's graph (spec holds the rest of what a kind is).
var layerGraphs = map[spec.LayerKind]layerGraph{
	spec.KindDense:     denseGraph,
	spec.KindConv2D:    conv2dGraph,
	spec.KindMaxPool2D: poolGraph,
	spec.KindAvgPool2D: poolGraph,
	spec.KindFlatten:   flattenGraph,
	spec.KindDropout:   dropoutGraph,
}

// layerBuild is the state of a graph under construction that layers share.
type layerBuild struct {
	g     *G.ExprGraph
	gr    *Graph
	w     *Weights
	ops   Ops
	train bool
	next  int // the next weight tensor to bind
}

// param binds the next weight tensor as a node of the graph.
func (lb *layerBuild) param() *G.Node {
	t := lb.w.Tensors[lb.next]
	n := G.NodeFromAny(lb.g, t, G.WithName(lb.w.Names[lb.next]))
	lb.gr.Params = append(lb.gr.Params, n)
	lb.next++
	return n
}

// kernelAndBias binds a layer's kernel and, when it has one, its bias (else nil).
func (lb *layerBuild) kernelAndBias(l spec.ResolvedLayer) (k, b *G.Node) {
	k = lb.param()
	if l.UseBias {
		b = lb.param()
	}
	return k, b
}

func denseGraph(lb *layerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error) {
	k, b := lb.kernelAndBias(l)
	return lb.ops.Dense(x, k, b, act)
}

func conv2dGraph(lb *layerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error) {
	k, b := lb.kernelAndBias(l)
	return lb.ops.Conv2D(x, k, b, l, act)
}

func poolGraph(lb *layerBuild, x *G.Node, l spec.ResolvedLayer, _ string) (*G.Node, error) {
	return lb.ops.Pool(x, l)
}

// flattenGraph reshapes NCHW into [N, C·H·W], so features come in CHW order.
func flattenGraph(_ *layerBuild, x *G.Node, _ spec.ResolvedLayer, _ string) (*G.Node, error) {
	s := x.Shape()
	return G.Reshape(x, tensor.Shape{s[0], s[1] * s[2] * s[3]})
}

// dropoutGraph multiplies x by a mask that the trainer fills before every step (training graphs
// only; evaluation passes x through).
func dropoutGraph(lb *layerBuild, x *G.Node, l spec.ResolvedLayer, _ string) (*G.Node, error) {
	if !lb.train {
		return x, nil
	}
	mask := G.NewTensor(lb.g, tensor.Float32, x.Dims(), G.WithShape(x.Shape().Clone()...), G.WithName(l.Name+"/mask"),
		G.WithValue(tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.Of(tensor.Float32))))
	lb.gr.Dropouts = append(lb.gr.Dropouts, mask)
	lb.gr.DropoutRates = append(lb.gr.DropoutRates, l.Rate)
	return G.HadamardProd(x, mask)
}
