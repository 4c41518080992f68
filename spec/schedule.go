package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// Schedule names a learning-rate schedule and sets its parameters. The learning rate it scales
// is the optimizer's learning_rate (lr below). Lengths are in epochs, may be fractional, and are
// converted to training steps with the real number of steps per epoch, ⌈examples / batch_size⌉
// (the last partial batch is a step), rounded to the nearest step. The schedule is a function of
// the global step s (0 for the first update), evaluated before each update, as Keras's
// LearningRateSchedule:
//
//	constant     lr
//	step         lr · factor^⌊s / every⌋            (ExponentialDecay with staircase; factor default 0.1)
//	exponential  lr · decay_rate^(s / decay)        (ExponentialDecay; decay_epochs default 1)
//	cosine       lr · ((1−alpha)·½(1 + cos(π·min(s, D)/D)) + alpha)
//	             (CosineDecay; D is decay_epochs, default the rest of training; alpha default 0)
//	onecycle     PyTorch's OneCycleLR over the rest of training (T steps): from lr/div_factor up
//	             to lr until step pct_start·T − 1, then down to lr/(div_factor·final_div_factor)
//	             at step T − 1, each phase annealed by anneal_strategy (cos: the half cosine
//	             end + (start−end)·½(1 + cos(π·p)), linear: start + (end−start)·p, p the fraction
//	             of the phase done). Defaults: pct_start 0.3, div_factor 25,
//	             final_div_factor 10⁴, anneal_strategy cos.
//
// warmup_epochs (W steps, any schedule) ramps the learning rate linearly from 0 over the first W
// steps, lr(s) = schedule(0)·s/W for s < W, and then runs the schedule from its start,
// lr(s) = schedule(s − W), its length being the training less the warm-up: Keras's CosineDecay
// with initial_learning_rate 0, warmup_target lr and warmup_steps W does the same. Early
// stopping does not shorten a schedule.
type Schedule struct {
	Name           string   `yaml:"name" validate:"required,oneof=constant step exponential cosine onecycle" jsonschema:"enum=constant,enum=step,enum=exponential,enum=cosine,enum=onecycle,description=The schedule"`
	WarmupEpochs   *float64 `yaml:"warmup_epochs" validate:"omitempty,gte=0,lte=100000" jsonschema:"minimum=0,maximum=100000,default=0,description=Linear warm-up from 0 over this many epochs (every schedule)"`
	EveryEpochs    *float64 `yaml:"every_epochs" validate:"omitempty,gt=0,lte=100000" jsonschema:"exclusiveMinimum=0,maximum=100000,description=step: epochs between drops (required)"`
	Factor         *float64 `yaml:"factor" validate:"omitempty,gt=0,lte=1" jsonschema:"exclusiveMinimum=0,maximum=1,default=0.1,description=step: the factor of each drop"`
	DecayRate      *float64 `yaml:"decay_rate" validate:"omitempty,gt=0,lte=1" jsonschema:"exclusiveMinimum=0,maximum=1,description=exponential: the factor per decay_epochs (required)"`
	DecayEpochs    *float64 `yaml:"decay_epochs" validate:"omitempty,gt=0,lte=100000" jsonschema:"exclusiveMinimum=0,maximum=100000,description=exponential: epochs per decay_rate (default 1); cosine: epochs of the decay (default the rest of training)"`
	Alpha          *float64 `yaml:"alpha" validate:"omitempty,gte=0,lte=1" jsonschema:"minimum=0,maximum=1,default=0,description=cosine: the final learning rate as a fraction of learning_rate"`
	PctStart       *float64 `yaml:"pct_start" validate:"omitempty,gt=0,lt=1" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1,default=0.3,description=onecycle: the fraction of the steps spent rising"`
	DivFactor      *float64 `yaml:"div_factor" validate:"omitempty,gte=1,lte=1000000" jsonschema:"minimum=1,maximum=1000000,default=25,description=onecycle: starts at learning_rate / div_factor"`
	FinalDivFactor *float64 `yaml:"final_div_factor" validate:"omitempty,gte=1,lte=1000000000" jsonschema:"minimum=1,maximum=1000000000,default=10000,description=onecycle: ends at learning_rate / (div_factor · final_div_factor)"`
	AnnealStrategy string   `yaml:"anneal_strategy" validate:"omitempty,oneof=cos linear" jsonschema:"enum=cos,enum=linear,default=cos,description=onecycle: the shape of both phases"`
}

