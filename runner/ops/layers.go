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

	spec.KindDepthwiseConv2D: depthwiseConv2DGraph,
	spec.KindSeparableConv2D: separableConv2DGraph,
	spec.KindActivation:      activationGraph,
	spec.KindGlobalAvgPool2D: globalPoolGraph,
	spec.KindGlobalMaxPool2D: globalPoolGraph,
	spec.KindBatchNorm:       batchNormGraph,
}

// The residual kind's graph adds its inner layers through addLayer, which reads layerGraphs, so
// it joins the map once the map exists.
func init() { layerGraphs[spec.KindResidual] = residualGraph }

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

func depthwiseConv2DGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	k, b := kernelAndBias(lb, l)
	if fast {
		return FusedDepthwiseConv2D(x, k, b, l, act)
	}
	return stockDepthwiseConv2D(x, k, b, l, act)
}

// separableConv2DGraph binds the depthwise kernel, the pointwise kernel and the bias, in the
// order of spec's weights.
func separableConv2DGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	dk := lb.Param()
	pk, b := kernelAndBias(lb, l)
	if fast {
		return FusedSeparableConv2D(x, dk, pk, b, l, act)
	}
	return stockSeparableConv2D(x, dk, pk, b, l, act)
}

// activationGraph applies the layer's activation act on its own: gorgonia's operations on Stock
// (activate), our activation op on Fast (FusedActivation), where a ReLU after a batch norm is
// fused into the batch norm's op instead (fuseReLU: x, this layer's input, feeds nothing else).
func activationGraph(_ *builder.LayerBuild, x *G.Node, _ spec.ResolvedLayer, act string, fast bool) (*G.Node, error) {
	if fast {
		if a, err := parseActivation(act); err == nil && a == actReLU && fuseReLU(x) {
			return x, nil
		}
		return FusedActivation(x, act)
	}
	return activate(x, act)
}

// globalPoolGraph is global average or max pooling, NCHW → [N, C] (see GlobalPool2D).
func globalPoolGraph(_ *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, _ string, fast bool) (*G.Node, error) {
	return GlobalPool2D(x, l.Kind == spec.KindGlobalMaxPool2D, fast)
}

// residualGraph is x + block(x): the inner layers added one by one through their own kinds'
// graphs (each with its own activation), the shortcut x or its projection (a 1×1 convolution or a
// dense layer, with bias, through conv2dGraph or denseGraph, its weights bound after the inner
// layers'), then gorgonia's Add on both engines.
func residualGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, _ string, fast bool) (*G.Node, error) {
	keepUnfused(x) // the first inner layer and the shortcut both read x
	y := x
	for _, il := range l.Layers {
		var err error
		if y, err = addLayer(lb, y, il, il.Activation, fast); err != nil {
			return nil, fmt.Errorf("%s: %w", il.Name, err)
		}
	}
	shortcut := x
	if p, ok := l.Projection(); ok {
		var err error
		if shortcut, err = addLayer(lb, x, p, "linear", fast); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	if !y.Shape().Eq(shortcut.Shape()) {
		return nil, fmt.Errorf("residual block output %v cannot be added to its shortcut %v", y.Shape(), shortcut.Shape())
	}
	return G.Add(y, shortcut)
}
