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
	// Width is the layer's units (dense) or filters (conv2d); zero for other kinds.
	Width Expr
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
	// InC and OutC are the channels of the layer's input and output, or the vector's length once
	// the data is a vector, as polynomials in the sweep variables.
	InC, OutC Poly
	// Settings holds what a kind resolves beyond the fields above, for its graph to read (nil for
	// every kind but residual's ResidualSettings). It enters the result key as JSON, so it must
	// marshal deterministically.
	Settings any
	// Layers are a residual block's inner layers, resolved (nil for every other kind).
	Layers []ResolvedLayer
}

// Params returns the layer's parameters (weights and biases) in closed form, the non-trainable
// ones (a batch_norm's moving statistics) included, as Keras's count_params.
func (l ResolvedLayer) Params() Poly { p, _ := unitOf(l.Kind).count(l); return p }

// NonTrainable returns the layer's non-trainable parameters in closed form (those of its Weights
// marked NonTrainable): Params less NonTrainable is what an optimizer trains.
func (l ResolvedLayer) NonTrainable() Poly {
	var p Poly
	for _, w := range l.Weights() {
		if w.NonTrainable {
			size := Const(1)
			for _, d := range w.Shape {
				size = size.Mul(d)
			}
			p = p.Add(size)
		}
	}
	return p
}

// MACs returns the layer's forward multiply-adds per example in closed form (pooling, flatten,
// dropout and activations count 0).
func (l ResolvedLayer) MACs() Poly { _, m := unitOf(l.Kind).count(l); return m }

// Activations returns the layer's output values per example in closed form.
//
// A residual block's count adds its inner layers' and its projection's to its own output.
func (l ResolvedLayer) Activations() Poly {
	own := Const(int64(l.OutH * l.OutW)).Mul(l.OutC)
	if l.Vector {
		own = l.OutC
	}
	for _, il := range l.Layers {
		own = own.Add(il.Activations())
	}
	if p, ok := l.Projection(); ok {
		own = own.Add(p.Activations())
	}
	return own
}

// Weights returns the layer's tensors, trainable or not, in the order the graph binds them.
func (l ResolvedLayer) Weights() []WeightShape { return unitOf(l.Kind).weights(l) }

// WeightShape is one tensor of a layer: float32, row-major, Shape as polynomials in the sweep
// variables. Kernels are drawn Glorot-uniform with limit √(6/(FanIn+FanOut)); a tensor with a
// zero FanIn (a bias) starts at InitValue in every element (0 unless set, as for a bias).
type WeightShape struct {
	Name          string // "kernel" or "bias"; the tensor is named "<layer>/<Name>"
	Shape         []Poly
	FanIn, FanOut Poly
	InitValue     float32
	// NonTrainable marks a tensor the optimizer leaves alone (a batch_norm's moving mean and
	// variance, which training updates by their own rule); the zero value is a trained weight.
	NonTrainable bool
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
	// Search is "grid" (train every point) or "bisect"; Repeats is the number of seeds per point
	// (Train.Seed, Train.Seed+1, …).
	Search  string
	Repeats int
}

// Expand resolves every model of a valid spec and expands its sweep into points. When the spec is
// not valid it returns, instead, every error of its file: those Parse found and those of Validate,
// sorted.
func Expand(s *Spec, data *DataInfo) ([]ResolvedModel, ErrorList) {
	if s == nil {
		return nil, ErrorList{{Problem: "no spec to expand", Fix: "parse the file first"}}
	}
	models, verrs := s.resolve(data)
	if errs := append(append(ErrorList(nil), s.parseErrs...), verrs...); len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return models, nil
}

// Limits that keep every count within int64 and every sweep within reason.
const (
	maxPoints = 100000
	maxWidth  = 1 << 24
	maxInput  = 1 << 16
	// maxCoeffSum bounds the sum of the absolute coefficients of every closed form the builder
	// computes (channels, parameters, multiply-adds, activations), so that none overflows.
	maxCoeffSum = 1 << 62
)

