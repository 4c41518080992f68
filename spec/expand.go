package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Shape is an image shape: height, width and channels (HWC).
type Shape struct {
	H, W, C int
}

// String prints the shape as "28×28×1".
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.H, s.W, s.C) }

// VarValue is one sweep variable's value at a point.
type VarValue struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// Point is one combination of sweep values, in the order of the model's variables.
type Point []VarValue

// Map returns the point as variable → value.
func (p Point) Map() map[string]int64 {
	m := make(map[string]int64, len(p))
	for _, v := range p {
		m[v.Name] = v.Value
	}
	return m
}

// String prints the point as "n=2" or "n=2, m=4"; a point without variables prints as "-".
func (p Point) String() string {
	if len(p) == 0 {
		return "-"
	}
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = v.Name + "=" + strconv.FormatInt(v.Value, 10)
	}
	return strings.Join(s, ", ")
}

// ResolvedLayer is a layer with its name given and every default applied.
type ResolvedLayer struct {
	Name string
	Kind LayerKind
	Path Path // where the layer is written, e.g. "models[1].layers[3].conv2d"
	// Units (dense) or Filters (conv2d) is the layer's width; zero for other kinds.
	Units, Filters Expr
	// Window is the kernel (conv2d) or pool size (pooling); Stride defaults to 1 (conv2d) or the
	// pool size (pooling).
	Window, Stride Pair
	Padding        string // "valid" or "same"; pooling and conv2d only
	Activation     string // "relu", "sigmoid", "tanh", "softmax" or "linear"
	UseBias        bool
	Rate           float64 // dropout
	// In and Out are the spatial size of the layer's input and output (Out equals In for dropout).
	// Once the data is a vector (after flatten or dense) they are zero and Vector is true.
	InH, InW, OutH, OutW int
	Vector               bool
}

// ResolvedModel is a model ready to count, build and train: its layers resolved, its sweep
// expanded into points, its training settings complete.
type ResolvedModel struct {
	Name    string
	Path    Path  // "model" or "models[i]"
	Input   Shape // HWC
	Classes int
	Layers  []ResolvedLayer
	Vars    []string // the sweep variables the widths use, in sweep order
	Points  []Point  // in sweep order, first variable outermost
	Train   Training
}

// Expand resolves every model of a valid spec and expands its sweep into points. It returns the
// validation errors instead when the spec is not valid.
func Expand(s *Spec, data *DataInfo) ([]ResolvedModel, ErrorList) {
	if errs := Validate(s, data); len(errs) > 0 {
		return nil, errs
	}
	var out []ResolvedModel
	for _, e := range s.modelEntries() {
		m, errs := s.resolveModel(e.m, e.path, data)
		if len(errs) > 0 {
			return nil, errs
		}
		out = append(out, m)
	}
	return out, nil
}

// Limits that keep every count within int64 and every sweep within reason.
const (
	maxPoints = 100000
	maxWidth  = 1 << 24
	maxInput  = 1 << 16
)