// ScheduleSettings is a Schedule with its defaults applied; parameters the schedule does not use
// are zero. DecayEpochs 0 with cosine means the rest of training.
type ScheduleSettings struct {
	Name           string  `json:"name"`
	WarmupEpochs   float64 `json:"warmup_epochs,omitempty"`
	EveryEpochs    float64 `json:"every_epochs,omitempty"`
	Factor         float64 `json:"factor,omitempty"`
	DecayRate      float64 `json:"decay_rate,omitempty"`
	DecayEpochs    float64 `json:"decay_epochs,omitempty"`
	Alpha          float64 `json:"alpha,omitempty"`
	PctStart       float64 `json:"pct_start,omitempty"`
	DivFactor      float64 `json:"div_factor,omitempty"`
	FinalDivFactor float64 `json:"final_div_factor,omitempty"`
	AnnealStrategy string  `json:"anneal_strategy,omitempty"`
}

// scheduleNames are the schedules in documentation order.
var scheduleNames = []string{"constant", "step", "exponential", "cosine", "onecycle"}

// scheduleParams lists the keys each schedule takes besides name and warmup_epochs, and
// scheduleRequired those it cannot do without.
var (
	scheduleParams = map[string][]string{
		"constant":    nil,
		"step":        {"every_epochs", "factor"},
		"exponential": {"decay_rate", "decay_epochs"},
		"cosine":      {"alpha", "decay_epochs"},
		"onecycle":    {"pct_start", "div_factor", "final_div_factor", "anneal_strategy"},
	}
	scheduleRequired = map[string][]string{
		"step":        {"every_epochs"},
		"exponential": {"decay_rate"},
	}
	scheduleExamples = map[string]string{
		"every_epochs": "10", "factor": "0.1", "decay_rate": "0.9", "decay_epochs": "1", "alpha": "0",
		"pct_start": "0.3", "div_factor": "25", "final_div_factor": "10000", "anneal_strategy": "cos",
	}
)

// setParams lists the keys besides name and warmup_epochs that s sets, in documentation order.
func (s *Schedule) setParams() []string {
	var out []string
	for _, kv := range []struct {
		key string
		set bool
	}{{"every_epochs", s.EveryEpochs != nil}, {"factor", s.Factor != nil}, {"decay_rate", s.DecayRate != nil},
		{"decay_epochs", s.DecayEpochs != nil}, {"alpha", s.Alpha != nil}, {"pct_start", s.PctStart != nil},
		{"div_factor", s.DivFactor != nil}, {"final_div_factor", s.FinalDivFactor != nil},
		{"anneal_strategy", s.AnnealStrategy != ""}} {
		if kv.set {
			out = append(out, kv.key)
		}
	}
	return out
}

// resolve applies the defaults of s's schedule. It assumes s passed validation.
func (s *Schedule) resolve() *ScheduleSettings {
	r := &ScheduleSettings{Name: s.Name}
	get := func(p *float64, def float64) float64 {
		if p != nil {
			return *p
		}
		return def
	}
	r.WarmupEpochs = get(s.WarmupEpochs, 0)
	switch s.Name {
	case "step":
		r.EveryEpochs, r.Factor = get(s.EveryEpochs, 1), get(s.Factor, 0.1)
	case "exponential":
		r.DecayRate, r.DecayEpochs = get(s.DecayRate, 1), get(s.DecayEpochs, 1)
	case "cosine":
		r.Alpha, r.DecayEpochs = get(s.Alpha, 0), get(s.DecayEpochs, 0)
	case "onecycle":
		r.PctStart, r.DivFactor, r.FinalDivFactor = get(s.PctStart, 0.3), get(s.DivFactor, 25), get(s.FinalDivFactor, 1e4)
		r.AnnealStrategy = orDefault(s.AnnealStrategy, "cos")
	}
	return r
}

