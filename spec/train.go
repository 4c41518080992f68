package spec

import "slices"

// Train holds training settings. Every key is optional: a model's train overrides the top-level
// train key by key, and what neither sets takes the default below.
type Train struct {
	// Epochs is the number of passes over the training set (default 1, as Keras's fit).
	Epochs *int `yaml:"epochs" validate:"omitempty,gte=1,lte=100000" jsonschema:"minimum=1,maximum=100000,default=1,description=Passes over the training set"`
	// BatchSize is the number of examples per gradient step (default 32, as Keras's fit).
	BatchSize *int `yaml:"batch_size" validate:"omitempty,gte=1,lte=1000000" jsonschema:"minimum=1,maximum=1000000,default=32,description=Examples per gradient step"`
	// Optimizer and its parameters; default adam with Keras's defaults.
	Optimizer *Optimizer `yaml:"optimizer" jsonschema:"description=The optimizer; default adam"`
	// Seed drives weight initialisation, shuffling and dropout (default 1).
	Seed *int64 `yaml:"seed" jsonschema:"default=1,description=Drives weight initialisation\\, shuffling and dropout"`
	// ValidationSplit is the fraction of the training set held out for validation (default 0).
	ValidationSplit *float64 `yaml:"validation_split" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,default=0,description=Fraction of the training set held out for validation"`
	// EarlyStop ends training when the validation metric stops improving; it needs a
	// validation_split. A model's early_stop replaces the top-level one as a whole.
	EarlyStop *EarlyStop `yaml:"early_stop" jsonschema:"description=Stop training when the validation metric stops improving (needs validation_split)"`
	// Schedule varies the learning rate over the training steps (default: constant). A model's
	// schedule replaces the top-level one as a whole.
	Schedule *Schedule `yaml:"schedule" jsonschema:"description=Learning-rate schedule\\, stepped per batch (default constant)"`
	// LabelSmoothing is ε of Keras's CategoricalCrossentropy: the training targets are
	// y·(1−ε) + ε/classes (default 0). Validation and test losses stay the plain cross-entropy.
	LabelSmoothing *float64 `yaml:"label_smoothing" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,default=0,description=Training targets y·(1−ε) + ε/classes"`
	// Augment transforms the training batches on the fly (validation and test never). A
	// model's augment replaces the top-level one as a whole.
	Augment *Augment `yaml:"augment" jsonschema:"description=Random shifts\\, rotations and zooms of the training images"`
}

// EarlyStop stops training once the monitored validation metric has not improved by more than
// MinDelta for Patience epochs in a row, as Keras's EarlyStopping callback. Defaults: monitor
// val_accuracy, patience 3, min_delta 0, restore_best true (the weights of the best epoch are
// the ones evaluated on the test set).
type EarlyStop struct {
	Monitor     string   `yaml:"monitor" validate:"omitempty,oneof=val_accuracy val_loss" jsonschema:"enum=val_accuracy,enum=val_loss,default=val_accuracy"`
	Patience    *int     `yaml:"patience" validate:"omitempty,gte=1,lte=10000" jsonschema:"minimum=1,default=3,description=Epochs without improvement before stopping"`
	MinDelta    *float64 `yaml:"min_delta" validate:"omitempty,gte=0" jsonschema:"minimum=0,default=0,description=The least change that counts as an improvement"`
	RestoreBest *bool    `yaml:"restore_best" jsonschema:"default=true,description=Evaluate the weights of the best epoch rather than the last"`
}

// EarlyStopping is an EarlyStop with its defaults applied.
type EarlyStopping struct {
	Monitor     string  `json:"monitor"`
	Patience    int     `json:"patience"`
	MinDelta    float64 `json:"min_delta"`
	RestoreBest bool    `json:"restore_best"`
}

// Optimizer names an optimizer and sets its parameters. Without a name, a model's optimizer
// changes parameters of the top-level one, and a top-level one is adam. Unset parameters take
// Keras's defaults:
//
//	sgd       learning_rate 0.01, momentum 0, nesterov false
//	rmsprop   learning_rate 0.001, rho 0.9, epsilon 1e-7
//	adam      learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7
//	adadelta  learning_rate 1.0, rho 0.95, epsilon 1e-7
//	adamw     as adam, and weight_decay 0.004 (Keras 3's AdamW)
//
// Every optimizer takes weight_decay (default 0; 0.004 for adamw): decoupled weight decay as
// Keras 3's BaseOptimizer applies it, w ← w − w·weight_decay·lr with the step's scheduled
// learning rate, before the optimizer's own update. As in Keras, every weight is decayed,
// biases included (Keras decays all variables unless exclude_from_weight_decay names them).
//
// Adadelta's learning rate defaults to 1.0, the value of the original paper and of Keras before
// 2.3 (later Keras versions default to 0.001); the reference experiment trains with 1.0.
type Optimizer struct {
	Name         string   `yaml:"name" validate:"omitempty,oneof=sgd rmsprop adam adadelta adamw" jsonschema:"enum=sgd,enum=rmsprop,enum=adam,enum=adadelta,enum=adamw,description=Without a name: a model's optimizer changes the top-level one's parameters; a top-level one is adam"`
	LearningRate *float64 `yaml:"learning_rate" validate:"omitempty,gt=0" jsonschema:"exclusiveMinimum=0,description=Default 0.01 (sgd)\\, 0.001 (rmsprop\\, adam)\\, 1.0 (adadelta)"`
	Momentum     *float64 `yaml:"momentum" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,description=sgd only"`
	Nesterov     *bool    `yaml:"nesterov" jsonschema:"description=sgd only"`
	Rho          *float64 `yaml:"rho" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,description=rmsprop and adadelta"`
	Beta1        *float64 `yaml:"beta_1" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,description=adam only"`
	Beta2        *float64 `yaml:"beta_2" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,description=adam only"`
	Epsilon      *float64 `yaml:"epsilon" validate:"omitempty,gt=0" jsonschema:"exclusiveMinimum=0,description=rmsprop\\, adam\\, adamw and adadelta"`
	WeightDecay  *float64 `yaml:"weight_decay" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,description=Decoupled weight decay w ← w − lr·wd·w before each update (Keras 3); default 0\\, 0.004 for adamw"`
}

