package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LayerKind names a layer type as written in YAML.
type LayerKind string

// The layer kinds.
const (
	KindDense     LayerKind = "dense"
	KindConv2D    LayerKind = "conv2d"
	KindMaxPool2D LayerKind = "maxpool2d"
	KindAvgPool2D LayerKind = "avgpool2d"
	KindFlatten   LayerKind = "flatten"
	KindDropout   LayerKind = "dropout"
)

// LayerKinds lists every layer kind in documentation order.
var LayerKinds = []LayerKind{KindDense, KindConv2D, KindMaxPool2D, KindAvgPool2D, KindFlatten, KindDropout}

// Activations lists the activation functions a dense or conv2d layer may use.
var Activations = []string{"relu", "sigmoid", "tanh", "softmax", "linear"}

// Layer is one entry of a model's layer list, written as a one-key mapping from the kind to its
// settings: `- conv2d: {filters: 2n, kernel: 3, activation: relu}`. Exactly one of the pointers
// is set, the one that Kind names.
type Layer struct {
	Kind      LayerKind `yaml:"-"`
	Dense     *Dense    `yaml:"dense"`
	Conv2D    *Conv2D   `yaml:"conv2d"`
	MaxPool2D *Pool     `yaml:"maxpool2d"`
	AvgPool2D *Pool     `yaml:"avgpool2d"`
	Flatten   *Flatten  `yaml:"flatten"`
	Dropout   *Dropout  `yaml:"dropout"`
}

// Dense is a fully connected layer: Units outputs, each the activation of a weighted sum of every
// input plus a bias.
type Dense struct {
	Name       string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (dense_1)"`
	Units      Expr   `yaml:"units" jsonschema:"required,description=Number of outputs: an integer or an expression in the sweep variables"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,default=linear,description=Activation function; softmax only on the last layer"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias"`
}

// Conv2D is a 2-D convolution over HWC images with Filters output channels.
type Conv2D struct {
	Name       string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (conv2d_1)"`
	Filters    Expr   `yaml:"filters" jsonschema:"required,description=Number of output channels: an integer or an expression in the sweep variables"`
	Kernel     Pair   `yaml:"kernel" jsonschema:"required,description=Kernel size: 3 or [height\\, width]"`
	Stride     *Pair  `yaml:"stride" jsonschema:"description=Default 1"`
	Padding    string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,default=linear,description=Activation function; softmax only on the last layer"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true,description=Whether the layer adds a bias"`
}

// Pool is a max or average pooling layer over Pool-sized windows; Stride defaults to Pool.
type Pool struct {
	Name    string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (maxpool2d_1)"`
	Pool    Pair   `yaml:"pool" jsonschema:"required,description=Window size: 2 or [height\\, width]"`
	Stride  *Pair  `yaml:"stride" jsonschema:"description=Default: the pool size"`
	Padding string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
}

// Flatten turns an H×W×C input into a vector of H·W·C values (HWC order).
type Flatten struct {
	Name string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (flatten_1)"`
}

// Dropout zeroes each input with probability Rate while training and passes inputs through
// unchanged when evaluating (inverted dropout, as Keras).
type Dropout struct {
	Name string  `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (dropout_1)"`
	Rate float64 `yaml:"rate" validate:"gt=0,lt=1" jsonschema:"required,exclusiveMinimum=0,exclusiveMaximum=1,description=Fraction of inputs zeroed while training"`
}

// body returns the layer's settings struct and its reflect value.
func (l *Layer) body() reflect.Value {
	switch l.Kind {
	case KindDense:
		return reflect.ValueOf(l.Dense)
	case KindConv2D:
		return reflect.ValueOf(l.Conv2D)
	case KindMaxPool2D:
		return reflect.ValueOf(l.MaxPool2D)
	case KindAvgPool2D:
		return reflect.ValueOf(l.AvgPool2D)
	case KindFlatten:
		return reflect.ValueOf(l.Flatten)
	case KindDropout:
		return reflect.ValueOf(l.Dropout)
	}
	return reflect.Value{}
}

// UserName returns the name the user gave the layer, or "".
func (l *Layer) UserName() string {
	if b := l.body(); b.IsValid() && !b.IsNil() {
		return b.Elem().FieldByName("Name").String()
	}
	return ""
}

// PoolSettings returns the settings of a pooling layer, or nil for other kinds.
func (l *Layer) PoolSettings() *Pool {
	if l.Kind == KindMaxPool2D {
		return l.MaxPool2D
	}
	if l.Kind == KindAvgPool2D {
		return l.AvgPool2D
	}
	return nil
}