// checkSchedule reports parameters that the named schedule does not take and required ones it
// lacks; the field rules check the name and the ranges.
func (s *Spec) checkSchedule(sc *Schedule, p Path) ErrorList {
	if sc == nil || s.rejected(p) {
		return nil
	}
	takes, known := scheduleParams[sc.Name]
	if !known {
		return nil // the field rules report the name
	}
	var errs ErrorList
	for _, key := range sc.setParams() {
		if slices.Contains(takes, key) {
			continue
		}
		var users []string
		for _, name := range scheduleNames {
			if slices.Contains(scheduleParams[name], key) {
				users = append(users, name)
			}
		}
		fix := fmt.Sprintf("remove %s; %s takes %s", key, sc.Name, describeScheduleParams(sc.Name))
		errs = append(errs, s.errorAt(p.Child(key), fix, "%s is a parameter of the %s schedule, not of %s", key, strings.Join(users, " and "), sc.Name))
	}
	for _, key := range scheduleRequired[sc.Name] {
		if !slices.Contains(sc.setParams(), key) {
			errs = append(errs, s.errorAt(p.Child("name"), fmt.Sprintf("add %s: %s to the schedule", key, scheduleExamples[key]),
				"the %s schedule needs %s", sc.Name, key))
		}
	}
	return errs
}

// describeScheduleParams lists what a schedule takes, for error messages.
func describeScheduleParams(name string) string {
	return strings.Join(append(slices.Clone(scheduleParams[name]), "warmup_epochs"), ", ")
}

// JSONSchemaExtend forbids the parameters that a named schedule does not take and requires
// those it needs.
func (Schedule) JSONSchemaExtend(s *jsonschema.Schema) {
	for _, name := range scheduleNames {
		forbidden := jsonschema.NewProperties()
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			if pair.Key != "name" && pair.Key != "warmup_epochs" && !slices.Contains(scheduleParams[name], pair.Key) {
				forbidden.Set(pair.Key, jsonschema.FalseSchema)
			}
		}
		s.AllOf = append(s.AllOf, &jsonschema.Schema{
			If:   &jsonschema.Schema{Properties: props("name", &jsonschema.Schema{Const: name}), Required: []string{"name"}},
			Then: &jsonschema.Schema{Properties: forbidden, Required: scheduleRequired[name]},
		})
	}
	s.Required = []string{"name"}
}

// Augment sets the random transformations of the training images, drawn anew for every example
// of every training batch from the training seed (validation and test images are never
// transformed). Each is off when unset or 0:
//
//	shift   a translation by whole pixels, dx and dy each uniform in [−shift, shift]
//	rotate  a rotation about the image centre by θ uniform in [−rotate, rotate] degrees
//	zoom    a scaling about the centre by s uniform in [1−zoom, 1+zoom] (s > 1 enlarges)
//
// The output pixel at p samples the input at c + R(−θ)·(p − c − d)/s (c the centre, d the
// shift) by bilinear interpolation, with zero outside the image (Keras's fill_mode "constant",
// fill_value 0, which suits digits on a black ground; Keras's preprocessing layers default to
// "reflect"). Every channel takes the same transformation. A whole-pixel shift alone moves the
// image exactly, without interpolation.
type Augment struct {
	Shift  *int     `yaml:"shift" validate:"omitempty,gte=0,lte=1000" jsonschema:"minimum=0,maximum=1000,default=0,description=Largest shift in pixels along each axis"`
	Rotate *float64 `yaml:"rotate" validate:"omitempty,gte=0,lte=180" jsonschema:"minimum=0,maximum=180,default=0,description=Largest rotation in degrees"`
	Zoom   *float64 `yaml:"zoom" validate:"omitempty,gte=0,lt=1" jsonschema:"minimum=0,exclusiveMaximum=1,default=0,description=Largest relative zoom\\, e.g. 0.1 for scales from 0.9 to 1.1"`
}