// Training is a model's training settings with every default applied.
type Training struct {
	Epochs          int
	BatchSize       int
	Optimizer       OptimizerSettings
	Seed            int64
	ValidationSplit float64
	// EarlyStop is nil when training runs for all its epochs.
	EarlyStop *EarlyStopping
	// Schedule is nil for a constant learning rate without warm-up as no schedule was set;
	// LabelSmoothing is 0 and Augment nil when not set. None of them enters a result key
	// unless set.
	Schedule       *ScheduleSettings `json:",omitempty"`
	LabelSmoothing float64           `json:",omitempty"`
	Augment        *Augmentation     `json:",omitempty"`
}

// OptimizerSettings is an optimizer with every parameter resolved; parameters that the optimizer
// does not use are zero.
type OptimizerSettings struct {
	Name         string  `json:"name"`
	LearningRate float64 `json:"learning_rate"`
	Momentum     float64 `json:"momentum,omitempty"`
	Nesterov     bool    `json:"nesterov,omitempty"`
	Rho          float64 `json:"rho,omitempty"`
	Beta1        float64 `json:"beta_1,omitempty"`
	Beta2        float64 `json:"beta_2,omitempty"`
	Epsilon      float64 `json:"epsilon,omitempty"`
	WeightDecay  float64 `json:"weight_decay,omitempty"`
}

// Defaults of the training settings.
const (
	DefaultEpochs    = 1
	DefaultBatchSize = 32
	DefaultSeed      = 1
	DefaultOptimizer = "adam"
)

// optimizerParams lists which keys each optimizer takes; the order is the documentation order.
var optimizerParams = map[string][]string{
	"sgd":      {"learning_rate", "momentum", "nesterov"},
	"rmsprop":  {"learning_rate", "rho", "epsilon"},
	"adam":     {"learning_rate", "beta_1", "beta_2", "epsilon"},
	"adadelta": {"learning_rate", "rho", "epsilon"},
	"adamw":    {"learning_rate", "beta_1", "beta_2", "epsilon"},
}

// OptimizerTakes reports whether optimizer name takes the YAML key key (weight_decay and the
// learning rate are taken by every one); false for an unknown optimizer.
func OptimizerTakes(name, key string) bool {
	takes, known := optimizerParams[name]
	return known && (slices.Contains(takes, key) || slices.Contains(commonOptimizerParams, key))
}

// commonOptimizerParams are the keys every optimizer takes besides those of optimizerParams.
var commonOptimizerParams = []string{"weight_decay"}

// optimizerNames are the optimizers in documentation order; classicOptimizers those that an
// error naming the optimizers a parameter belongs to lists (adamw is adam with weight decay).
var (
	optimizerNames    = []string{"sgd", "rmsprop", "adam", "adadelta", "adamw"}
	classicOptimizers = optimizerNames[:4]
)

// DefaultAdamWWeightDecay is Keras 3's AdamW default weight_decay.
const DefaultAdamWWeightDecay = 0.004

// DefaultOptimizerSettings returns Keras's defaults for the named optimizer (see Optimizer).
func DefaultOptimizerSettings(name string) (OptimizerSettings, bool) {
	switch name {
	case "sgd":
		return OptimizerSettings{Name: name, LearningRate: 0.01}, true
	case "rmsprop":
		return OptimizerSettings{Name: name, LearningRate: 1e-3, Rho: 0.9, Epsilon: 1e-7}, true
	case "adam":
		return OptimizerSettings{Name: name, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}, true
	case "adadelta":
		return OptimizerSettings{Name: name, LearningRate: 1.0, Rho: 0.95, Epsilon: 1e-7}, true
	case "adamw":
		return OptimizerSettings{Name: name, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: DefaultAdamWWeightDecay}, true
	}
	return OptimizerSettings{}, false
}

