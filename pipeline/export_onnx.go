package pipeline

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/onnx"
	"github.com/nnsweep/nnsweep/spec"
)

// onnxBuilder adds a model's layers to an ONNX graph, taking the weight tensors in order.
type onnxBuilder struct {
	g     *onnx.Graph
	w     *builder.Weights
	point spec.Point
	x     string // the output of the last node, the next layer's input
	next  int    // the next weight tensor
}

// onnxLayer adds the nodes of layer l (without its activation) to the graph b builds.
type onnxLayer func(b *onnxBuilder, l spec.ResolvedLayer) error

// onnxLayers holds each layer kind's translation into ONNX: Conv, MaxPool or AveragePool with
// Keras's same padding as explicit pads, begin and end, and average pooling over the real cells
// only (count_include_pad=0); Gemm; Flatten, whose CHW order is nnsweep's; Identity for dropout;
// grouped Convs for depthwise and separable convolutions; BatchNormalization with the moving
// statistics; GlobalAveragePool or GlobalMaxPool and a Flatten; nothing for an activation layer
// (its activation follows); a residual block's inner nodes, its projection's, and an Add.
var onnxLayers = map[spec.LayerKind]onnxLayer{
	spec.KindConv2D:          onnxConv2D,
	spec.KindDense:           onnxDense,
	spec.KindMaxPool2D:       onnxPool("MaxPool"),
	spec.KindAvgPool2D:       onnxPool("AveragePool", onnx.IntAttr("count_include_pad", 0)),
	spec.KindFlatten:         onnxOp("Flatten", onnx.IntAttr("axis", 1)),
	spec.KindDropout:         onnxOp("Identity"),
	spec.KindActivation:      func(*onnxBuilder, spec.ResolvedLayer) error { return nil },
	spec.KindGlobalAvgPool2D: onnxGlobalPool("GlobalAveragePool"),
	spec.KindGlobalMaxPool2D: onnxGlobalPool("GlobalMaxPool"),
	spec.KindDepthwiseConv2D: onnxDepthwise,
	spec.KindSeparableConv2D: onnxDepthwise,
	spec.KindBatchNorm:       onnxBatchNorm,
}