// resolveModel applies defaults, checks the semantic rules and expands the sweep of one model:
// its name, input, training settings, sweep, layers (each by its kind's unit) and classifier.
func (s *Spec) resolveModel(m *Model, mp Path, data *DataInfo) (ResolvedModel, ErrorList) {
	r := ResolvedModel{Name: m.Name, Path: mp}
	if r.Name == "" && mp == "model" {
		r.Name = s.Name
	}
	errs := s.checkModelName(m, mp, r.Name)
	haveShape, ierrs := s.resolveInput(m, mp, data, &r)
	errs = append(errs, ierrs...)
	errs = append(errs, s.resolveTraining(m, mp, &r)...)
	known, serrs := s.resolveSweep(m, mp, &r)
	errs = append(errs, serrs...)
	if len(m.Layers) == 0 {
		if !s.rejected(mp.Child("layers")) {
			errs = append(errs, s.errorAt(mp.Child("layers"), "add layers:, e.g. layers: [{flatten: {}}, {dense: {units: 10, activation: softmax}}]", "the model has no layers"))
		}
		return r, errs
	}
	errs = append(errs, s.resolveLayers(m, mp, haveShape, known, &r)...)
	return r, append(errs, s.checkClassifier(m, mp, r.Classes)...)
}

// checkModelName reports a missing or malformed model name.
func (s *Spec) checkModelName(m *Model, mp Path, name string) ErrorList {
	switch {
	case name == "" && mp != "model" && !s.rejected(mp.Child("name")):
		return ErrorList{s.errorAt(mp, "add name: to the model, e.g. name: cnn", "the model has no name")}
	case m.Name != "" && !modelName.MatchString(m.Name):
		return ErrorList{s.errorAt(mp.Child("name"), nameFix, "%q is not a valid model name", m.Name)}
	}
	return nil
}

// resolveInput sets r's input shape (the model's input: or the dataset's) and classes. It
// reports whether the shape is known.
func (s *Spec) resolveInput(m *Model, mp Path, data *DataInfo, r *ResolvedModel) (bool, ErrorList) {
	var errs ErrorList
	haveShape := true
	switch {
	case len(m.Input) == 3:
		r.Input = Shape{m.Input[0], m.Input[1], m.Input[2]}
		for i, v := range m.Input {
			if v > maxInput {
				errs = append(errs, s.errorAt(mp.Child("input").Index(i), fmt.Sprintf("use sizes up to %d", maxInput), "input size %d is too large", v))
				haveShape = false
			}
			if v < 1 {
				haveShape = false // the field rules report it
			}
		}
		if haveShape && data != nil && r.Input.H*r.Input.W*r.Input.C != data.H*data.W*data.C {
			errs = append(errs, s.errorAt(mp.Child("input"), fmt.Sprintf("remove input: to use the dataset's shape, or give a shape of %d values", data.H*data.W*data.C),
				"input %s does not match the dataset's %s images", r.Input, Shape{data.H, data.W, data.C}))
		}
	case len(m.Input) == 0 && data != nil && !s.rejected(mp.Child("input")):
		r.Input = Shape{data.H, data.W, data.C}
	default:
		haveShape = false // no data, a rejected input, or one of the wrong length (the field rules report it)
	}
	if data != nil {
		r.Classes = data.Classes
	}
	return haveShape, errs
}

// resolveTraining sets r's training settings (top-level defaults, overridden key by key), search
// and repeats.
func (s *Spec) resolveTraining(m *Model, mp Path, r *ResolvedModel) ErrorList {
	var errs ErrorList
	r.Train = s.Train.Override(m.Train).Resolve()
	r.Search = orDefault(orDefault(m.Search, s.Search), "grid")
	r.Repeats = 1
	for _, rep := range []*int{s.Repeats, m.Repeats} {
		if rep != nil {
			r.Repeats = *rep
		}
	}
	if r.Train.EarlyStop != nil && r.Train.ValidationSplit == 0 {
		p := mp.Child("train").Child("early_stop")
		if m.Train.EarlyStop == nil {
			p = Path("train").Child("early_stop")
		}
		errs = append(errs, s.errorAt(p, "add validation_split: 0.1 to train:", "early stopping watches the validation set, but %s has no validation_split", r.Name))
	}
	inherited := ""
	if s.Train.Optimizer != nil {
		inherited = s.Train.Optimizer.Name
	}
	errs = append(errs, s.checkRecipe(&m.Train, mp.Child("train"))...)
	return append(errs, s.checkOptimizer(m.Train.Optimizer, mp.Child("train").Child("optimizer"), inherited)...)
}

