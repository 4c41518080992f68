package spec

// KindBatchNorm normalises its input over the batch.
const KindBatchNorm LayerKind = "batch_norm"

// BatchNorm normalises each channel (of an NCHW image: over the batch, height and width) or each
// feature (of a vector: over the batch) as Keras's BatchNormalization: y = γ·(x − μ)/√(σ² + ε) + β.
// Training uses the batch's mean μ and biased variance σ² over its real examples and then moves
// the moving statistics towards them, moving = moving·momentum + batch·(1 − momentum);
// evaluation uses the moving statistics.
type BatchNorm struct {
	Name     string   `yaml:"name" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Layer name; default <kind>_<k> as in Keras (batch_norm_1)"`
	Momentum *float64 `yaml:"momentum" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,default=0.99,description=Weight of the old moving statistics in each update"`
	Epsilon  *float64 `yaml:"epsilon" validate:"omitempty,gt=0" jsonschema:"exclusiveMinimum=0,default=0.001,description=Added to the variance before its square root"`
	Center   *bool    `yaml:"center" jsonschema:"default=true,description=Whether the layer adds a trained offset β"`
	Scale    *bool    `yaml:"scale" jsonschema:"default=true,description=Whether the layer multiplies by a trained scale γ"`
}

// BatchNormSettings is a batch_norm layer with its defaults applied, the ResolvedLayer.Settings of
// the kind (it enters the result key of points with batch_norm layers only).
type BatchNormSettings struct {
	Momentum float64 `json:"momentum"`
	Epsilon  float64 `json:"epsilon"`
	Center   bool    `json:"center"`
	Scale    bool    `json:"scale"`
}

// batchNormUnit is the batch_norm kind. Its weights are, for c channels (or features), γ [c]
// (when Scale, starting at 1) and β [c] (when Center, starting at 0), both trained, then the
// moving mean [c] (starting at 0) and moving variance [c] (starting at 1), not trained: Keras's
// order. Its output has its input's shape.
type batchNormUnit struct{}

func (batchNormUnit) kind() LayerKind { return KindBatchNorm }

func (batchNormUnit) width(any) (string, Expr) { return "", Expr{} }

func (batchNormUnit) resolve(_ *layerWalk, body any, rl *ResolvedLayer) {
	b := body.(*BatchNorm)
	s := BatchNormSettings{Momentum: 0.99, Epsilon: 0.001, Center: true, Scale: true}
	if b.Momentum != nil {
		s.Momentum = *b.Momentum
	}
	if b.Epsilon != nil {
		s.Epsilon = *b.Epsilon
	}
	if b.Center != nil {
		s.Center = *b.Center
	}
	if b.Scale != nil {
		s.Scale = *b.Scale
	}
	rl.Settings = s
}

// count counts γ, β, the moving mean and variance (all of them, as Keras's count_params), and one
// multiply-add per output value (y = a·x + b once the statistics are known).
func (u batchNormUnit) count(l ResolvedLayer) (params, macs Poly) {
	for _, w := range u.weights(l) {
		params = params.Add(w.Shape[0])
	}
	if l.Vector {
		return params, l.OutC
	}
	return params, Const(int64(l.OutH * l.OutW)).Mul(l.OutC)
}

func (batchNormUnit) weights(l ResolvedLayer) []WeightShape {
	s := l.Settings.(BatchNormSettings)
	c := []Poly{l.InC}
	var ws []WeightShape
	if s.Scale {
		ws = append(ws, WeightShape{Name: "gamma", Shape: c, InitValue: 1})
	}
	if s.Center {
		ws = append(ws, WeightShape{Name: "beta", Shape: c})
	}
	return append(ws, WeightShape{Name: "moving_mean", Shape: c, NonTrainable: true},
		WeightShape{Name: "moving_variance", Shape: c, NonTrainable: true, InitValue: 1})
}

// fold is the change in parameters when the layer is folded into prev, the layer before it:
// its own parameters go (γ, β, the moving mean and variance: 4c with center and scale), and prev
// gains a bias (c) if it had none. ok is false when prev cannot absorb it (it is not a dense or
// conv2d, depthwise_conv2d or separable_conv2d layer with a linear activation).
func (u batchNormUnit) fold(prev, l ResolvedLayer) (delta Poly, ok bool) {
	a, can := unitOf(prev.Kind).(absorber)
	if !can || !a.absorbs(prev) {
		return Poly{}, false
	}
	params, _ := u.count(l)
	delta = Poly{}.Sub(params)
	if !prev.UseBias {
		delta = delta.Add(l.InC)
	}
	return delta, true
}

// folder is a layer kind that folds into the layer before it for deployment (batch_norm).
type folder interface {
	fold(prev, l ResolvedLayer) (delta Poly, ok bool)
}

// absorber is a layer kind whose layers can take in a following per-channel affine map
// y = a·x + b in their weights and bias.
type absorber interface {
	absorbs(l ResolvedLayer) bool
}

func (denseUnit) absorbs(l ResolvedLayer) bool  { return l.Activation == "linear" }
func (conv2dUnit) absorbs(l ResolvedLayer) bool { return l.Activation == "linear" }

// A depthwise convolution's output channel is its own kernel's, and a separable one ends in a 1×1
// convolution: both take in a per-channel affine map as conv2d does.
func (depthwiseConv2DUnit) absorbs(l ResolvedLayer) bool { return l.Activation == "linear" }
func (separableConv2DUnit) absorbs(l ResolvedLayer) bool { return l.Activation == "linear" }

// FoldedParams returns the model's parameters once every layer that can (batch_norm) is folded
// into the layer before it: what a deployed model carries. It equals Params for a model without
// such layers.
func (m ResolvedModel) FoldedParams() Poly {
	var p Poly
	for i, l := range m.Layers {
		p = p.Add(l.Params())
		if f, ok := unitOf(l.Kind).(folder); ok && i > 0 {
			if d, ok := f.fold(m.Layers[i-1], l); ok {
				p = p.Add(d)
			}
		}
	}
	return p
}
