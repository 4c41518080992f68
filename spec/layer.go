package spec

import (
	"fmt"
	"reflect"
	"strconv"

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
	Kind      LayerKind
	Dense     *Dense
	Conv2D    *Conv2D
	MaxPool2D *Pool
	AvgPool2D *Pool
	Flatten   *Flatten
	Dropout   *Dropout
}

// Dense is a fully connected layer: Units outputs, each the activation of a weighted sum of every
// input plus a bias.
type Dense struct {
	Name       string `yaml:"name" jsonschema:"description=Layer name; default <kind>_<k> as in Keras (dense_1)"`
	Units      Expr   `yaml:"units"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,default=linear"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true"`
}

// Conv2D is a 2-D convolution over HWC images with Filters output channels.
type Conv2D struct {
	Name       string `yaml:"name" jsonschema:"description=Layer name; default <kind>_<k> as in Keras (conv2d_1)"`
	Filters    Expr   `yaml:"filters"`
	Kernel     Pair   `yaml:"kernel"`
	Stride     *Pair  `yaml:"stride" jsonschema:"description=Default 1"`
	Padding    string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid"`
	Activation string `yaml:"activation" validate:"omitempty,oneof=relu sigmoid tanh softmax linear" jsonschema:"enum=relu,enum=sigmoid,enum=tanh,enum=softmax,enum=linear,default=linear"`
	UseBias    *bool  `yaml:"use_bias" jsonschema:"default=true"`
}

// Pool is a max or average pooling layer over Pool-sized windows; Stride defaults to Pool.
type Pool struct {
	Name    string `yaml:"name" jsonschema:"description=Layer name; default <kind>_<k> as in Keras (maxpool2d_1)"`
	Pool    Pair   `yaml:"pool"`
	Stride  *Pair  `yaml:"stride" jsonschema:"description=Default: the pool size"`
	Padding string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid"`
}

// Flatten turns an H×W×C input into a vector of H·W·C values (HWC order).
type Flatten struct {
	Name string `yaml:"name"`
}

// Dropout zeroes each input with probability Rate while training and passes inputs through
// unchanged when evaluating (inverted dropout, as Keras).
type Dropout struct {
	Name string  `yaml:"name"`
	Rate float64 `yaml:"rate" validate:"gt=0,lt=1" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1"`
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
	kinds := make([]string, len(LayerKinds))
	for i, k := range LayerKinds {
		kinds[i] = string(k)
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		d.errorf(n, p, `write "- conv2d: {filters: n, kernel: 3}" (kinds: dense, conv2d, maxpool2d, avgpool2d, flatten, dropout)`,
			"expected a layer, a one-key mapping from its kind to its settings, found %s", describe(n))
		return
	}
	if len(n.Content) > 2 {
		k := resolve(n.Content[2])
		d.errorf(k, p.Child(k.Value), "indent the settings under the kind, or start a new list item with \"-\"",
			"a layer has one key, its kind (%s); found a second key %q", n.Content[0].Value, k.Value)
		return
	}
	k, body := resolve(n.Content[0]), n.Content[1]
	l.Kind = LayerKind(k.Value)
	bp := p.Child(k.Value)
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
		fix := "layer kinds: dense, conv2d, maxpool2d, avgpool2d, flatten, dropout"
		if s := suggest(k.Value, kinds); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		d.errorf(k, p, fix, "unknown layer kind %q", k.Value)
		l.Kind = ""
		return
	}
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

func (q *Pair) decodeNode(d *decoder, n *yaml.Node, p Path) {
	var v int64
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Decode(&v) == nil:
		if v < 1 || v > 1<<20 {
			d.errorf(n, p, "use a size of at least 1", "size %d is out of range", v)
			return
		}
		q.H, q.W = int(v), int(v)
		return
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2:
		var hw [2]int64
		for i, c := range n.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&hw[i]) != nil {
				d.errorf(c, p.Index(i), "", "expected an integer, found %s", describe(c))
				return
			}
			if hw[i] < 1 || hw[i] > 1<<20 {
				d.errorf(c, p.Index(i), "use a size of at least 1", "size %d is out of range", hw[i])
				return
			}
		}
		q.H, q.W = int(hw[0]), int(hw[1])
		return
	}
	d.errorf(n, p, "write one integer (3) or [height, width] ([3, 5])", "expected a size, found %s", describe(n))
}

func (e *Expr) decodeNode(d *decoder, n *yaml.Node, p Path) {
	if n.Kind != yaml.ScalarNode || isNull(n) || n.Tag == "!!bool" || n.Tag == "!!float" {
		d.errorf(n, p, `write an integer (10) or an expression in the sweep variables ("2n", "4n+1")`,
			"expected a width, found %s", describe(n))
		return
	}
	x, err := ParseExpr(n.Value)
	if err != nil {
		pos := d.at(n)
		if ee, ok := err.(*ExprError); ok && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			pos.Col += ee.Offset
		} else if ok && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			pos.Col += ee.Offset + 1
		}
		d.errs = append(d.errs, &Error{Pos: pos, Path: p, Problem: fmt.Sprintf("width %q: %v", n.Value, err),
			Fix: `widths use integers, sweep variables, + - * and parentheses, e.g. "2n" or "4n+1"`})
		return
	}
	*e = x
}
