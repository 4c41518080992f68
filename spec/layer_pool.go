package spec

// The pooling kinds.
const (
	KindMaxPool2D LayerKind = "maxpool2d"
	KindAvgPool2D LayerKind = "avgpool2d"
)

// Pool is a max or average pooling layer over Pool-sized windows; Stride defaults to Pool.
type Pool struct {
	Name    string `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (maxpool2d_1)"`
	Pool    Pair   `yaml:"pool" jsonschema:"required,description=Window size: 2 or [height\\, width]"`
	Stride  *Pair  `yaml:"stride" jsonschema:"description=Default: the pool size"`
	Padding string `yaml:"padding" validate:"omitempty,oneof=valid same" jsonschema:"enum=valid,enum=same,default=valid,description=valid: no padding; same: pad so that the output size is the input size divided by the stride\\, rounded up"`
}

// poolUnit is a pooling kind, max or average: no weights, no multiply-adds.
type poolUnit struct{ k LayerKind }

func (u poolUnit) kind() LayerKind { return u.k }

func (poolUnit) width(any) (string, Expr) { return "", Expr{} }

func (u poolUnit) resolve(w *layerWalk, body any, rl *ResolvedLayer) {
	pl := body.(*Pool)
	rl.Window, rl.Stride, rl.Padding = pl.Pool, pl.Pool, orDefault(pl.Padding, "valid")
	if pl.Stride != nil {
		rl.Stride = *pl.Stride
	}
	w.require(pl.Pool.IsZero(), "pool", "2")
	if oh, ow, ok := w.slide(rl, "pool", "use padding: same, a smaller pool, or drop a layer before it"); ok {
		w.h, w.w = oh, ow
	}
}

func (poolUnit) count(ResolvedLayer) (params, macs Poly) { return Poly{}, Poly{} }

func (poolUnit) weights(ResolvedLayer) []WeightShape { return nil }