// resolveModel applies defaults, checks the semantic rules and expands the sweep of one model.
func (s *Spec) resolveModel(m *Model, mp Path, data *DataInfo) (ResolvedModel, ErrorList) {
	var errs ErrorList
	add := func(e *Error) { errs = append(errs, e) }
	r := ResolvedModel{Name: m.Name, Path: mp}
	if r.Name == "" && mp == "model" {
		r.Name = s.Name
	}
	if r.Name == "" {
		add(s.errorAt(mp, "add name: to the model, e.g. name: cnn", "the model has no name"))
	} else if !modelName.MatchString(r.Name) {
		p := mp.Child("name")
		if m.Name == "" {
			p = "name"
		}
		add(s.errorAt(p, "use letters, digits, '.', '_' and '-', starting with a letter or digit", "%q is not a valid model name", r.Name))
	}

	// Input shape and classes.
	haveShape := true
	switch {
	case len(m.Input) == 3:
		r.Input = Shape{m.Input[0], m.Input[1], m.Input[2]}
		for i, v := range m.Input {
			if v > maxInput {
				add(s.errorAt(mp.Child("input").Index(i), "", "input size %d is larger than %d", v, maxInput))
				haveShape = false
			}
		}
		if data != nil && r.Input.H*r.Input.W*r.Input.C != data.H*data.W*data.C {
			add(s.errorAt(mp.Child("input"), fmt.Sprintf("remove input: or give a shape of %d values", data.H*data.W*data.C),
				"input %s does not match the dataset's %s images", r.Input, Shape{data.H, data.W, data.C}))
		}
	case data != nil:
		r.Input = Shape{data.H, data.W, data.C}
	default:
		haveShape = false
	}
	if len(m.Input) != 0 && len(m.Input) != 3 {
		haveShape = false // the field rules report it
	}
	if data != nil {
		r.Classes = data.Classes
	}

	// Training settings: top-level defaults, overridden key by key.
	r.Train = s.Train.Override(m.Train).Resolve()
	inherited := ""
	if s.Train.Optimizer != nil {
		inherited = s.Train.Optimizer.Name
	}
	errs = append(errs, s.checkOptimizer(m.Train.Optimizer, mp.Child("train").Child("optimizer"), inherited)...)

	// Sweep: which variables do the widths use?
	used := map[string]bool{}
	for _, l := range m.Layers {
		for _, w := range []Expr{widthOf(l)} {
			for _, v := range w.Poly().Vars() {
				used[v] = true
			}
		}
	}
	sweep := s.Sweep.Override(m.Sweep)
	var known []string
	for _, v := range sweep.Vars {
		known = append(known, v.Name)
	}
	for _, v := range m.Sweep.Vars {
		if !used[v.Name] {
			add(s.errorAt(mp.Child("sweep").Child(v.Name), "use it in a width (units: 2"+v.Name+") or remove it",
				"sweep variable %q is not used by any layer of %s", v.Name, r.Name))
		}
	}
	for _, v := range sweep.Vars {
		if used[v.Name] {
			r.Vars = append(r.Vars, v.Name)
		}
	}
	var values [][]int64
	sweepOK := true
	for _, name := range r.Vars {
		vals, _ := sweep.Lookup(name)
		p := mp.Child("sweep").Child(name)
		if _, own := m.Sweep.Lookup(name); !own {
			p = Path("sweep").Child(name)
		}
		list, err := vals.Expand()
		switch {
		case err != nil:
			add(s.errorAt(p, "use a larger step or factor", "%v", err))
			sweepOK = false
			continue
		case len(list) == 0:
			add(s.errorAt(p, "give at least one value, e.g. ["+name+": 8, 16, 32]", "the sweep of %q is empty", name))
			sweepOK = false
			continue
		}
		seen := map[int64]int{}
		for i, x := range list {
			if j, dup := seen[x]; dup {
				ip := p
				if !vals.IsRange {
					ip = p.Index(i)
				}
				add(s.errorAt(ip, "remove the repeated value", "%s=%d appears twice in the sweep (positions %d and %d)", name, x, j+1, i+1))
				sweepOK = false
			}
			seen[x] = i
		}
		values = append(values, list)
	}
	if sweepOK {
		total := 1
		for _, v := range values {
			total *= len(v)
			if total > maxPoints {
				add(s.errorAt(mp, "sweep fewer values", "the sweep has more than %d points", maxPoints))
				sweepOK = false
				break
			}
		}
	}
	if sweepOK {
		r.Points = cartesian(r.Vars, values)
	}

	// Layers.
	if len(m.Layers) == 0 {
		if s.pos[mp] != (Pos{}) || mp == "model" {
			add(s.errorAt(mp.Child("layers"), "add layers: [- dense: {units: 10, activation: softmax}]", "the model has no layers"))
		}
		return r, errs
	}
	counts := map[LayerKind]int{}
	names := map[string]Path{}
	h, w, vector := r.Input.H, r.Input.W, false
	prev := "the input"
	for i := range m.Layers {
		l := &m.Layers[i]
		if l.Kind == "" {
			continue // reported by Parse
		}
		counts[l.Kind]++
		lp := mp.Child("layers").Index(i).Child(string(l.Kind))
		rl := ResolvedLayer{Kind: l.Kind, Path: lp, Name: l.UserName(), Activation: "linear", UseBias: true}
		if rl.Name == "" {
			rl.Name = fmt.Sprintf("%s_%d", l.Kind, counts[l.Kind])
		}
		if p, dup := names[rl.Name]; dup {
			add(s.errorAt(lp.Child("name"), "give each layer its own name", "layer name %q is already used by %s", rl.Name, p))
		}
		names[rl.Name] = lp
		rl.InH, rl.InW = h, w
		switch l.Kind {
		case KindDense:
			d := l.Dense
			rl.Units = d.Units
			rl.Activation = orDefault(d.Activation, "linear")
			if d.UseBias != nil {
				rl.UseBias = *d.UseBias
			}
			if d.Units.IsZero() {
				add(s.errorAt(lp, "add units:, e.g. units: n", "dense needs units:"))
			}
			if !vector && haveShape {
				add(s.errorAt(lp, "add \"- flatten: {}\" before it", "dense needs a vector input, but %s is a %d×%d image", prev, h, w))
			}
			vector = true
		case KindConv2D:
			c := l.Conv2D
			rl.Filters, rl.Window, rl.Stride = c.Filters, c.Kernel, Pair{1, 1}
			rl.Padding = orDefault(c.Padding, "valid")
			rl.Activation = orDefault(c.Activation, "linear")
			if c.Stride != nil {
				rl.Stride = *c.Stride
			}
			if c.UseBias != nil {
				rl.UseBias = *c.UseBias
			}
			if c.Filters.IsZero() {
				add(s.errorAt(lp, "add filters:, e.g. filters: n", "conv2d needs filters:"))
			}
			if c.Kernel.IsZero() {
				add(s.errorAt(lp, "add kernel:, e.g. kernel: 3", "conv2d needs kernel:"))
			}
		case KindMaxPool2D, KindAvgPool2D:
			pl := l.PoolSettings()
			rl.Window, rl.Stride, rl.Padding = pl.Pool, pl.Pool, orDefault(pl.Padding, "valid")
			if pl.Stride != nil {
				rl.Stride = *pl.Stride
			}
			if pl.Pool.IsZero() {
				add(s.errorAt(lp, "add pool:, e.g. pool: 2", "%s needs pool:", l.Kind))
			}
		case KindFlatten:
			if vector {
				add(s.errorAt(lp, "remove it", "flatten needs an image input, but %s is already a vector", prev))
			}
			vector = true
		case KindDropout:
			rl.Rate = l.Dropout.Rate
		}
		if (l.Kind == KindConv2D || l.Kind == KindMaxPool2D || l.Kind == KindAvgPool2D) && !rl.Window.IsZero() {
			switch {
			case vector:
				add(s.errorAt(lp, "move it before the flatten, or drop it", "%s needs an image input, but %s is a vector", l.Kind, prev))
			case haveShape:
				oh, ow := OutputSize(h, rl.Window.H, rl.Stride.H, rl.Padding), OutputSize(w, rl.Window.W, rl.Stride.W, rl.Padding)
				if oh < 1 || ow < 1 {
					what := "kernel"
					fix := "use padding: same or drop a pooling layer"
					if l.Kind != KindConv2D {
						what = "pool"
						fix = "use padding: same, a smaller pool, or drop a layer before it"
					}
					add(s.errorAt(lp, fix, "the %s %s does not fit its %d×%d input (after %s)", rl.Window, what, h, w, prev))
				} else {
					h, w = oh, ow
				}
			}
		}
		if vector {
			h, w = 0, 0
		}
		rl.OutH, rl.OutW, rl.Vector = h, w, vector
		if rl.Activation == "softmax" && i != len(m.Layers)-1 {
			add(s.errorAt(lp.Child("activation"), "use relu, sigmoid, tanh or linear; softmax belongs to the last layer", "softmax is only supported on the last layer"))
		}
		prev = rl.Name
		r.Layers = append(r.Layers, rl)
		errs = append(errs, s.checkWidth(rl, widthOf(*l), known, r.Points)...)
	}

	// The classifier.
	last := m.Layers[len(m.Layers)-1]
	lp := mp.Child("layers").Index(len(m.Layers) - 1)
	if last.Kind != "" {
		lp = lp.Child(string(last.Kind))
	}
	switch {
	case last.Kind != KindDense && last.Kind != "":
		add(s.errorAt(lp, fmt.Sprintf("end with \"- dense: {units: %d, activation: softmax}\"", max(r.Classes, 2)),
			"the last layer must be a dense classifier, found %s", last.Kind))
	case last.Kind == KindDense && r.Classes > 0:
		u := last.Dense.Units.Poly()
		if c, ok := u.Eval(nil); !ok || len(u.Vars()) > 0 || c != int64(r.Classes) {
			add(s.errorAt(lp.Child("units"), fmt.Sprintf("use units: %d", r.Classes),
				"the last layer has %s units but the dataset has %d classes", last.Dense.Units, r.Classes))
		}
		if a := orDefault(last.Dense.Activation, "linear"); a != "softmax" && a != "linear" {
			add(s.errorAt(lp.Child("activation"), "use activation: softmax (or linear for logits)",
				"the last layer's activation is %s, but the loss is softmax cross-entropy", a))
		}
	}
	return r, errs
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func widthOf(l Layer) Expr {
	switch l.Kind {
	case KindDense:
		return l.Dense.Units
	case KindConv2D:
		return l.Conv2D.Filters
	}
	return Expr{}
}

// checkWidth reports unknown variables in a width and widths below 1 or too large at any point.
func (s *Spec) checkWidth(l ResolvedLayer, w Expr, known []string, points []Point) ErrorList {
	if w.IsZero() {
		return nil
	}
	field := "units"
	if l.Kind == KindConv2D {
		field = "filters"
	}
	p := l.Path.Child(field)
	var errs ErrorList
	for _, v := range w.Poly().Vars() {
		if !slices.Contains(known, v) {
			fix := fmt.Sprintf("this model has no sweep variables; add sweep: {%s: [8, 16, 32]}", v)
			if len(known) > 0 {
				fix = fmt.Sprintf("widths use sweep variables (%s), e.g. \"2%s\"", strings.Join(known, ", "), known[0])
				if best := suggest(v, known); best != "" {
					fix = fmt.Sprintf("did you mean %q? widths use sweep variables (%s)", best, strings.Join(known, ", "))
				}
			}
			errs = append(errs, s.errorAt(p, fix, "unknown symbol %q", v))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, pt := range points {
		v, ok := w.Poly().Eval(pt.Map())
		switch {
		case !ok || v > maxWidth:
			return append(errs, s.errorAt(p, fmt.Sprintf("keep widths at most %d", maxWidth), "%s %s is too large at %s", field, w, pt))
		case v < 1:
			return append(errs, s.errorAt(p, "every width must be at least 1: change the expression or the sweep", "%s %s is %d at %s", field, w, v, pt))
		}
	}
	return nil
}

// OutputSize returns the output length of a window of size k moved by stride over an input of
// length in: floor((in-k)/stride)+1 for valid padding, ceil(in/stride) for same padding (Keras's
// rules). The result is below 1 when the window does not fit.
func OutputSize(in, k, stride int, padding string) int {
	if stride < 1 {
		return 0
	}
	if padding == "same" {
		return (in + stride - 1) / stride
	}
	if in < k {
		return 0
	}
	return (in-k)/stride + 1
}

// cartesian lists every combination of values, the first variable outermost.
func cartesian(names []string, values [][]int64) []Point {
	out := []Point{{}}
	for i, name := range names {
		var next []Point
		for _, p := range out {
			for _, v := range values[i] {
				q := append(append(Point(nil), p...), VarValue{name, v})
				next = append(next, q)
			}
		}
		out = next
	}
	return out
}
