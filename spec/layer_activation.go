package spec

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// KindActivation applies an activation function on its own.
const KindActivation LayerKind = "activation"

// ActivationLayer applies an activation function to every value of its input, whose shape it
// keeps (Keras's Activation layer), as after a linear conv2d: conv2d → batch norm → activation.
// It is written `- activation: {activation: relu}` or, shorter, `- activation: relu`.
type ActivationLayer struct {
	Name       string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (activation_1)"`
	Activation string `yaml:"activation" validate:"required,oneof=relu sigmoid tanh softmax linear leaky_relu swish" jsonschema:"required,enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,enum=leaky_relu,enum=swish,description=Activation function (leaky_relu: slope 0.2 below 0; swish: x·sigmoid(x))"`
}

// decodeNode reads the shorthand `- activation: relu` as {activation: relu}, and a mapping as
// every struct is read.
func (a *ActivationLayer) decodeNode(d *decoder, n *yaml.Node, p Path) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		ap := p.Child("activation")
		d.pos[ap] = d.at(n)
		d.decodeScalar(n, reflect.ValueOf(&a.Activation).Elem(), ap)
		return
	}
	d.decodeStruct(n, reflect.ValueOf(a).Elem(), p)
}

// activationUnit is the activation kind: no weights, no multiply-adds, its input's shape.
type activationUnit struct{}

func (activationUnit) kind() LayerKind { return KindActivation }

func (activationUnit) width(any) (string, Expr) { return "", Expr{} }

func (activationUnit) resolve(_ *layerWalk, body any, rl *ResolvedLayer) {
	rl.Activation = orDefault(body.(*ActivationLayer).Activation, "linear")
}

func (activationUnit) count(ResolvedLayer) (params, macs Poly) { return Poly{}, Poly{} }

func (activationUnit) weights(ResolvedLayer) []WeightShape { return nil }
