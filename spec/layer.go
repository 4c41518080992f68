package spec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LayerKind names a layer type as written in YAML.
type LayerKind string

// LayerKinds lists every layer kind in documentation order.
var LayerKinds = func() []LayerKind {
	kinds := make([]LayerKind, len(layerUnits))
	for i, u := range layerUnits {
		kinds[i] = u.kind()
	}
	return kinds
}()

// layerUnits are the layer kinds, in documentation order; each is one file (layer_dense.go,
// layer_conv2d.go, layer_pool.go, layer_flatten.go, layer_dropout.go) holding its settings, their
// defaults and checks, its output shape and its closed forms. A new kind is a new file, an entry
// here and its settings' field in Layer; its graph is a function of package ops.
var layerUnits = []layerUnit{denseUnit{}, conv2dUnit{}, poolUnit{KindMaxPool2D}, poolUnit{KindAvgPool2D}, flattenUnit{}, dropoutUnit{},
	depthwiseConv2DUnit{}, separableConv2DUnit{},
	activationUnit{}, globalPoolUnit{KindGlobalAvgPool2D}, globalPoolUnit{KindGlobalMaxPool2D},
	residualUnit{}, batchNormUnit{}}

// unitOf returns the unit of kind k, or nil.
func unitOf(k LayerKind) layerUnit {
	for _, u := range layerUnits {
		if u.kind() == k {
			return u
		}
	}
	return nil
}

// layerUnit is everything spec knows of one layer kind; package ops adds its graph.
type layerUnit interface {
	// kind returns the kind's YAML name.
	kind() LayerKind
	// resolve copies the layer's settings (the kind's *Dense, *Conv2D, … that Layer holds) into
	// rl with their defaults, reports what is missing or misplaced through w, and moves w's shape
	// through the layer.
	resolve(w *layerWalk, body any, rl *ResolvedLayer)
	// width returns the YAML key of the layer's width (units, filters) and its value, or "".
	width(body any) (field string, e Expr)
	// count returns the layer's parameters (trainable or not: the sizes of its weights) and
	// forward multiply-adds per example.
	count(l ResolvedLayer) (params, macs Poly)
	// weights returns the layer's tensors, in the order the graph binds them; those marked
	// NonTrainable are not trained by the optimizer.
	weights(l ResolvedLayer) []WeightShape
}

// Activations lists the activation functions a dense or conv2d layer may use.
// leaky_relu has Keras 3's slope of 0.2 below 0 (keras.activations.leaky_relu); swish is
// x·sigmoid(x) (Keras's "swish", also "silu").
var Activations = []string{"relu", "sigmoid", "tanh", "softmax", "linear", "leaky_relu", "swish"}

// LeakySlope is leaky_relu's slope below 0: 0.2, the default of Keras 3's "leaky_relu" activation
// (keras.activations.leaky_relu; Keras's LeakyReLU layer defaults to 0.3 and PyTorch to 0.01).
// leaky_relu(x) = x for x > 0, LeakySlope·x otherwise.
const LeakySlope = 0.2

// Layer is one entry of a model's layer list, written as a one-key mapping from the kind to its
// settings: `- conv2d: {filters: 2n, kernel: 3, activation: relu}`. Exactly one of the pointers
// is set, the one that Kind names (the field whose yaml tag is the kind).
type Layer struct {
	Kind      LayerKind `yaml:"-"`
	Dense     *Dense    `yaml:"dense"`
	Conv2D    *Conv2D   `yaml:"conv2d"`
	MaxPool2D *Pool     `yaml:"maxpool2d"`
	AvgPool2D *Pool     `yaml:"avgpool2d"`
	Flatten   *Flatten  `yaml:"flatten"`
	Dropout   *Dropout  `yaml:"dropout"`

	DepthwiseConv2D *DepthwiseConv2D `yaml:"depthwise_conv2d"`
	SeparableConv2D *SeparableConv2D `yaml:"separable_conv2d"`
	Activation      *ActivationLayer `yaml:"activation"`
	GlobalAvgPool2D *GlobalPool      `yaml:"global_avgpool2d"`
	GlobalMaxPool2D *GlobalPool      `yaml:"global_maxpool2d"`
	Residual        *Residual        `yaml:"residual"`

	BatchNorm *BatchNorm `yaml:"batch_norm"`
}

// field returns the Layer's field that holds the settings of kind k, or the zero Value.
func (l *Layer) field(k LayerKind) reflect.Value {
	v := reflect.ValueOf(l).Elem()
	for i := range v.NumField() {
		if k != "" && v.Type().Field(i).Tag.Get("yaml") == string(k) {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// body returns the layer's settings struct pointer as a reflect value (invalid for no kind).
func (l *Layer) body() reflect.Value { return l.field(l.Kind) }

// UserName returns the name the user gave the layer, or "".
func (l *Layer) UserName() string {
	if b := l.body(); b.IsValid() && !b.IsNil() {
		return b.Elem().FieldByName("Name").String()
	}
	return ""
}

func (l *Layer) decodeNode(d *decoder, n *yaml.Node, p Path) {
	const example = `write "- conv2d: {filters: n, kernel: 3}" (kinds: dense, conv2d, maxpool2d, avgpool2d, flatten, dropout, activation, global_avgpool2d, global_maxpool2d, residual, batch_norm)`
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
	f := l.field(LayerKind(name))
	if unitOf(LayerKind(name)) == nil || !f.IsValid() {
		kinds := make([]string, len(LayerKinds))
		for i, k := range LayerKinds {
			kinds[i] = string(k)
		}
		fix := "layer kinds: " + strings.Join(kinds, ", ")
		if s := suggest(name, kinds); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		if slices.Contains(Activations, name) {
			fix = fmt.Sprintf("an activation on its own is written \"- activation: %s\"", name)
		}
		d.errorf(k, p, fix, "unknown layer kind %q", name)
		return
	}
	l.Kind = LayerKind(name)
	bp := p.Child(name)
	f.Set(reflect.New(f.Type().Elem()))
	// Errors about the layer as a whole point at its kind.
	d.pos[bp] = d.at(k)
	d.decode(body, f.Elem(), bp)
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
