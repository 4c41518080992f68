package spec

import "fmt"

// KindResidual is a residual block: its input added to its inner layers' output.
const KindResidual LayerKind = "residual"

// Residual is a residual block (as in ResNet): output = input + block(input), where block is the
// inner Layers, an ordinary layer list of any kinds. The block's output must have its input's
// shape (HWC, or the vector's length) unless Project is set, which puts a 1×1 convolution with
// bias (Keras-style) on the shortcut (a dense layer when the data is a vector): it maps the
// input's channels to the block's and, when the block downsamples, strides so that the spatial
// size matches (the smallest stride s with ⌊(in−1)/s⌋+1 = out along each axis, as ResNet's
// projection shortcut).
type Residual struct {
	Name    string  `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (residual_1)"`
	Layers  []Layer `yaml:"layers" validate:"dive" jsonschema:"required,minItems=1,description=The block's layers in order; their output is added to the block's input"`
	Project *bool   `yaml:"project" jsonschema:"default=false,description=Put a 1×1 convolution with bias (a dense layer for vectors) on the shortcut when the block changes the shape"`
}

// ResidualSettings is what a residual block resolves beyond its inner layers
// (ResolvedLayer.Settings): whether its shortcut is projected. The projection's stride is the
// ResolvedLayer's Stride, its window 1×1.
type ResidualSettings struct {
	Project bool `json:"project"`
}

// residualUnit is the residual kind. Its weights are its inner layers' in order, named
// "<residual>/<inner>/<tensor>", then the projection's "<residual>/projection/kernel" and
// "…/bias" (a conv2d's or a dense layer's shapes); its counts are the inner layers' plus the
// projection's.
type residualUnit struct{}

func (residualUnit) kind() LayerKind { return KindResidual }

func (residualUnit) width(any) (string, Expr) { return "", Expr{} }

func (residualUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	r := body.(*Residual)
	project := r.Project != nil && *r.Project
	rl.Settings = ResidualSettings{Project: project}
	if len(r.Layers) == 0 {
		if !w.s.rejected(w.lp.Child("layers")) {
			w.add("add layers:, e.g. layers: [{conv2d: {filters: n, kernel: 3, padding: same}}]", "the residual block has no layers")
		}
		w.structure = false
		return
	}
	in := *w
	lp, kind := w.lp, w.kind
	rl.Layers = w.resolveList(r.Layers, lp.Child("layers"), false)
	w.lp, w.kind = lp, kind
	if w.vector {
		w.h, w.w = 0, 0
	}
	if !w.structure || !in.structure {
		return
	}
	w.prev = rl.Name
	same := in.vector == w.vector && in.c.Equal(w.c) && (w.vector || in.h == w.h && in.w == w.w)
	switch {
	case in.vector != w.vector:
		w.add("keep the block's data an image (no flatten, dense or global pooling inside) or a vector throughout",
			"the block's input is %s but its output is %s, so they cannot be added", shapeWords(in), shapeWords(*w))
		w.structure = false
	case same && !project:
	case !project:
		fix := "set project: true or use padding: same"
		if w.vector {
			fix = "set project: true or give the last inner layer the input's width"
		}
		w.add(fix, "the block's output (%s) does not match its input (%s), so they cannot be added", shapeWords(*w), shapeWords(in))
		w.structure = false
	case w.vector:
		rl.Window, rl.Stride = Pair{1, 1}, Pair{1, 1}
	default:
		sh, okh := projectionStride(in.h, w.h)
		sw, okw := projectionStride(in.w, w.w)
		if !okh || !okw || !in.haveShape {
			if in.haveShape {
				w.add("make the block keep or shrink the size by a whole stride (padding: same)",
					"no stride of a 1×1 projection takes the input (%s) to the block's output (%s)", shapeWords(in), shapeWords(*w))
			}
			w.structure = false
			return
		}
		rl.Window, rl.Stride, rl.Padding = Pair{1, 1}, Pair{sh, sw}, "valid"
		w.checkSize(in.bound*w.bound+w.bound, float64(w.h)*float64(w.w)*in.bound*w.bound)
	}
}

// projectionStride returns the smallest stride s with ⌊(in−1)/s⌋+1 = out, the output size of a
// 1×1 window with stride s over in cells.
func projectionStride(in, out int) (int, bool) {
	for s := 1; s <= max(in, 1); s++ {
		if (in-1)/s+1 == out {
			return s, true
		}
	}
	return 0, false
}

// shapeWords prints the data at a point of a walk: "14×14×n" (HWC) or "a vector of 2n values".
func shapeWords(w layerWalk) string {
	if w.vector {
		return fmt.Sprintf("a vector of %s values", w.c)
	}
	if !w.haveShape {
		return fmt.Sprintf("an image of %s channels", w.c)
	}
	return fmt.Sprintf("%d×%d×%s", w.h, w.w, w.c)
}

func (residualUnit) count(l ResolvedLayer) (params, macs Poly) {
	for _, il := range l.Layers {
		p, m := il.Params(), il.MACs()
		params, macs = params.Add(p), macs.Add(m)
	}
	if pr, ok := l.Projection(); ok {
		p, m := unitOf(pr.Kind).count(pr)
		params, macs = params.Add(p), macs.Add(m)
	}
	return params, macs
}

func (residualUnit) weights(l ResolvedLayer) []WeightShape {
	var ws []WeightShape
	for _, il := range l.Layers {
		for _, w := range il.Weights() {
			w.Name = il.Name + "/" + w.Name
			ws = append(ws, w)
		}
	}
	if pr, ok := l.Projection(); ok {
		for _, w := range unitOf(pr.Kind).weights(pr) {
			w.Name = "projection/" + w.Name
			ws = append(ws, w)
		}
	}
	return ws
}

// Projection returns the 1×1 convolution (a dense layer for vectors) on a residual block's
// shortcut, as a layer of its own named "<residual>/projection" with a bias and no activation,
// and whether the block has one.
func (l ResolvedLayer) Projection() (ResolvedLayer, bool) {
	s, ok := l.Settings.(ResidualSettings)
	if l.Kind != KindResidual || !ok || !s.Project {
		return ResolvedLayer{}, false
	}
	p := ResolvedLayer{Name: l.Name + "/projection", Kind: KindConv2D, Path: l.Path.Child("project"), Width: Expr{src: l.OutC.String(), poly: l.OutC},
		Window: Pair{1, 1}, Stride: l.Stride, Padding: "valid", Activation: "linear", UseBias: true,
		InH: l.InH, InW: l.InW, OutH: l.OutH, OutW: l.OutW, Vector: l.Vector, InC: l.InC, OutC: l.OutC}
	if l.Vector {
		p.Kind, p.Window, p.Stride, p.Padding = KindDense, Pair{}, Pair{}, ""
	}
	return p, true
}
