package spec

// KindDepthwiseConv2D is a depthwise 2-D convolution.
const KindDepthwiseConv2D LayerKind = "depthwise_conv2d"

// maxDepthMultiplier bounds depth_multiplier.
const maxDepthMultiplier = 1 << 12

// DepthwiseConv2D is a depthwise 2-D convolution over HWC images, as Keras's DepthwiseConv2D:
// each input channel is convolved with DepthMultiplier kernels of its own, so the output has
// in_channels·depth_multiplier channels, and no channels are mixed.
type DepthwiseConv2D struct {
	Name            string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (depthwise_conv2d_1)"`
	Kernel          Pair   `yaml:"kernel" jsonschema:"required,description=Kernel size: 3 or [height\\, width]"`
	DepthMultiplier *int   `yaml:"depth_multiplier" jsonschema:"minimum=1,maximum=4096,default=1,description=Output channels per input channel"`
	Stride          *Pair  `yaml:"stride" jsonschema:"description=Default 1"`
	Padding         string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
	Activation      string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear leaky_relu swish" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,enum=leaky_relu,enum=swish,default=linear,description=Activation function (leaky_relu: slope 0.2 below 0; swish: x·sigmoid(x)); softmax only on the last layer"`
	UseBias         *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias"`
}

// DepthwiseSettings is what a depthwise_conv2d or separable_conv2d layer resolves beyond the
// fields of ResolvedLayer (its ResolvedLayer.Settings): the output channels of the depthwise
// step per input channel.
type DepthwiseSettings struct {
	DepthMultiplier int `json:"depth_multiplier"`
}

// DepthMultiplier returns the depth multiplier of a depthwise_conv2d or separable_conv2d layer
// (1 for any other kind).
func (l ResolvedLayer) DepthMultiplier() int {
	if s, ok := l.Settings.(DepthwiseSettings); ok && s.DepthMultiplier > 0 {
		return s.DepthMultiplier
	}
	return 1
}

// depthwiseConv2DUnit is the depthwise_conv2d kind. Its weights are a kernel
// [in_channels·m, 1, kh, kw] and a bias [1, in_channels·m, 1, 1] (float32, row-major; m the depth
// multiplier), output channel ch·m + j being input channel ch's j-th kernel, as in Keras and in
// PyTorch's Conv2d with groups = in_channels. The kernel is drawn with Keras's fans: Keras's
// depthwise kernel has shape (kh, kw, in_channels, m), and its Glorot initialiser takes the
// receptive field kh·kw times the last-but-one and the last dimension, so fan_in = kh·kw·in_channels
// and fan_out = kh·kw·m (not PyTorch's fan_in = kh·kw of a grouped kernel): the same limit as Keras.
type depthwiseConv2DUnit struct{}

func (depthwiseConv2DUnit) kind() LayerKind { return KindDepthwiseConv2D }

func (depthwiseConv2DUnit) width(any) (string, Expr) { return "", Expr{} }

func (depthwiseConv2DUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	c := body.(*DepthwiseConv2D)
	resolveDepthwise(w, rl, c.Kernel, c.DepthMultiplier, c.Stride, c.Padding, c.Activation, c.UseBias)
	m := float64(rl.DepthMultiplier())
	if oh, ow, ok := w.slide(rl, "kernel", "use padding: same, a smaller kernel or drop a pooling layer"); ok {
		window := float64(rl.Window.H * rl.Window.W)
		w.checkSize(window*w.bound*m+w.bound*m, float64(oh)*float64(ow)*window*w.bound*m)
		w.h, w.w = oh, ow
	}
	w.bound *= m
	w.c = w.c.Mul(Const(int64(rl.DepthMultiplier())))
}

// resolveDepthwise copies the settings the depthwise kinds share into rl, with their defaults.
func resolveDepthwise(w *layerWalk, rl *ResolvedLayer, kernel Pair, multiplier *int, stride *Pair, padding, act string, useBias *bool) {
	rl.Window, rl.Stride = kernel, Pair{1, 1}
	rl.Padding = orDefault(padding, "valid")
	rl.Activation = orDefault(act, "linear")
	if stride != nil {
		rl.Stride = *stride
	}
	if useBias != nil {
		rl.UseBias = *useBias
	}
	m := 1
	if multiplier != nil {
		if *multiplier >= 1 && *multiplier <= maxDepthMultiplier {
			m = *multiplier
		} else if p := w.lp.Child("depth_multiplier"); !w.s.rejected(p) {
			w.errs = append(w.errs, w.s.errorAt(p, "use a whole number of kernels per input channel, e.g. depth_multiplier: 1 (the output has input channels × depth_multiplier channels)",
				"depth_multiplier must be from 1 to %d, found %d", maxDepthMultiplier, *multiplier))
		}
	}
	rl.Settings = DepthwiseSettings{DepthMultiplier: m}
	w.require(kernel.IsZero(), "kernel", "3")
}

func (depthwiseConv2DUnit) count(l ResolvedLayer) (params, macs Poly) {
	window := Const(int64(l.Window.H * l.Window.W))
	out := l.InC.Mul(Const(int64(l.DepthMultiplier())))
	params = window.Mul(out)
	if l.UseBias {
		params = params.Add(out)
	}
	return params, Const(int64(l.OutH * l.OutW)).Mul(window).Mul(out)
}

func (depthwiseConv2DUnit) weights(l ResolvedLayer) []WeightShape {
	ws := []WeightShape{depthwiseKernel(l)}
	if l.UseBias {
		out := l.InC.Mul(Const(int64(l.DepthMultiplier())))
		ws = append(ws, WeightShape{Name: "bias", Shape: []Poly{Const(1), out, Const(1), Const(1)}})
	}
	return ws
}

// depthwiseKernel is the depthwise kernel of l, [in_channels·m, 1, kh, kw], with Keras's fans
// (see depthwiseConv2DUnit).
func depthwiseKernel(l ResolvedLayer) WeightShape {
	window := Const(int64(l.Window.H * l.Window.W))
	m := Const(int64(l.DepthMultiplier()))
	return WeightShape{Name: "depthwise_kernel", Shape: []Poly{l.InC.Mul(m), Const(1), Const(int64(l.Window.H)), Const(int64(l.Window.W))},
		FanIn: window.Mul(l.InC), FanOut: window.Mul(m)}
}
