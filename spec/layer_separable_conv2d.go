package spec

// KindSeparableConv2D is a depthwise-separable 2-D convolution.
const KindSeparableConv2D LayerKind = "separable_conv2d"

// SeparableConv2D is a depthwise-separable 2-D convolution over HWC images, as Keras's
// SeparableConv2D: a depthwise convolution (see DepthwiseConv2D, without bias or activation),
// then a 1×1 convolution to Filters channels with one bias, then the activation.
type SeparableConv2D struct {
	Name            string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (separable_conv2d_1)"`
	Filters         Expr   `yaml:"filters" jsonschema:"required,description=Number of output channels: an integer or an expression in the sweep variables"`
	Kernel          Pair   `yaml:"kernel" jsonschema:"required,description=Kernel size of the depthwise step: 3 or [height\\, width]"`
	DepthMultiplier *int   `yaml:"depth_multiplier" jsonschema:"minimum=1,maximum=4096,default=1,description=Channels of the depthwise step per input channel"`
	Stride          *Pair  `yaml:"stride" jsonschema:"description=Default 1"`
	Padding         string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
	Activation      string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear leaky_relu swish" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,enum=leaky_relu,enum=swish,default=linear,description=Activation function (leaky_relu: slope 0.2 below 0; swish: x·sigmoid(x)); softmax only on the last layer"`
	UseBias         *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias (one\\, after the pointwise step)"`
}

// separableConv2DUnit is the separable_conv2d kind. Its weights are the depthwise kernel
// [in_channels·m, 1, kh, kw] (as depthwise_conv2d's, with its fans), the pointwise kernel
// [filters, in_channels·m, 1, 1] and the bias [1, filters, 1, 1]. Keras's pointwise kernel has
// shape (1, 1, in_channels·m, filters), so it is drawn with fan_in = in_channels·m and
// fan_out = filters.
type separableConv2DUnit struct{}

func (separableConv2DUnit) kind() LayerKind { return KindSeparableConv2D }

func (separableConv2DUnit) width(body any) (string, Expr) {
	return "filters", body.(*SeparableConv2D).Filters
}

func (separableConv2DUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	c := body.(*SeparableConv2D)
	resolveDepthwise(w, rl, c.Kernel, c.DepthMultiplier, c.Stride, c.Padding, c.Activation, c.UseBias)
	rl.Width = c.Filters
	w.require(c.Filters.IsZero(), "filters", "n")
	m := float64(rl.DepthMultiplier())
	width := c.Filters.Poly().absSum()
	if oh, ow, ok := w.slide(rl, "kernel", "use padding: same, a smaller kernel or drop a pooling layer"); ok {
		window := float64(rl.Window.H * rl.Window.W)
		pixels := float64(oh) * float64(ow)
		w.checkSize(window*w.bound*m+w.bound*m*width+width, pixels*window*w.bound*m+pixels*w.bound*m*width)
		w.h, w.w = oh, ow
	}
	w.bound = width
	w.c = c.Filters.Poly()
}

func (separableConv2DUnit) count(l ResolvedLayer) (params, macs Poly) {
	filters := l.Width.Poly()
	window := Const(int64(l.Window.H * l.Window.W))
	mid := l.InC.Mul(Const(int64(l.DepthMultiplier())))
	params = window.Mul(mid).Add(mid.Mul(filters))
	if l.UseBias {
		params = params.Add(filters)
	}
	pixels := Const(int64(l.OutH * l.OutW))
	return params, pixels.Mul(window).Mul(mid).Add(pixels.Mul(mid).Mul(filters))
}

func (separableConv2DUnit) weights(l ResolvedLayer) []WeightShape {
	filters := l.Width.Poly()
	mid := l.InC.Mul(Const(int64(l.DepthMultiplier())))
	ws := []WeightShape{depthwiseKernel(l),
		{Name: "pointwise_kernel", Shape: []Poly{filters, mid, Const(1), Const(1)}, FanIn: mid, FanOut: filters}}
	if l.UseBias {
		ws = append(ws, WeightShape{Name: "bias", Shape: []Poly{Const(1), filters, Const(1), Const(1)}})
	}
	return ws
}
