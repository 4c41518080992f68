package ops

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerGraph adds layer l to the graph lb builds, on input x with activation act, on the fast
// ops or the stock ones. A kind with weights takes them with lb.Param, in the order of
// spec.ResolvedLayer.Weights.
type layerGraph func(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error)

// layerGraphs holds each layer kind's graph on both engines (spec holds the rest of what a kind
// is: its settings, shape, closed forms and weights).
var layerGraphs = map[spec.LayerKind]layerGraph{
	spec.KindDense:     denseGraph,
	spec.KindConv2D:    conv2dGraph,
	spec.KindMaxPool2D: poolingGraph,
	spec.KindAvgPool2D: poolingGraph,
	spec.KindFlatten:   flattenGraph,
	spec.KindDropout:   dropoutGraph,
	spec.KindBatchNorm: batchNormGraph,
}

// addLayer is Stock's and Fast's Layer.
func addLayer(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	graph := layerGraphs[l.Kind]
	if graph == nil {
		return nil, fmt.Errorf("no graph for layer kind %q", l.Kind)
	}
	return graph(lb, x, l, act, fast)
}

// kernelAndBias binds a layer's kernel and, when it has one, its bias (else nil).
func kernelAndBias(lb *builder.LayerBuild, l spec.ResolvedLayer) (k, b *G.Node) {
	k = lb.Param()
	if l.UseBias {
		b = lb.Param()
	}
	return k, b
}

func denseGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	k, b := kernelAndBias(lb, l)
	if fast {
		return FusedDense(x, k, b, act)
	}
	return stockDense(x, k, b, act)
}

func conv2dGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	k, b := kernelAndBias(lb, l)
	if fast {
		return FusedConv2D(x, k, b, l, act)
	}
	return stockConv2D(x, k, b, l, act)
}

// poolingGraph is max or average pooling, our ops on both engines (see pool.go).
func poolingGraph(_ *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, _ string, fast bool) (*G.Node, error) {
	return poolLayer(x, l, fast)
}

// flattenGraph reshapes NCHW into [N, C·H·W], so features come in CHW order.
func flattenGraph(_ *builder.LayerBuild, x *G.Node, _ spec.ResolvedLayer, _ string, _ bool) (*G.Node, error) {
	s := x.Shape()
	return G.Reshape(x, tensor.Shape{s[0], s[1] * s[2] * s[3]})
}

// dropoutGraph multiplies x by a mask that the trainer fills before every step (training graphs
// only; evaluation passes x through).
func dropoutGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, _ string, _ bool) (*G.Node, error) {
	if !lb.Training() {
		return x, nil
	}
	mask := G.NewTensor(lb.Graph(), tensor.Float32, x.Dims(), G.WithShape(x.Shape().Clone()...), G.WithName(l.Name+"/mask"),
		G.WithValue(tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.Of(tensor.Float32))))
	lb.AddDropout(mask, l.Rate)
	return G.HadamardProd(x, mask)
}
