package spec

// KindDense is a fully connected layer.
const KindDense LayerKind = "dense"

// Dense is a fully connected layer: Units outputs, each the activation of a weighted sum of every
// input plus a bias.
type Dense struct {
	Name       string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (dense_1)"`
	Units      Expr   `yaml:"units" jsonschema:"required,description=Number of outputs: an integer or an expression in the sweep variables"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear leaky_relu swish" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,enum=leaky_relu,enum=swish,default=linear,description=Activation function (leaky_relu: slope 0.2 below 0; swish: x·sigmoid(x)); softmax only on the last layer"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias"`
}

// denseUnit is the dense kind. Its weights are a kernel [in, units] and a bias [1, units] (float32,
// row-major), where in is the length of the input vector.
type denseUnit struct{}

func (denseUnit) kind() LayerKind { return KindDense }

func (denseUnit) width(body any) (string, Expr) { return "units", body.(*Dense).Units }

func (denseUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	d := body.(*Dense)
	rl.Width = d.Units
	rl.Activation = orDefault(d.Activation, "linear")
	if d.UseBias != nil {
		rl.UseBias = *d.UseBias
	}
	w.require(d.Units.IsZero(), "units", "n")
	if w.structure && !w.vector {
		w.add("add \"- flatten: {}\" before it", "dense needs a vector input, but %s is %s", w.prev, imageSize(w.h, w.w, w.haveShape))
	}
	w.vector = true
	width := d.Units.Poly().absSum()
	if w.structure && w.haveShape {
		w.checkSize(w.bound*width+width, w.bound*width)
	}
	w.bound = width
	w.c = d.Units.Poly()
}

func (denseUnit) count(l ResolvedLayer) (params, macs Poly) {
	units := l.Width.Poly()
	params = l.InC.Mul(units)
	if l.UseBias {
		params = params.Add(units)
	}
	return params, l.InC.Mul(units)
}

func (denseUnit) weights(l ResolvedLayer) []WeightShape {
	units := l.Width.Poly()
	ws := []WeightShape{{Name: "kernel", Shape: []Poly{l.InC, units}, FanIn: l.InC, FanOut: units}}
	if l.UseBias {
		ws = append(ws, WeightShape{Name: "bias", Shape: []Poly{Const(1), units}})
	}
	return ws
}