// resolveSweep sets r's variables (those the widths use) and points. It returns the names of
// every variable of the model's sweep.
func (s *Spec) resolveSweep(m *Model, mp Path, r *ResolvedModel) ([]string, ErrorList) {
	var errs ErrorList
	used := usedVars(m)
	sweep := s.Sweep.Override(m.Sweep)
	var known []string
	for _, v := range sweep.Vars {
		known = append(known, v.Name)
	}
	if !s.rejectedWithin(mp.Child("layers")) && !hasUnknownVars(m, sweep) {
		for _, v := range m.Sweep.Vars {
			if !used[v.Name] {
				errs = append(errs, s.errorAt(mp.Child("sweep").Child(v.Name), fmt.Sprintf("use it in a width (units: 2%s) or remove it", v.Name),
					"sweep variable %q is not used by any layer of %s", v.Name, r.Name))
			}
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
		p := mp.Child("sweep").Child(name)
		if _, own := m.Sweep.Lookup(name); !own {
			p = Path("sweep").Child(name)
		}
		vals, _ := sweep.Lookup(name)
		list, verrs := s.expandValues(vals, name, p)
		errs = append(errs, verrs...)
		sweepOK = sweepOK && len(verrs) == 0
		values = append(values, list)
	}
	if sweepOK {
		total := 1
		for _, v := range values {
			total *= len(v)
			if total > maxPoints {
				p := Path("sweep")
				if len(m.Sweep.Vars) > 0 {
					p = mp.Child("sweep")
				}
				errs = append(errs, s.errorAt(p, "sweep fewer values", "the sweep has more than %d points", maxPoints))
				sweepOK = false
				break
			}
		}
	}
	if sweepOK {
		r.Points = cartesian(r.Vars, values)
	}
	return known, errs
}

// expandValues lists the values of variable name, written at p, and reports an empty or
// repeating sweep.
func (s *Spec) expandValues(vals Values, name string, p Path) ([]int64, ErrorList) {
	list, err := vals.Expand()
	switch {
	case err != nil:
		return nil, ErrorList{s.errorAt(p, "use a larger step or factor, or a smaller range", "%v", err)}
	case len(list) == 0:
		return nil, ErrorList{s.errorAt(p, fmt.Sprintf("give at least one value, e.g. %s: [8, 16, 32]", name), "the sweep of %s has no values", name)}
	}
	var errs ErrorList
	seen := map[int64]int{}
	for i, x := range list {
		if j, dup := seen[x]; dup {
			ip := p
			if !vals.IsRange {
				ip = p.Index(i)
			}
			errs = append(errs, s.errorAt(ip, "remove the repeated value", "%s=%d appears twice in the sweep (values %d and %d)", name, x, j+1, i+1))
		}
		seen[x] = i
	}
	return list, errs
}

// layerWalk carries a model's shape through its layers while they are resolved: each kind's
// unit moves it through its layer and reports through it.
type layerWalk struct {
	s    *Spec
	errs ErrorList
	lp   Path // the current layer's path, ending in its kind
	kind LayerKind
	// haveShape says the input shape is known; structure is false once a layer could not be
	// decoded or does not fit, and what follows is not checked for shape.
	haveShape, structure bool
	// vector says whether the data is a vector (after flatten or dense) rather than an image.
	vector bool
	prev   string // the previous layer's name, or "the input"
	h, w   int    // the image's size, zero once the data is a vector
	c      Poly   // channels, or the vector's length
	// bound is the sum of |coefficients| of the channel count, see maxCoeffSum.
	bound float64
	list  *layerList
}

// add reports a problem of the current layer.
func (w *layerWalk) add(fix, format string, args ...any) {
	w.errs = append(w.errs, w.s.errorAt(w.lp, fix, format, args...))
}

// require reports a missing required setting, unless Parse rejected what was written.
func (w *layerWalk) require(missing bool, field, example string) {
	if missing && !w.s.rejected(w.lp.Child(field)) {
		w.add(fmt.Sprintf("add %s:, e.g. %s: %s", field, field, example), "%s needs %s:", w.kind, field)
	}
}

// checkSize reports a layer whose closed forms could overflow int64; params and macs bound the
// sums of their absolute coefficients.
func (w *layerWalk) checkSize(params, macs float64) { w.s.checkSize(&w.errs, w.lp, params, macs) }

// slide checks a window layer (conv2d, pooling) against its input: an image, which its window
// fits. It returns the output size when the window fits an input of known shape.
func (w *layerWalk) slide(rl *ResolvedLayer, what, fix string) (oh, ow int, ok bool) {
	switch {
	case w.structure && w.vector:
		w.add("move it before the flatten, or drop it", "%s needs an image input, but %s is a vector", rl.Kind, w.prev)
		w.structure = false
	case rl.Window.IsZero() || rl.Stride.IsZero():
		w.structure = false
	case w.structure && w.haveShape:
		oh, ow = OutputSize(w.h, rl.Window.H, rl.Stride.H, rl.Padding), OutputSize(w.w, rl.Window.W, rl.Stride.W, rl.Padding)
		if oh >= 1 && ow >= 1 {
			return oh, ow, true
		}
		w.add(fix, "the %s %s does not fit its %d×%d input (after %s)", rl.Window, what, w.h, w.w, w.prev)
		w.structure = false // later sizes would follow from a wrong one
	}
	return 0, 0, false
}

// resolveLayers resolves m's layers into r, each through its kind's unit, and checks their
// names, their widths at every point and softmax's place.
func (s *Spec) resolveLayers(m *Model, mp Path, haveShape bool, known []string, r *ResolvedModel) ErrorList {
	w := &layerWalk{s: s, haveShape: haveShape, structure: true, prev: "the input",
		h: r.Input.H, w: r.Input.W, c: Const(int64(r.Input.C)), bound: float64(r.Input.C),
		list: &layerList{counts: map[LayerKind]int{}, names: map[string]Path{}, known: known, mp: mp}}
	r.Layers = w.resolveList(m.Layers, mp.Child("layers"), true)
	return append(w.errs, s.checkWidthsAt(w.list.widths, r.Points)...)
}

// layerList is what the layers of a model share while they are resolved, those inside residual
// blocks included: the count of each kind (for default names), the names taken, the widths to
// check at every point, the sweep's variables and the model's path.
type layerList struct {
	counts map[LayerKind]int
	names  map[string]Path
	widths []width
	known  []string
	mp     Path
}

// resolveList resolves the layers written at lp (a model's layers, or a residual block's) in
// order, moving w through them. outer says the list is the model's own, whose last layer may
// have softmax.
func (w *layerWalk) resolveList(layers []Layer, lp Path, outer bool) []ResolvedLayer {
	s, list := w.s, w.list
	var out []ResolvedLayer
	for i := range layers {
		l := &layers[i]
		if l.Kind == "" || l.body().IsNil() {
			w.structure = false // reported by Parse
			continue
		}
		u := unitOf(l.Kind)
		w.kind = l.Kind
		list.counts[l.Kind]++
		w.lp = lp.Index(i).Child(string(l.Kind))
		if s.rejectedWithin(w.lp) {
			w.structure = false
		}
		rl := ResolvedLayer{Kind: l.Kind, Path: w.lp, Name: l.UserName(), Activation: "linear", UseBias: true}
		if rl.Name == "" {
			rl.Name = fmt.Sprintf("%s_%d", l.Kind, list.counts[l.Kind])
		} else if !modelName.MatchString(rl.Name) {
			w.errs = append(w.errs, s.errorAt(w.lp.Child("name"), layerNameFix, "%q is not a valid layer name", rl.Name))
		}
		if p, dup := list.names[rl.Name]; dup {
			w.errs = append(w.errs, s.errorAt(w.lp.Child("name"), "give each layer its own name", "layer name %q is already used by %s", rl.Name, p))
		}
		list.names[rl.Name] = w.lp
		rl.InH, rl.InW, rl.InC = w.h, w.w, w.c
		u.resolve(w, l.body().Interface(), &rl)
		if w.vector {
			w.h, w.w = 0, 0
		}
		rl.OutH, rl.OutW, rl.Vector, rl.OutC = w.h, w.w, w.vector, w.c
		if rl.Activation == "softmax" && (!outer || i != len(layers)-1) {
			w.errs = append(w.errs, s.errorAt(w.lp.Child("activation"), "use relu, sigmoid, tanh or linear here", "softmax belongs to the last layer only"))
		}
		w.prev = rl.Name
		out = append(out, rl)
		field, e := u.width(l.body().Interface())
		wd, werrs := s.checkWidth(rl.Path.Child(field), field, e, list.known, list.mp)
		w.errs = append(w.errs, werrs...)
		if !wd.expr.IsZero() {
			list.widths = append(list.widths, wd)
		}
	}
	return out
}

// checkClassifier checks that m ends in a dense classifier of the dataset's classes whose
// activation suits the softmax cross-entropy loss.
func (s *Spec) checkClassifier(m *Model, mp Path, classes int) ErrorList {
	last := m.Layers[len(m.Layers)-1]
	lp := mp.Child("layers").Index(len(m.Layers) - 1)
	if last.Kind == "" {
		return nil
	}
	lp = lp.Child(string(last.Kind))
	if last.Kind != KindDense {
		return ErrorList{s.errorAt(lp, fmt.Sprintf("end with \"- dense: {units: %d, activation: softmax}\"", max(classes, 2)),
			"the last layer must be a dense classifier, found %s", last.Kind)}
	}
	var errs ErrorList
	if classes > 0 && !last.Dense.Units.IsZero() {
		u := last.Dense.Units.Poly()
		if c, ok := u.Eval(nil); !ok || len(u.Vars()) > 0 || c != int64(classes) {
			errs = append(errs, s.errorAt(lp.Child("units"), fmt.Sprintf("use units: %d", classes),
				"the last layer has %s units but the dataset has %d classes", last.Dense.Units, classes))
		}
	}
	if a := orDefault(last.Dense.Activation, "linear"); a != "softmax" && a != "linear" && slices.Contains(Activations, a) {
		errs = append(errs, s.errorAt(lp.Child("activation"), "use activation: softmax (or linear for logits)",
			"the last layer's activation is %s, but the loss is softmax cross-entropy", a))
	}
	return errs
}

// checkSize reports a layer whose closed forms could overflow int64; params and macs bound the
// sums of their absolute coefficients.
func (s *Spec) checkSize(errs *ErrorList, lp Path, params, macs float64) {
	if params < maxCoeffSum && macs < maxCoeffSum {
		return
	}
	*errs = append(*errs, s.errorAt(lp, "use smaller widths, kernels or input",
		"the layer is too large to count: its parameters or multiply-adds could exceed 64-bit integers"))
}

// imageSize words the input of a layer that needs a vector.
func imageSize(h, w int, known bool) string {
	if known {
		return fmt.Sprintf("a %d×%d image", h, w)
	}
	return "an image"
}

// usedVars returns the sweep variables that m's widths use.
func usedVars(m *Model) map[string]bool {
	used := map[string]bool{}
	var walk func(layers []Layer)
	walk = func(layers []Layer) {
		for _, l := range layers {
			for _, v := range widthOf(l).Poly().Vars() {
				used[v] = true
			}
			if l.Kind == KindResidual && l.Residual != nil {
				walk(l.Residual.Layers)
			}
		}
	}
	walk(m.Layers)
	return used
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// widthOf returns the width (units, filters) of a decoded layer, or the zero Expr.
func widthOf(l Layer) Expr {
	if u, b := unitOf(l.Kind), l.body(); u != nil && b.IsValid() && !b.IsNil() {
		_, e := u.width(b.Interface())
		return e
	}
	return Expr{}
}

// width is a layer's width waiting to be checked at every sweep point.
type width struct {
	path  Path // of the units: or filters: value
	field string
	expr  Expr
	eval  evaluator
}

// checkWidth reports unknown variables in a width, the value of key field written at p. It returns the width to check at every point,
// or false when it cannot be. Variables whose sweep Parse rejected are not reported again.
func (s *Spec) checkWidth(p Path, field string, w Expr, known []string, mp Path) (width, ErrorList) {
	if w.IsZero() {
		return width{}, nil
	}
	var errs ErrorList
	unknown := false
	for _, v := range w.Poly().Vars() {
		if slices.Contains(known, v) {
			continue
		}
		unknown = true
		if s.rejected(Path("sweep").Child(v)) || s.rejected(mp.Child("sweep").Child(v)) || s.rejected("sweep") || s.rejected(mp.Child("sweep")) {
			continue
		}
		fix := fmt.Sprintf("the model has no sweep variables; add sweep: {%s: [8, 16, 32]}", v)
		if len(known) > 0 {
			fix = fmt.Sprintf("widths use the sweep variables (%s), e.g. \"2%s\"", strings.Join(known, ", "), known[0])
			if best := suggest(v, known); best != "" {
				fix = fmt.Sprintf("did you mean %q? widths use the sweep variables (%s)", best, strings.Join(known, ", "))
			}
		}
		errs = append(errs, s.errorAt(p, fix, "unknown symbol %q", v))
	}
	if unknown {
		return width{}, errs
	}
	if len(w.Poly().Vars()) == 0 {
		v, _ := w.Poly().Eval(nil)
		switch {
		case v < 1:
			return width{}, ErrorList{s.errorAt(p, fmt.Sprintf("use %s: 1 or more", field), "%s %s is less than 1", field, w)}
		case v > maxWidth:
			return width{}, ErrorList{s.errorAt(p, fmt.Sprintf("keep widths at most %d", maxWidth), "%s %s is too large", field, w)}
		}
		return width{}, nil
	}
	return width{path: p, field: field, expr: w, eval: newEvaluator(w.Poly())}, nil
}

// checkWidthsAt reports each width that is below 1 or too large at some point, at the first such
// point in sweep order.
func (s *Spec) checkWidthsAt(widths []width, points []Point) ErrorList {
	var errs ErrorList
	failed := make([]bool, len(widths))
	vars := map[string]int64{}
	for _, pt := range points {
		for _, v := range pt {
			vars[v.Name] = v.Value
		}
		for i, w := range widths {
			if failed[i] {
				continue
			}
			v, ok := w.eval.at(vars)
			switch {
			case !ok || v > maxWidth:
				errs = append(errs, s.errorAt(w.path, fmt.Sprintf("keep widths at most %d", maxWidth), "%s %s is too large at %s", w.field, w.expr, pt))
				failed[i] = true
			case v < 1:
				errs = append(errs, s.errorAt(w.path, "every width must be at least 1: change the expression or the sweep", "%s %s is %d at %s", w.field, w.expr, v, pt))
				failed[i] = true
			}
		}
	}
	return errs
}

// evaluator is a Poly prepared for evaluation at many points.
type evaluator []struct {
	c  int64
	fs []factor
}

func newEvaluator(p Poly) evaluator {
	e := make(evaluator, 0, len(p.terms))
	for k, c := range p.terms {
		e = append(e, struct {
			c  int64
			fs []factor
		}{c, parseKey(k)})
	}
	return e
}

// at is Poly.Eval.
func (e evaluator) at(vars map[string]int64) (int64, bool) {
	var v int64
	for _, t := range e {
		x := t.c
		for _, f := range t.fs {
			y, ok := pow64(vars[f.name], f.exp)
			if !ok {
				return 0, false
			}
			if x, ok = mul64(x, y); !ok {
				return 0, false
			}
		}
		var ok bool
		if v, ok = add64(v, x); !ok {
			return 0, false
		}
	}
	return v, true
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

// SamePadding returns Keras's padding for "same" along one axis of length in, for a window of
// size k moved by stride: the total max((out-1)·stride + k - in, 0) with out = ⌈in/stride⌉ (see
// OutputSize), split with the smaller half before.
func SamePadding(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// Padding returns the cells of padding that layer l adds above, below, left and right of its
// input: none for "valid", and Keras's split of "same" (SamePadding: the smaller half before).
// Convolutions pad with zeros; pooling's padded cells hold no value. Exporters write them as
// explicit pads.
func Padding(l ResolvedLayer) (top, bottom, left, right int) {
	if l.Padding != "same" {
		return 0, 0, 0, 0
	}
	top, bottom = SamePadding(l.InH, l.Window.H, l.Stride.H)
	left, right = SamePadding(l.InW, l.Window.W, l.Stride.W)
	return top, bottom, left, right
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
