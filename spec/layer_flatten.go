package spec

// KindFlatten turns an image into a vector.
const KindFlatten LayerKind = "flatten"

// Flatten turns an H×W×C input into a vector of H·W·C values (HWC order).
type Flatten struct {
	Name string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (flatten_1)"`
}

// flattenUnit is the flatten kind: its output is a vector of the input's H·W·C values.
type flattenUnit struct{}

func (flattenUnit) kind() LayerKind { return KindFlatten }

func (flattenUnit) width(any) (string, Expr) { return "", Expr{} }

func (flattenUnit) resolve(w *layerWalk, _ any, _ *ResolvedLayer) {
	if w.structure && w.vector {
		w.add("remove it", "flatten needs an image input, but %s is already a vector", w.prev)
	}
	if !w.vector && w.haveShape {
		w.bound *= float64(w.h) * float64(w.w)
	}
	w.c = Const(int64(w.h * w.w)).Mul(w.c)
	w.vector = true
}

func (flattenUnit) count(ResolvedLayer) (params, macs Poly) { return Poly{}, Poly{} }

func (flattenUnit) weights(ResolvedLayer) []WeightShape { return nil }
