package spec

// KindConv2D is a 2-D convolution.
const KindConv2D LayerKind = "conv2d"

// Conv2D is a 2-D convolution over HWC images with Filters output channels.
type Conv2D struct {
	Name       string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (conv2d_1)"`
	Filters    Expr   `yaml:"filters" jsonschema:"required,description=Number of output channels: an integer or an expression in the sweep variables"`
	Kernel     Pair   `yaml:"kernel" jsonschema:"required,description=Kernel size: 3 or [height\\, width]"`
	Stride     *Pair  `yaml:"stride" jsonschema:"description=Default 1"`
	Padding    string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear leaky_relu swish" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,enum=leaky_relu,enum=swish,default=linear,description=Activation function (leaky_relu: slope 0.2 below 0; swish: x·sigmoid(x)); softmax only on the last layer"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias"`
}

// conv2dUnit is the conv2d kind. Its weights are a kernel [filters, in_channels, kh, kw] and a bias
// [1, filters, 1, 1] (float32, row-major), drawn with fan_in = kh·kw·in_channels and
// fan_out = kh·kw·filters, as Keras.
type conv2dUnit struct{}

func (conv2dUnit) kind() LayerKind { return KindConv2D }

func (conv2dUnit) width(body any) (string, Expr) { return "filters", body.(*Conv2D).Filters }

func (conv2dUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	c := body.(*Conv2D)
	rl.Width, rl.Window, rl.Stride = c.Filters, c.Kernel, Pair{1, 1}
	rl.Padding = orDefault(c.Padding, "valid")
	rl.Activation = orDefault(c.Activation, "linear")
	if c.Stride != nil {
		rl.Stride = *c.Stride
	}
	if c.UseBias != nil {
		rl.UseBias = *c.UseBias
	}
	w.require(c.Filters.IsZero(), "filters", "n")
	w.require(c.Kernel.IsZero(), "kernel", "3")
	width := c.Filters.Poly().absSum()
	if oh, ow, ok := w.slide(rl, "kernel", "use padding: same or drop a pooling layer"); ok {
		window := float64(rl.Window.H * rl.Window.W)
		w.checkSize(window*w.bound*width+width, float64(oh)*float64(ow)*window*w.bound*width)
		w.bound = width
		w.h, w.w = oh, ow
	}
	w.c = c.Filters.Poly()
}

func (conv2dUnit) count(l ResolvedLayer) (params, macs Poly) {
	filters := l.Width.Poly()
	window := Const(int64(l.Window.H * l.Window.W))
	params = window.Mul(l.InC).Mul(filters)
	if l.UseBias {
		params = params.Add(filters)
	}
	return params, Const(int64(l.OutH * l.OutW)).Mul(window).Mul(l.InC).Mul(filters)
}

func (conv2dUnit) weights(l ResolvedLayer) []WeightShape {
	filters := l.Width.Poly()
	window := Const(int64(l.Window.H * l.Window.W))
	ws := []WeightShape{{Name: "kernel", Shape: []Poly{filters, l.InC, Const(int64(l.Window.H)), Const(int64(l.Window.W))},
		FanIn: window.Mul(l.InC), FanOut: window.Mul(filters)}}
	if l.UseBias {
		ws = append(ws, WeightShape{Name: "bias", Shape: []Poly{Const(1), filters, Const(1), Const(1)}})
	}
	return ws
}