// floatParams are the optimizer's numeric parameters: each YAML key of Optimizer with the field
// of OptimizerSettings it resolves to, for Override's merge and Resolve's defaults.
var floatParams = []struct {
	key     func(*Optimizer) **float64
	setting func(*OptimizerSettings) *float64
}{
	{func(o *Optimizer) **float64 { return &o.LearningRate }, func(s *OptimizerSettings) *float64 { return &s.LearningRate }},
	{func(o *Optimizer) **float64 { return &o.Momentum }, func(s *OptimizerSettings) *float64 { return &s.Momentum }},
	{func(o *Optimizer) **float64 { return &o.Rho }, func(s *OptimizerSettings) *float64 { return &s.Rho }},
	{func(o *Optimizer) **float64 { return &o.Beta1 }, func(s *OptimizerSettings) *float64 { return &s.Beta1 }},
	{func(o *Optimizer) **float64 { return &o.Beta2 }, func(s *OptimizerSettings) *float64 { return &s.Beta2 }},
	{func(o *Optimizer) **float64 { return &o.Epsilon }, func(s *OptimizerSettings) *float64 { return &s.Epsilon }},
	{func(o *Optimizer) **float64 { return &o.WeightDecay }, func(s *OptimizerSettings) *float64 { return &s.WeightDecay }},
}

// override sets *dst to src when src is set (a key the overriding train writes).
func override[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

// Override returns t with every key that o sets replacing t's. Optimizers of the same name (or an
// override without a name) merge parameter by parameter; a different name replaces the optimizer.
func (t Train) Override(o Train) Train {
	override(&t.Epochs, o.Epochs)
	override(&t.BatchSize, o.BatchSize)
	override(&t.Seed, o.Seed)
	override(&t.ValidationSplit, o.ValidationSplit)
	override(&t.EarlyStop, o.EarlyStop)
	override(&t.Schedule, o.Schedule)
	override(&t.LabelSmoothing, o.LabelSmoothing)
	override(&t.Augment, o.Augment)
	if o.Optimizer != nil {
		if t.Optimizer == nil || o.Optimizer.Name != "" && o.Optimizer.Name != t.Optimizer.Name {
			t.Optimizer = o.Optimizer
		} else {
			m := *t.Optimizer
			ov := *o.Optimizer
			for _, p := range floatParams {
				override(p.key(&m), *p.key(&ov))
			}
			override(&m.Nesterov, ov.Nesterov)
			t.Optimizer = &m
		}
	}
	return t
}

// Resolve applies the defaults. It assumes t passed validation.
func (t Train) Resolve() Training {
	r := Training{Epochs: DefaultEpochs, BatchSize: DefaultBatchSize, Seed: DefaultSeed}
	if t.Epochs != nil {
		r.Epochs = *t.Epochs
	}
	if t.BatchSize != nil {
		r.BatchSize = *t.BatchSize
	}
	if t.Seed != nil {
		r.Seed = *t.Seed
	}
	if t.ValidationSplit != nil {
		r.ValidationSplit = *t.ValidationSplit
	}
	if e := t.EarlyStop; e != nil {
		r.EarlyStop = &EarlyStopping{Monitor: orDefault(e.Monitor, "val_accuracy"), Patience: 3, RestoreBest: true}
		if e.Patience != nil {
			r.EarlyStop.Patience = *e.Patience
		}
		if e.MinDelta != nil {
			r.EarlyStop.MinDelta = *e.MinDelta
		}
		if e.RestoreBest != nil {
			r.EarlyStop.RestoreBest = *e.RestoreBest
		}
	}
	name := DefaultOptimizer
	if t.Optimizer != nil && t.Optimizer.Name != "" {
		name = t.Optimizer.Name
	}
	o, _ := DefaultOptimizerSettings(name)
	if opt := t.Optimizer; opt != nil {
		for _, p := range floatParams {
			if v := *p.key(opt); v != nil {
				*p.setting(&o) = *v
			}
		}
		if opt.Nesterov != nil {
			o.Nesterov = *opt.Nesterov
		}
	}
	r.Optimizer = o
	if t.Schedule != nil {
		r.Schedule = t.Schedule.resolve()
	}
	if t.LabelSmoothing != nil {
		r.LabelSmoothing = *t.LabelSmoothing
	}
	if t.Augment != nil {
		r.Augment = t.Augment.resolve()
	}
	return r
}

// setParams lists the optimizer keys that o sets.
func (o *Optimizer) setParams() []string {
	var out []string
	if o.LearningRate != nil {
		out = append(out, "learning_rate")
	}
	if o.Momentum != nil {
		out = append(out, "momentum")
	}
	if o.Nesterov != nil {
		out = append(out, "nesterov")
	}
	if o.Rho != nil {
		out = append(out, "rho")
	}
	if o.Beta1 != nil {
		out = append(out, "beta_1")
	}
	if o.Beta2 != nil {
		out = append(out, "beta_2")
	}
	if o.Epsilon != nil {
		out = append(out, "epsilon")
	}
	if o.WeightDecay != nil {
		out = append(out, "weight_decay")
	}
	return out
}
