package spec

// KindDropout zeroes random inputs while training.
const KindDropout LayerKind = "dropout"

// Dropout zeroes each input with probability Rate while training and passes inputs through
// unchanged when evaluating (inverted dropout, as Keras).
type Dropout struct {
	Name string  `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (dropout_1)"`
	Rate float64 `yaml:"rate" validate:"gt=0,lt=1" jsonschema:"required,exclusiveMinimum=0,exclusiveMaximum=1,description=Fraction of inputs zeroed while training"`
}

// dropoutUnit is the dropout kind: its output has its input's shape.
type dropoutUnit struct{}

func (dropoutUnit) kind() LayerKind { return KindDropout }

func (dropoutUnit) width(any) (string, Expr) { return "", Expr{} }

func (dropoutUnit) resolve(_ *layerWalk, body any, rl *ResolvedLayer) { rl.Rate = body.(*Dropout).Rate }

func (dropoutUnit) count(ResolvedLayer) (params, macs Poly) { return Poly{}, Poly{} }

func (dropoutUnit) weights(ResolvedLayer) []WeightShape { return nil }