func (l *Layer) decodeNode(d *decoder, n *yaml.Node, p Path) {
	const example = `write "- conv2d: {filters: n, kernel: 3}" (kinds: dense, conv2d, maxpool2d, avgpool2d, flatten, dropout)`
	if n.Kind != yaml.MappingNode || len(n.Content) < 2 {
		d.errorf(n, p, example, "expected a layer, a one-key mapping from its kind to its settings, found %s", describe(n))
		return
	}
	k, body := resolve(n.Content[0]), n.Content[1]
	name, ok := d.keyName(k, p)
	if !ok {
		d.bad[p] = true
		return
	}
	if len(n.Content) > 2 {
		k2 := resolve(n.Content[2])
		d.errorf(k2, p, "indent the settings under the kind, or start a new list item with \"-\"",
			"a layer has one key, its kind (%s); found a second key %q", name, k2.Value)
		return
	}
	l.Kind = LayerKind(name)
	bp := p.Child(name)
	var target any
	switch l.Kind {
	case KindDense:
		l.Dense = &Dense{}
		target = l.Dense
	case KindConv2D:
		l.Conv2D = &Conv2D{}
		target = l.Conv2D
	case KindMaxPool2D:
		l.MaxPool2D = &Pool{}
		target = l.MaxPool2D
	case KindAvgPool2D:
		l.AvgPool2D = &Pool{}
		target = l.AvgPool2D
	case KindFlatten:
		l.Flatten = &Flatten{}
		target = l.Flatten
	case KindDropout:
		l.Dropout = &Dropout{}
		target = l.Dropout
	default:
		kinds := make([]string, len(LayerKinds))
		for i, k := range LayerKinds {
			kinds[i] = string(k)
		}
		fix := "layer kinds: " + strings.Join(kinds, ", ")
		if s := suggest(name, kinds); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		d.errorf(k, p, fix, "unknown layer kind %q", name)
		l.Kind = ""
		return
	}
	// Errors about the layer as a whole point at its kind.
	d.pos[bp] = d.at(k)
	d.decode(body, reflect.ValueOf(target).Elem(), bp)
}

// Pair is a size given as one integer for both dimensions (3) or as [height, width] ([3, 5]).
type Pair struct {
	H, W int
}

// String prints the pair as "3×3".
func (q Pair) String() string { return strconv.Itoa(q.H) + "×" + strconv.Itoa(q.W) }

// IsZero reports whether the pair was not written.
func (q Pair) IsZero() bool { return q.H == 0 && q.W == 0 }

// maxSize bounds kernel, pool and stride sizes.
const maxSize = 1 << 12

func (q *Pair) decodeNode(d *decoder, n *yaml.Node, p Path) {
	size := func(c *yaml.Node, p Path) (int, bool) {
		var v int64
		if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&v) != nil {
			d.errorf(c, p, "write a whole number such as 3", "expected an integer size, found %s", describe(c))
			return 0, false
		}
		if v < 1 || v > maxSize {
			d.errorf(c, p, fmt.Sprintf("use a size from 1 to %d", maxSize), "size %d is out of range", v)
			return 0, false
		}
		return int(v), true
	}
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		if v, ok := size(n, p); ok {
			q.H, q.W = v, v
		}
		return
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2:
		var hw [2]int
		ok := true
		for i, c := range n.Content {
			c = d.follow(c, p.Index(i))
			if c == nil {
				return
			}
			d.pos[p.Index(i)] = d.at(c)
			var fits bool
			if hw[i], fits = size(c, p.Index(i)); !fits {
				ok = false
			}
		}
		if !ok {
			d.bad[p] = true
			return
		}
		q.H, q.W = hw[0], hw[1]
		return
	}
	d.errorf(n, p, "write one integer (3) or [height, width] ([3, 5])", "expected a size, found %s", describeSize(n))
}

// describeSize is describe with the length of a list, which is what is wrong with [3] or [3, 3, 1].
func describeSize(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 1 {
		return "a list of 1 value"
	}
	if n.Kind == yaml.SequenceNode {
		return fmt.Sprintf("a list of %d values", len(n.Content))
	}
	return describe(n)
}

func (e *Expr) decodeNode(d *decoder, n *yaml.Node, p Path) {
	const fix = `widths use integers, sweep variables, + - * and parentheses, e.g. "2n" or "4n+1"`
	if n.Kind != yaml.ScalarNode || isNull(n) || n.Tag == "!!bool" || n.Tag == "!!float" {
		d.errorf(n, p, `write an integer (10) or an expression in the sweep variables ("2n", "4n+1")`,
			"expected a width, found %s", describe(n))
		return
	}
	x, err := ParseExpr(n.Value)
	if err != nil {
		pos, problem, f := d.at(n), err.Error(), fix
		if ee, ok := err.(*ExprError); ok {
			pos = d.offsetPos(n, ee.Offset)
			if ee.Fix != "" {
				f = ee.Fix
			}
		}
		d.errorAt(pos, p, f, "width %q: %s", n.Value, problem)
		return
	}
	*e = x
}
