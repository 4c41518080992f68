package builder

import (
	"fmt"

	"github.com/nnsweep/nnsweep/spec"
)

// LayerCount is one layer's closed form.
type LayerCount struct {
	Name string
	Kind spec.LayerKind
	// H and W are the output's spatial size, zero once the output is a vector. C is the number of
	// output channels, or the vector's length when Vector is true.
	H, W   int
	C      spec.Poly
	Vector bool
	// Params counts the layer's parameters (weights and biases), the non-trainable ones included
	// (Keras's total); NonTrainable counts those no optimizer trains (a batch_norm's moving
	// statistics), so Params − NonTrainable are trained.
	Params       spec.Poly
	NonTrainable spec.Poly
	// MACs counts the forward multiply-adds per example (dense and conv2d; pooling, activations
	// and dropout count 0).
	MACs spec.Poly
	// Activations counts the output values per example.
	Activations spec.Poly
	// Depth is 0 for a model's own layers, 1 for the layers inside a residual block (and its
	// projection), 2 inside a block inside a block, and so on. A block's counts include its inner
	// layers', so only the rows of depth 0 add up to the model's.
	Depth int
}

// ModelCount is a model's closed form: per layer and in total.
type ModelCount struct {
	Layers []LayerCount
	// Params is the total (the turning point is judged on it), NonTrainable its non-trainable
	// part, and Folded the parameters once every batch_norm that follows a dense or convolution layer
	// with a linear activation is folded into it (spec.ResolvedModel.FoldedParams): what a
	// deployed model carries. Folded equals Params for a model without batch_norm.
	Params       spec.Poly
	NonTrainable spec.Poly
	Folded       spec.Poly
	MACs         spec.Poly
	Activations  spec.Poly // sum over layers of output values per example
}

// Count computes the closed forms of a resolved model from its layers' (see
// spec.ResolvedLayer.Params, MACs and Activations): the shapes were walked once, when spec
// resolved the model.
func Count(m spec.ResolvedModel) ModelCount {
	var mc ModelCount
	for _, l := range m.Layers {
		lc := layerCount(l, 0)
		mc.Params = mc.Params.Add(lc.Params)
		mc.NonTrainable = mc.NonTrainable.Add(lc.NonTrainable)
		mc.MACs = mc.MACs.Add(lc.MACs)
		mc.Activations = mc.Activations.Add(lc.Activations)
		mc.addRows(l, 0)
	}
	mc.Folded = m.FoldedParams()
	return mc
}

func layerCount(l spec.ResolvedLayer, depth int) LayerCount {
	return LayerCount{Name: l.Name, Kind: l.Kind, H: l.OutH, W: l.OutW, C: l.OutC, Vector: l.Vector,
		Params: l.Params(), NonTrainable: l.NonTrainable(), MACs: l.MACs(), Activations: l.Activations(), Depth: depth}
}

// addRows appends l's row and, for a residual block, its inner layers' and its projection's.
func (mc *ModelCount) addRows(l spec.ResolvedLayer, depth int) {
	mc.Layers = append(mc.Layers, layerCount(l, depth))
	for _, il := range l.Layers {
		mc.addRows(il, depth+1)
	}
	if p, ok := l.Projection(); ok {
		mc.addRows(p, depth+1)
	}
}

// HasNonTrainable reports whether the model's counts differ by kind: it has non-trainable
// parameters or folds (a batch_norm layer), so its total, trainable, non-trainable and folded
// counts are worth showing apart.
func (mc ModelCount) HasNonTrainable() bool {
	return !mc.NonTrainable.IsZero() || !mc.Folded.Equal(mc.Params)
}

// LayerAt is one layer's numbers at a sweep point.
type LayerAt struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	OutputShape []int64 `json:"output_shape"` // [H, W, C] for images, [units] for vectors
	Params      int64   `json:"params"`
	MACs        int64   `json:"macs"`
	// Depth is LayerCount.Depth: rows inside residual blocks have depth 1 or more.
	Depth int `json:"depth,omitempty"`
	// NonTrainable is the part of Params no optimizer trains (absent when 0).
	NonTrainable int64 `json:"non_trainable,omitempty"`
}

// PointCount is a model's numbers at a sweep point.
type PointCount struct {
	Vars spec.Point
	// Params is the total, NonTrainable its non-trainable part, Folded the count once batch norm
	// is folded (see ModelCount).
	Params       int64
	NonTrainable int64
	Folded       int64
	MACs         int64
	Activations  int64
	Layers       []LayerAt
}

// At evaluates the closed forms at point p. It returns an error when a count overflows int64.
func (mc ModelCount) At(p spec.Point) (PointCount, error) {
	vars := p.Map()
	pc := PointCount{Vars: p}
	var err error
	eval := func(what string, q spec.Poly) int64 {
		v, ok := q.Eval(vars)
		if !ok && err == nil {
			err = fmt.Errorf("at %s the %s (%s) do not fit in 64 bits; sweep smaller widths", p, what, q)
		}
		return v
	}
	pc.Params = eval("parameters", mc.Params)
	pc.NonTrainable = eval("parameters", mc.NonTrainable)
	pc.Folded = eval("parameters", mc.Folded)
	pc.MACs = eval("multiply-adds", mc.MACs)
	pc.Activations = eval("activations", mc.Activations)
	for _, l := range mc.Layers {
		la := LayerAt{Name: l.Name, Kind: string(l.Kind), Params: eval("parameters", l.Params), MACs: eval("multiply-adds", l.MACs), Depth: l.Depth,
			NonTrainable: eval("parameters", l.NonTrainable)}
		if l.Vector {
			la.OutputShape = []int64{eval("channels", l.C)}
		} else {
			la.OutputShape = []int64{int64(l.H), int64(l.W), eval("channels", l.C)}
		}
		pc.Layers = append(pc.Layers, la)
	}
	return pc, err
}