// Augmentation is an Augment with its defaults applied (zero: that transformation is off).
type Augmentation struct {
	Shift  int     `json:"shift,omitempty"`
	Rotate float64 `json:"rotate,omitempty"`
	Zoom   float64 `json:"zoom,omitempty"`
}

// IsZero reports whether a transforms nothing.
func (a Augmentation) IsZero() bool { return a == Augmentation{} }

// resolve applies the defaults; an augment that transforms nothing resolves to nil.
func (a *Augment) resolve() *Augmentation {
	r := &Augmentation{}
	if a.Shift != nil {
		r.Shift = *a.Shift
	}
	if a.Rotate != nil {
		r.Rotate = *a.Rotate
	}
	if a.Zoom != nil {
		r.Zoom = *a.Zoom
	}
	if r.IsZero() {
		return nil
	}
	return r
}

// checkRecipe checks the schedule of a train key at p.
func (s *Spec) checkRecipe(t *Train, p Path) ErrorList {
	return s.checkSchedule(t.Schedule, p.Child("schedule"))
}

// Recipe describes the training recipe beyond the optimizer's own update, in the spec's names:
// weight decay, the schedule with its parameters, label smoothing and augmentation, e.g.
// "weight_decay 0.004; schedule cosine (alpha 0.1, warmup_epochs 1); label_smoothing 0.1;
// augment shift ±2 px, rotate ±10°, zoom ±0.1". It is "" when none is set.
func (t Training) Recipe() string {
	var parts []string
	if wd := t.Optimizer.WeightDecay; wd != 0 {
		parts = append(parts, fmt.Sprintf("weight_decay %g", wd))
	}
	if s := t.Schedule; s != nil {
		var ps []string
		for _, kv := range []struct {
			key string
			v   float64
		}{{"every_epochs", s.EveryEpochs}, {"factor", s.Factor}, {"decay_rate", s.DecayRate}, {"decay_epochs", s.DecayEpochs},
			{"alpha", s.Alpha}, {"pct_start", s.PctStart}, {"div_factor", s.DivFactor}, {"final_div_factor", s.FinalDivFactor}} {
			if kv.v != 0 {
				ps = append(ps, fmt.Sprintf("%s %g", kv.key, kv.v))
			}
		}
		if s.AnnealStrategy != "" {
			ps = append(ps, "anneal_strategy "+s.AnnealStrategy)
		}
		if s.WarmupEpochs != 0 {
			ps = append(ps, fmt.Sprintf("warmup_epochs %g", s.WarmupEpochs))
		}
		text := "schedule " + s.Name
		if len(ps) > 0 {
			text += " (" + strings.Join(ps, ", ") + ")"
		}
		parts = append(parts, text)
	}
	if t.LabelSmoothing != 0 {
		parts = append(parts, fmt.Sprintf("label_smoothing %g", t.LabelSmoothing))
	}
	if a := t.Augment; a != nil {
		var ps []string
		if a.Shift != 0 {
			ps = append(ps, fmt.Sprintf("shift ±%d px", a.Shift))
		}
		if a.Rotate != 0 {
			ps = append(ps, fmt.Sprintf("rotate ±%g°", a.Rotate))
		}
		if a.Zoom != 0 {
			ps = append(ps, fmt.Sprintf("zoom ±%g", a.Zoom))
		}
		parts = append(parts, "augment "+strings.Join(ps, ", "))
	}
	return strings.Join(parts, "; ")
}