// onnxActivations are the ONNX operators of the activations that are one operator; linear (and
// softmax, which only the last layer may have) adds none, leaky_relu and swish see activation.
var onnxActivations = map[string]string{"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}

// weight adds the next weight tensor as an initializer and returns its name; flatten gives it one
// dimension (a conv2d bias [1, F, 1, 1] is Conv's B [F]).
func (b *onnxBuilder) weight(flatten bool) string {
	t := b.w.Tensors[b.next]
	dims := make([]int64, 0, 4)
	for _, d := range t.Shape() {
		dims = append(dims, int64(d))
	}
	if flatten {
		dims = []int64{int64(t.Shape().TotalSize())}
	}
	name := b.w.Names[b.next]
	b.g.Initializers = append(b.g.Initializers, onnx.Tensor{Name: name, Dims: dims, Floats: t.Data().([]float32)})
	b.next++
	return name
}

// node adds a node whose output, named name, becomes the current value.
func (b *onnxBuilder) node(name, op string, inputs []string, attrs ...onnx.Attr) {
	b.g.Nodes = append(b.g.Nodes, onnx.Node{Name: name, Op: op, Inputs: inputs, Outputs: []string{name}, Attrs: attrs})
	b.x = name
}

// emit adds the nodes of layers and of their activations; outer says they are the model's own,
// whose last layer's activation is left to the Softmax.
func (b *onnxBuilder) emit(layers []spec.ResolvedLayer, outer bool) error {
	for i, l := range layers {
		if l.Kind == spec.KindResidual {
			if err := b.residual(l); err != nil {
				return err
			}
		} else {
			translate := onnxLayers[l.Kind]
			if translate == nil {
				return fmt.Errorf("pipeline: ONNX export has no translation of %s layers (%s)", l.Kind, l.Name)
			}
			if err := translate(b, l); err != nil {
				return err
			}
		}
		if !outer || i < len(layers)-1 {
			b.activation(l)
		}
	}
	return nil
}

// residual adds a residual block: its inner layers, the shortcut or its projection, and an Add.
func (b *onnxBuilder) residual(l spec.ResolvedLayer) error {
	in := b.x
	if err := b.emit(l.Layers, false); err != nil {
		return err
	}
	y := b.x
	b.x = in
	if p, ok := l.Projection(); ok {
		if err := b.emit([]spec.ResolvedLayer{p}, false); err != nil {
			return err
		}
	}
	b.node(l.Name, "Add", []string{y, b.x})
	return nil
}

// activation adds layer l's activation: one operator, LeakyRelu with nnsweep's slope, or swish as
// x·sigmoid(x).
func (b *onnxBuilder) activation(l spec.ResolvedLayer) {
	switch op := onnxActivations[l.Activation]; {
	case op != "":
		b.node(l.Name+"/"+l.Activation, op, []string{b.x})
	case l.Activation == "leaky_relu":
		b.node(l.Name+"/leaky_relu", "LeakyRelu", []string{b.x}, onnx.FloatAttr("alpha", spec.LeakySlope))
	case l.Activation == "swish":
		in := b.x
		b.node(l.Name+"/swish_sigmoid", "Sigmoid", []string{in})
		b.node(l.Name+"/swish", "Mul", []string{in, b.x})
	}
}

// window returns a convolution's or pooling's kernel_shape, strides and pads (begin, then end).
func window(l spec.ResolvedLayer) []onnx.Attr {
	top, bottom, left, right := spec.Padding(l)
	return []onnx.Attr{onnx.IntsAttr("kernel_shape", int64(l.Window.H), int64(l.Window.W)),
		onnx.IntsAttr("strides", int64(l.Stride.H), int64(l.Stride.W)),
		onnx.IntsAttr("pads", int64(top), int64(left), int64(bottom), int64(right))}
}

// conv adds a Conv node over the current value with the given kernel (and bias) and group.
func (b *onnxBuilder) conv(name string, in []string, win []onnx.Attr, group int64) {
	attrs := append(win[:len(win):len(win)], onnx.IntsAttr("dilations", 1, 1), onnx.IntAttr("group", group))
	b.node(name, "Conv", in, attrs...)
}

// kernelAndBias adds the next weight (a kernel) and, when the layer has one, its bias.
func (b *onnxBuilder) kernelAndBias(useBias, flattenBias bool) []string {
	in := []string{b.x, b.weight(false)}
	if useBias {
		in = append(in, b.weight(flattenBias))
	}
	return in
}

func onnxConv2D(b *onnxBuilder, l spec.ResolvedLayer) error {
	b.conv(l.Name, b.kernelAndBias(l.UseBias, true), window(l), 1)
	return nil
}

func onnxDense(b *onnxBuilder, l spec.ResolvedLayer) error {
	b.node(l.Name, "Gemm", b.kernelAndBias(l.UseBias, false))
	return nil
}

// onnxOp is a layer that is one operator over the current value.
func onnxOp(op string, attrs ...onnx.Attr) onnxLayer {
	return func(b *onnxBuilder, l spec.ResolvedLayer) error {
		b.node(l.Name, op, []string{b.x}, attrs...)
		return nil
	}
}

// onnxPool is max or average pooling over the layer's window.
func onnxPool(op string, attrs ...onnx.Attr) onnxLayer {
	return func(b *onnxBuilder, l spec.ResolvedLayer) error {
		b.node(l.Name, op, []string{b.x}, append(window(l), attrs...)...)
		return nil
	}
}

// onnxGlobalPool is global pooling to [N, C, 1, 1], then a Flatten to [N, C].
func onnxGlobalPool(op string) onnxLayer {
	return func(b *onnxBuilder, l spec.ResolvedLayer) error {
		b.node(l.Name+"/pool", op, []string{b.x})
		b.node(l.Name, "Flatten", []string{b.x}, onnx.IntAttr("axis", 1))
		return nil
	}
}

// onnxDepthwise is a depthwise convolution, whose kernel [c·m, 1, kh, kw] is a Conv's with
// group = c, and a separable one, whose pointwise step is a second, 1×1 Conv with the bias.
func onnxDepthwise(b *onnxBuilder, l spec.ResolvedLayer) error {
	group := int64(b.w.Tensors[b.next].Shape()[0] / l.DepthMultiplier())
	if l.Kind == spec.KindDepthwiseConv2D {
		b.conv(l.Name, b.kernelAndBias(l.UseBias, true), window(l), group)
		return nil
	}
	b.conv(l.Name+"/depthwise", b.kernelAndBias(false, true), window(l), group)
	b.conv(l.Name, b.kernelAndBias(l.UseBias, true), []onnx.Attr{onnx.IntsAttr("kernel_shape", 1, 1),
		onnx.IntsAttr("strides", 1, 1), onnx.IntsAttr("pads", 0, 0, 0, 0)}, 1)
	return nil
}

// onnxBatchNorm is BatchNormalization in inference mode over the moving statistics; a layer
// without scale or center gets a constant γ of ones or β of zeros.
func onnxBatchNorm(b *onnxBuilder, l spec.ResolvedLayer) error {
	bn := l.Settings.(spec.BatchNormSettings)
	c := int64(l.OutC.MustEval(b.point.Map()))
	constant := func(name string, v float32) string {
		vals := make([]float32, c)
		for k := range vals {
			vals[k] = v
		}
		b.g.Initializers = append(b.g.Initializers, onnx.Tensor{Name: name, Dims: []int64{c}, Floats: vals})
		return name
	}
	in := []string{b.x}
	if bn.Scale {
		in = append(in, b.weight(false))
	} else {
		in = append(in, constant(l.Name+"/gamma", 1))
	}
	if bn.Center {
		in = append(in, b.weight(false))
	} else {
		in = append(in, constant(l.Name+"/beta", 0))
	}
	in = append(in, b.weight(false), b.weight(false))
	b.node(l.Name, "BatchNormalization", in, onnx.FloatAttr("epsilon", float32(bn.Epsilon)), onnx.FloatAttr("momentum", float32(bn.Momentum)))
	return nil
}
