package spec

import (
	"fmt"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestTrainOverride(t *testing.T) {
	t.Parallel()
	top := Train{
		Epochs:    ptr(12),
		BatchSize: ptr(128),
		Seed:      ptr(int64(1)),
		Optimizer: &Optimizer{Name: "adadelta", LearningRate: ptr(1.0), Rho: ptr(0.95)},
	}
	tests := []struct {
		name     string
		base, ov Train
		want     Training
	}{
		{"nothing overridden", top, Train{},
			Training{Epochs: 12, BatchSize: 128, Seed: 1, Optimizer: OptimizerSettings{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-7}}},
		{"key by key", top, Train{Epochs: ptr(20), ValidationSplit: ptr(0.1)},
			Training{Epochs: 20, BatchSize: 128, Seed: 1, ValidationSplit: 0.1, Optimizer: OptimizerSettings{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-7}}},
		{"same optimizer merges", top, Train{Optimizer: &Optimizer{Name: "adadelta", Epsilon: ptr(1e-6)}},
			Training{Epochs: 12, BatchSize: 128, Seed: 1, Optimizer: OptimizerSettings{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-6}}},
		{"optimizer without a name merges", top, Train{Optimizer: &Optimizer{LearningRate: ptr(0.5)}},
			Training{Epochs: 12, BatchSize: 128, Seed: 1, Optimizer: OptimizerSettings{Name: "adadelta", LearningRate: 0.5, Rho: 0.95, Epsilon: 1e-7}}},
		{"other optimizer replaces", top, Train{Optimizer: &Optimizer{Name: "rmsprop", LearningRate: ptr(0.002)}},
			Training{Epochs: 12, BatchSize: 128, Seed: 1, Optimizer: OptimizerSettings{Name: "rmsprop", LearningRate: 0.002, Rho: 0.9, Epsilon: 1e-7}}},
		{"sgd flags merge", Train{Optimizer: &Optimizer{Name: "sgd", Momentum: ptr(0.9)}}, Train{Optimizer: &Optimizer{Nesterov: ptr(true)}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "sgd", LearningRate: 0.01, Momentum: 0.9, Nesterov: true}}},
		{"optimizer only in the model", Train{}, Train{Optimizer: &Optimizer{Name: "sgd"}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "sgd", LearningRate: 0.01}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.base.Override(tt.ov).Resolve(); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("base unchanged", func(t *testing.T) {
		t.Parallel()
		base := Train{Optimizer: &Optimizer{Name: "adam", LearningRate: ptr(0.1)}}
		_ = base.Override(Train{Optimizer: &Optimizer{LearningRate: ptr(0.2)}})
		if *base.Optimizer.LearningRate != 0.1 {
			t.Error("Override changed its receiver's optimizer")
		}
	})
}

func TestTrainResolveDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    Train
		want Training
	}{
		{"nothing set: Keras's fit and adam", Train{},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "adam", LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}}},
		{"adam without a name", Train{Optimizer: &Optimizer{LearningRate: ptr(0.01)}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "adam", LearningRate: 0.01, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}}},
		{"sgd", Train{Optimizer: &Optimizer{Name: "sgd"}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "sgd", LearningRate: 0.01}}},
		{"rmsprop", Train{Optimizer: &Optimizer{Name: "rmsprop"}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "rmsprop", LearningRate: 1e-3, Rho: 0.9, Epsilon: 1e-7}}},
		{"adadelta", Train{Optimizer: &Optimizer{Name: "adadelta"}},
			Training{Epochs: 1, BatchSize: 32, Seed: 1, Optimizer: OptimizerSettings{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-7}}},
		{"everything set", Train{Epochs: ptr(3), BatchSize: ptr(64), Seed: ptr(int64(42)), ValidationSplit: ptr(0.2),
			Optimizer: &Optimizer{Name: "adam", LearningRate: ptr(0.1), Beta1: ptr(0.8), Beta2: ptr(0.99), Epsilon: ptr(1e-8)}},
			Training{Epochs: 3, BatchSize: 64, Seed: 42, ValidationSplit: 0.2, Optimizer: OptimizerSettings{Name: "adam", LearningRate: 0.1, Beta1: 0.8, Beta2: 0.99, Epsilon: 1e-8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.t.Resolve(); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestTrainInSpec checks the overrides through a whole spec: a model's train overrides the
// top-level one key by key, and parameters are checked against the optimizer that results.
func TestTrainInSpec(t *testing.T) {
	t.Parallel()
	const head = "name: t\ndataset: mnist\ntarget: {min: 0.9}\ntrain: {epochs: 5, optimizer: {name: adadelta, rho: 0.9}}\nmodels:\n  - name: a\n    layers: [{flatten: {}}, {dense: {units: 10}}]\n"
	tests := []struct {
		name, model string
		want        string // the resolved training of model b, or the errors
	}{
		{"inherits", "    train: {batch_size: 8}\n",
			"{Epochs:5 BatchSize:8 Optimizer:{Name:adadelta LearningRate:1 Momentum:0 Nesterov:false Rho:0.9 Beta1:0 Beta2:0 Epsilon:1e-07 WeightDecay:0} Seed:1 ValidationSplit:0 EarlyStop:<nil> Schedule:<nil> LabelSmoothing:0 Augment:<nil>}"},
		{"merges a nameless optimizer", "    train: {optimizer: {learning_rate: 0.5}}\n",
			"{Epochs:5 BatchSize:32 Optimizer:{Name:adadelta LearningRate:0.5 Momentum:0 Nesterov:false Rho:0.9 Beta1:0 Beta2:0 Epsilon:1e-07 WeightDecay:0} Seed:1 ValidationSplit:0 EarlyStop:<nil> Schedule:<nil> LabelSmoothing:0 Augment:<nil>}"},
		{"replaces with another optimizer", "    train: {optimizer: {name: sgd, momentum: 0.5}}\n",
			"{Epochs:5 BatchSize:32 Optimizer:{Name:sgd LearningRate:0.01 Momentum:0.5 Nesterov:false Rho:0 Beta1:0 Beta2:0 Epsilon:0 WeightDecay:0} Seed:1 ValidationSplit:0 EarlyStop:<nil> Schedule:<nil> LabelSmoothing:0 Augment:<nil>}"},
		{"parameter of the inherited optimizer's rival", "    train: {optimizer: {beta_1: 0.5}}\n",
			"train.yaml:10:33: models[1].train.optimizer.beta_1: beta_1 is a parameter of adam, not of adadelta; adadelta takes learning_rate, rho, epsilon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := head + "  - name: b\n    layers: [{flatten: {}}, {dense: {units: 10}}]\n" + tt.model
			s, errs := Parse("train.yaml", []byte(src))
			if len(errs) > 0 {
				t.Fatal(errs.Lines())
			}
			models, errs := Expand(s, mnist)
			var got string
			if len(errs) > 0 {
				got = errs.Lines()
			} else {
				got = fmt.Sprintf("%+v", models[1].Train)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// search, repeats and early_stop resolve with their defaults and overrides.
func TestSearchRepeatsEarlyStop(t *testing.T) {
	t.Parallel()
	src := `name: s
dataset: mnist
target: {min: 0.9, rule: min}
search: bisect
repeats: 3
sweep: {n: [4, 2]}
train: {validation_split: 0.1, early_stop: {patience: 5}}
models:
  - name: a
    layers: [{flatten: {}}, {dense: {units: n}}, {dense: {units: 10}}]
  - name: b
    search: grid
    repeats: 1
    train: {early_stop: {monitor: val_loss, min_delta: 0.01, restore_best: false}}
    layers: [{flatten: {}}, {dense: {units: n}}, {dense: {units: 10}}]
`
	s, errs := Parse("s.yaml", []byte(src))
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	ms, errs := Expand(s, mnist)
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	a, b := ms[0], ms[1]
	if a.Search != "bisect" || a.Repeats != 3 || *a.Train.EarlyStop != (EarlyStopping{Monitor: "val_accuracy", Patience: 5, RestoreBest: true}) {
		t.Errorf("a: search %s, repeats %d, early stop %+v", a.Search, a.Repeats, a.Train.EarlyStop)
	}
	if b.Search != "grid" || b.Repeats != 1 || *b.Train.EarlyStop != (EarlyStopping{Monitor: "val_loss", Patience: 3, MinDelta: 0.01}) {
		t.Errorf("b: search %s, repeats %d, early stop %+v", b.Search, b.Repeats, b.Train.EarlyStop)
	}
	if s.Target.Rule != "min" {
		t.Errorf("rule %q", s.Target.Rule)
	}
}

// TestRecipeResolve checks the defaults of the recipe settings: adamw's weight decay, each
// schedule's parameters, label smoothing and augmentation, and that a model's schedule and
// augment replace the top-level ones as a whole.
func TestRecipeResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    Train
		want string
	}{
		{"adamw", Train{Optimizer: &Optimizer{Name: "adamw"}},
			"{Name:adamw LearningRate:0.001 Momentum:0 Nesterov:false Rho:0 Beta1:0.9 Beta2:0.999 Epsilon:1e-07 WeightDecay:0.004} <nil> 0 <nil>"},
		{"weight decay on sgd", Train{Optimizer: &Optimizer{Name: "sgd", WeightDecay: ptr(0.0005)}},
			"{Name:sgd LearningRate:0.01 Momentum:0 Nesterov:false Rho:0 Beta1:0 Beta2:0 Epsilon:0 WeightDecay:0.0005} <nil> 0 <nil>"},
		{"step", Train{Schedule: &Schedule{Name: "step", EveryEpochs: ptr(3.0)}},
			"&{Name:step WarmupEpochs:0 EveryEpochs:3 Factor:0.1 DecayRate:0 DecayEpochs:0 Alpha:0 PctStart:0 DivFactor:0 FinalDivFactor:0 AnnealStrategy:}"},
		{"exponential", Train{Schedule: &Schedule{Name: "exponential", DecayRate: ptr(0.9), WarmupEpochs: ptr(0.5)}},
			"&{Name:exponential WarmupEpochs:0.5 EveryEpochs:0 Factor:0 DecayRate:0.9 DecayEpochs:1 Alpha:0 PctStart:0 DivFactor:0 FinalDivFactor:0 AnnealStrategy:}"},
		{"cosine", Train{Schedule: &Schedule{Name: "cosine"}},
			"&{Name:cosine WarmupEpochs:0 EveryEpochs:0 Factor:0 DecayRate:0 DecayEpochs:0 Alpha:0 PctStart:0 DivFactor:0 FinalDivFactor:0 AnnealStrategy:}"},
		{"onecycle", Train{Schedule: &Schedule{Name: "onecycle"}},
			"&{Name:onecycle WarmupEpochs:0 EveryEpochs:0 Factor:0 DecayRate:0 DecayEpochs:0 Alpha:0 PctStart:0.3 DivFactor:25 FinalDivFactor:10000 AnnealStrategy:cos}"},
		{"label smoothing and augment", Train{LabelSmoothing: ptr(0.1), Augment: &Augment{Shift: ptr(2), Zoom: ptr(0.1)}},
			"0.1 &{Shift:2 Rotate:0 Zoom:0.1}"},
		{"augment of nothing", Train{Augment: &Augment{Shift: ptr(0)}}, "0 <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.t.Resolve()
			var got string
			switch {
			case tt.t.Optimizer != nil:
				got = fmt.Sprintf("%+v %v %v %v", r.Optimizer, r.Schedule, r.LabelSmoothing, r.Augment)
			case tt.t.Schedule != nil:
				got = fmt.Sprintf("%+v", r.Schedule)
			default:
				got = fmt.Sprintf("%v %+v", r.LabelSmoothing, r.Augment)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("a model's schedule and augment replace the top-level ones", func(t *testing.T) {
		t.Parallel()
		top := Train{Schedule: &Schedule{Name: "cosine", Alpha: ptr(0.1)}, Augment: &Augment{Shift: ptr(2)}, LabelSmoothing: ptr(0.1)}
		r := top.Override(Train{Schedule: &Schedule{Name: "onecycle"}, Augment: &Augment{Rotate: ptr(5.0)}}).Resolve()
		if r.Schedule.Name != "onecycle" || r.Schedule.Alpha != 0 || *r.Augment != (Augmentation{Rotate: 5}) || r.LabelSmoothing != 0.1 {
			t.Errorf("got schedule %+v, augment %+v, label smoothing %v", r.Schedule, r.Augment, r.LabelSmoothing)
		}
	})
}

func TestRecipeText(t *testing.T) {
	t.Parallel()
	if got := (Train{}).Resolve().Recipe(); got != "" {
		t.Errorf("no recipe: %q", got)
	}
	tr := Train{Optimizer: &Optimizer{Name: "adamw"}, Schedule: &Schedule{Name: "cosine", Alpha: ptr(0.1), WarmupEpochs: ptr(1.0)},
		LabelSmoothing: ptr(0.1), Augment: &Augment{Shift: ptr(2), Rotate: ptr(10.0), Zoom: ptr(0.1)}}
	want := "weight_decay 0.004; schedule cosine (alpha 0.1, warmup_epochs 1); label_smoothing 0.1; augment shift ±2 px, rotate ±10°, zoom ±0.1"
	if got := tr.Resolve().Recipe(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
