package spec

// The global pooling kinds.
const (
	KindGlobalAvgPool2D LayerKind = "global_avgpool2d"
	KindGlobalMaxPool2D LayerKind = "global_maxpool2d"
)

// GlobalPool is a global average or max pooling layer (Keras's GlobalAveragePooling2D and
// GlobalMaxPooling2D): the mean or the maximum of each channel over the whole image, so an
// H×W×C input becomes a vector of C values, as after a flatten.
type GlobalPool struct {
	Name string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (global_avgpool2d_1)"`
}

// globalPoolUnit is a global pooling kind, average or max: no weights, no multiply-adds; its
// output is a vector of the input's channels.
type globalPoolUnit struct{ k LayerKind }

func (u globalPoolUnit) kind() LayerKind { return u.k }

func (globalPoolUnit) width(any) (string, Expr) { return "", Expr{} }

func (u globalPoolUnit) resolve(w *layerWalk, _ any, _ *ResolvedLayer) {
	if w.structure && w.vector {
		w.add("move it before the flatten or dense layer, or drop it", "%s needs an image input, but %s is a vector", u.k, w.prev)
		w.structure = false
	}
	w.vector = true
}

func (globalPoolUnit) count(ResolvedLayer) (params, macs Poly) { return Poly{}, Poly{} }

func (globalPoolUnit) weights(ResolvedLayer) []WeightShape { return nil }
