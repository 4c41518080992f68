package runner

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// OptimizerConfig is a fully resolved optimizer setting: package spec has applied Keras's
// defaults (spec.DefaultOptimizerSettings lists them). Rates and coefficients are per step; the
// gradients the optimizer receives are means over the batch, so nothing here depends on the batch
// size. Fields that do not belong to the named optimizer must be zero (false for Nesterov);
// NewOptimizer rejects them rather than ignore a setting the user asked for.
type OptimizerConfig = spec.OptimizerSettings

func unknownOptimizer(name string) error {
	return fmt.Errorf("optimizer %q: unknown name; use one of sgd, rmsprop, adam, adadelta, adamw", name)
}

// NewOptimizer returns a gorgonia.Solver that applies the update rule of c to float32 tensors,
// matching TensorFlow 2 Keras (tf.keras.optimizers) step for step, in float32:
//
//	sgd       momentum 0:  w -= lr·g
//	          otherwise:   v = momentum·v − lr·g;  w += v   (Nesterov: w += momentum·v − lr·g, with the new v)
//	rmsprop   a = rho·a + (1−rho)·g²;  w −= lr·g / (√a + ε)
//	adam      t += 1;  m += (1−β1)·(g − m);  v += (1−β2)·(g² − v)
//	          lr_t = lr·√(1−β2ᵗ) / (1−β1ᵗ);  w −= lr_t·m / (√v + ε)
//	adadelta  a = rho·a + (1−rho)·g²;  d = √(s+ε)·g / √(a+ε);  s = rho·s + (1−rho)·d²;  w −= lr·d
//	adamw     adam, with its weight decay (spec.DefaultOptimizerSettings gives it 0.004)
//
// With a weight decay wd (any optimizer), every weight first decays as Keras 3's
// BaseOptimizer._apply_weight_decay does, w −= (w·wd)·lr, with the step's learning rate (the
// scheduled one, not Adam's bias-corrected lr_t), and then takes the update above; every
// parameter is decayed, biases included, as Keras decays every variable not excluded by name.
// SetLearningRate changes lr between steps, for a learning-rate schedule.
//
// State (v, a, m, s, t) starts at zero. Adam's ε is added outside the bias correction (the
// "ε̂" of Kingma & Ba, section 2), as TensorFlow's ApplyAdam kernel and Keras do; the moment
// updates use Keras's incremental form m += (1−β1)(g−m), equal to β1·m + (1−β1)·g up to rounding.
// RMSprop's ε is added after the square root, as in Keras 1–2 and tf.keras up to TF 2.10 (now
// tf.keras.optimizers.legacy.RMSprop); the optimizer rewritten in TF 2.11 and Keras 3 uses
// √(a+ε) instead, which differs only where a is within a few orders of magnitude of ε.
//
// The solver's Step expects the same parameters, in the same order, on every call (as from
// gorgonia.NodesToValueGrads over a fixed list of learnables): per-parameter state is allocated
// on the first Step and keyed by position, and a later Step with a different number of
// parameters or a different size at any position fails without changing anything. Each value
// must be a *tensor.Dense of Float32, not a view, with a gradient of the same dtype and size.
// Step zeroes every gradient after using it, as gorgonia's own solvers do, because a
// TapeMachine with BindDualValues adds each run's gradient to the one already bound.
//
// A solver is not safe for concurrent use. NewOptimizer reports every invalid value of c,
// joined into one error.
func NewOptimizer(c OptimizerConfig) (gorgonia.Solver, error) {
	return newSolver(c)
}

// newSolver is NewOptimizer with the solver's own type, whose learning rate can be set.
func newSolver(c OptimizerConfig) (*solver, error) {
	rule, err := newUpdateRule(c)
	if err != nil {
		return nil, err
	}
	return &solver{name: c.Name, rule: rule, lr: float32(c.LearningRate), decay: float32(c.WeightDecay)}, nil
}

// newUpdateRule validates c and converts it to the float32 rule it names.
func newUpdateRule(c OptimizerConfig) (updateRule, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("optimizer %q: "+format, append([]any{c.Name}, args...)...))
	}
	inUnitInterval := func(field string, x float64) {
		if !(x >= 0 && x < 1) {
			bad("%s must be in [0, 1), got %v", field, x)
		}
	}
	positive := func(field string, x float64) {
		if !(x > 0) || math.IsInf(x, 1) {
			bad("%s must be a positive number, got %v", field, x)
		}
	}
	unused := func(field string, x float64) {
		if x != 0 {
			bad("%s does not apply to %s, got %v; leave it 0", field, c.Name, x)
		}
	}

	positive("learning rate", c.LearningRate)
	if !(c.WeightDecay >= 0 && c.WeightDecay < 1) {
		bad("weight decay must be in [0, 1), got %v", c.WeightDecay)
	}
	if !spec.OptimizerTakes(c.Name, "learning_rate") {
		return nil, unknownOptimizer(c.Name)
	}
	// Which parameters an optimizer takes is spec's (by their YAML keys); the rest must be 0.
	for _, p := range []struct {
		field, key string
		value      float64
	}{{"momentum", "momentum", c.Momentum}, {"rho", "rho", c.Rho}, {"beta1", "beta_1", c.Beta1},
		{"beta2", "beta_2", c.Beta2}, {"epsilon", "epsilon", c.Epsilon}} {
		switch {
		case !spec.OptimizerTakes(c.Name, p.key):
			unused(p.field, p.value)
		case p.field == "epsilon":
			positive(p.field, p.value)
		default:
			inUnitInterval(p.field, p.value)
		}
	}
	if c.Nesterov && c.Name != "sgd" {
		bad("nesterov applies only to sgd with momentum")
	}
	var rule updateRule
	switch c.Name {
	case "sgd":
		if c.Nesterov && c.Momentum == 0 {
			bad("nesterov needs a momentum > 0")
		}
		if c.Momentum == 0 {
			rule = &sgdRule{lr: float32(c.LearningRate)}
		} else {
			rule = &momentumRule{lr: float32(c.LearningRate), momentum: float32(c.Momentum), nesterov: c.Nesterov}
		}
	case "rmsprop":
		rule = &rmspropRule{lr: float32(c.LearningRate), rho: float32(c.Rho), oneMinusRho: float32(1 - c.Rho), eps: float32(c.Epsilon)}
	case "adam", "adamw":
		rule = &adamRule{lr: float32(c.LearningRate), beta1: float32(c.Beta1), beta2: float32(c.Beta2),
			oneMinusBeta1: float32(1 - c.Beta1), oneMinusBeta2: float32(1 - c.Beta2), eps: float32(c.Epsilon)}
	case "adadelta":
		rule = &adadeltaRule{lr: float32(c.LearningRate), rho: float32(c.Rho), oneMinusRho: float32(1 - c.Rho), eps: float32(c.Epsilon)}
	default:
		return nil, unknownOptimizer(c.Name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rule, nil
}

// updateRule is one optimizer's update on flat float32 slices.
type updateRule interface {
	// slots is the number of per-element state slices the rule keeps for each parameter.
	slots() int
	// beginStep advances the per-step scalars (Adam's step count) once per Step, before any update.
	beginStep()
	// update applies one step to the weights w given their gradient g and the parameter's state
	// slots; g and every slot have len(w) elements.
	update(w, g []float32, state [][]float32)
	// setLearningRate sets the learning rate of the next steps (before beginStep).
	setLearningRate(lr float32)
}

// solver is the gorgonia.Solver NewOptimizer returns.
type solver struct {
	name  string
	rule  updateRule
	lr    float32 // the learning rate of the next step
	decay float32 // the weight decay; 0 for none

	started  bool          // whether the first Step has fixed the parameter set
	sizes    []int         // sizes[i] is the number of float32s of parameter i
	state    [][][]float32 // state[i][k] is slot k of parameter i
	weights  [][]float32   // per-Step scratch: the weights of parameter i
	grads    [][]float32   // per-Step scratch: the gradient of parameter i
	keepGrad []bool        // per-Step scratch: parameter i's gradient is fresh (freshGrad)

	// The update runs in chunks of the parameters' elements, on both cores when there are
	// enough of them and that is measured to pay (see kernels.Pass); each element is
	// updated the same way whichever goroutine does it.
	chunks   [][]updateSegment // the segments of each chunk
	task     *kernels.Pass
	eligible bool
}

// updateSegment is elements [lo, hi) of parameter param, with its state slots cut to match.
type updateSegment struct {
	param, lo, hi int
	state         [][]float32
}

// optimizerSplitMinElements is the fewest parameter elements whose update may be split over two
// goroutines; below it the update takes a few tens of microseconds.
const optimizerSplitMinElements = 1 << 16

// freshGrad is implemented by a ValueGrad whose gradient every run of the graph computes anew
// (a gradient node's value, see paramGrad) rather than adds to, so Step need not zero it.
type freshGrad interface{ freshGrad() }

// Step applies one update to every parameter of model and zeroes their gradients (but those of
// freshGrad parameters). It either updates all parameters or, on error, none.
func (s *solver) Step(model []gorgonia.ValueGrad) error {
	if s.started && len(model) != len(s.sizes) {
		return fmt.Errorf("optimizer %s: got %d parameters, earlier steps had %d; the parameter set must not change between steps",
			s.name, len(model), len(s.sizes))
	}
	if !s.started {
		s.weights = make([][]float32, len(model))
		s.grads = make([][]float32, len(model))
		s.keepGrad = make([]bool, len(model))
	}
	for i, vg := range model {
		w, g, err := float32Slices(vg)
		if err != nil {
			return fmt.Errorf("optimizer %s: parameter %d%s: %w", s.name, i, paramName(vg), err)
		}
		if s.started && len(w) != s.sizes[i] {
			return fmt.Errorf("optimizer %s: parameter %d%s has %d elements, earlier steps had %d; the parameter set must not change between steps",
				s.name, i, paramName(vg), len(w), s.sizes[i])
		}
		s.weights[i], s.grads[i] = w, g
		_, s.keepGrad[i] = vg.(freshGrad)
	}
	if !s.started {
		s.allocateState()
	}

	s.rule.beginStep()
	s.task.Run(s.eligible)
	for i := range s.weights {
		s.weights[i], s.grads[i] = nil, nil // hold no reference to the graph's tensors between steps
	}
	return nil
}

// chunk updates the segments of chunk c (of len(s.chunks), or all of them when chunks is 1)
// and zeroes their gradients (but fresh ones).
func (s *solver) chunk(c, chunks, _ int) {
	lo, hi := c, c+1
	if chunks == 1 {
		lo, hi = 0, len(s.chunks)
	}
	for _, segs := range s.chunks[lo:hi] {
		for _, seg := range segs {
			g := s.grads[seg.param][seg.lo:seg.hi]
			w := s.weights[seg.param][seg.lo:seg.hi]
			if s.decay != 0 {
				decayWeights(w, s.decay, s.lr)
			}
			s.rule.update(w, g, seg.state)
			if !s.keepGrad[seg.param] {
				clear(g)
			}
		}
	}
}

// SetLearningRate sets the learning rate of the steps that follow, as a schedule does; the
// weight decay uses it too.
func (s *solver) SetLearningRate(lr float64) {
	s.lr = float32(lr)
	s.rule.setLearningRate(s.lr)
}

// LearningRate returns the learning rate of the next step, as the update uses it (float32).
func (s *solver) LearningRate() float32 { return s.lr }

// decayWeights does w −= (w·decay)·lr, Keras 3's decoupled weight decay.
func decayWeights(w []float32, decay, lr float32) {
	for i := range w {
		w[i] -= float32(float32(w[i]*decay) * lr)
	}
}

// allocateState fixes the parameter set to the sizes in s.weights and zeroes the state.
func (s *solver) allocateState() {
	slots := s.rule.slots()
	s.sizes = make([]int, len(s.weights))
	s.state = make([][][]float32, len(s.weights))
	for i, w := range s.weights {
		s.sizes[i] = len(w)
		s.state[i] = make([][]float32, slots)
		for k := range s.state[i] {
			s.state[i][k] = make([]float32, len(w))
		}
	}
	s.started = true

	// Cut the concatenated elements into kernels.PassChunks equal chunks, each a list of segments of
	// whole or partial parameters.
	total := 0
	for _, n := range s.sizes {
		total += n
	}
	s.chunks = make([][]updateSegment, kernels.PassChunks)
	param, off := 0, 0 // the next element: parameter param, offset off
	for c := range s.chunks {
		lo, hi := kernels.ChunkRange(total, c, kernels.PassChunks)
		for todo := hi - lo; todo > 0; {
			for s.sizes[param] == off {
				param, off = param+1, 0
			}
			n := min(todo, s.sizes[param]-off)
			seg := updateSegment{param: param, lo: off, hi: off + n, state: make([][]float32, slots)}
			for k := range seg.state {
				seg.state[k] = s.state[param][k][off : off+n]
			}
			s.chunks[c] = append(s.chunks[c], seg)
			off += n
			todo -= n
		}
	}
	s.task = kernels.NewPass(s.chunk, kernels.PassChunks)
	s.eligible = total >= optimizerSplitMinElements
}

// float32Slices returns the backing slices of a parameter's value and gradient.
//
// It uses Float32s rather than Data().([]float32): Data returns a bare float32 for a rank-0
// tensor and panics on a tensor with no elements.
func float32Slices(vg gorgonia.ValueGrad) (w, g []float32, err error) {
	wt, err := denseFloat32("value", vg.Value())
	if err != nil {
		return nil, nil, err
	}
	gv, err := vg.Grad()
	if err != nil {
		return nil, nil, fmt.Errorf("no gradient (bind dual values, e.g. gorgonia.BindDualValues, and run the graph first): %w", err)
	}
	gt, err := denseFloat32("gradient", gv)
	if err != nil {
		return nil, nil, err
	}
	w, g = wt.Float32s(), gt.Float32s()
	if len(w) != len(g) {
		return nil, nil, fmt.Errorf("value has %d elements but gradient has %d", len(w), len(g))
	}
	return w, g, nil
}

func denseFloat32(what string, v gorgonia.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	switch {
	case !ok:
		return nil, fmt.Errorf("%s is %T, want a *tensor.Dense (scalar nodes are not supported; use a tensor of shape (1))", what, v)
	case d == nil:
		return nil, fmt.Errorf("%s is a nil *tensor.Dense", what)
	case d.Dtype() != tensor.Float32:
		return nil, fmt.Errorf("%s has dtype %v, want float32", what, d.Dtype())
	case d.IsMaterializable():
		return nil, fmt.Errorf("%s is a view of another tensor, want a tensor that owns its data", what)
	}
	return d, nil
}

// paramName returns " (name)" for a parameter that has a name, for error messages.
func paramName(vg gorgonia.ValueGrad) string {
	if n, ok := vg.(gorgonia.Namer); ok && n.Name() != "" {
		return " (" + n.Name() + ")"
	}
	return ""
}

// The update rules. Each update function is the whole rule for one parameter as a loop over
// slices; the state slices must have len(w) elements and start at zero. Products are rounded
// to float32 explicitly (float32(x*y)) so that the compiler cannot fuse them into FMAs, which
// it may do on some architectures: results are then the same on every machine.

// sgdRule is SGD without momentum.
type sgdRule struct{ lr float32 }

func (r *sgdRule) setLearningRate(lr float32) { r.lr = lr }
func (r *sgdRule) slots() int                 { return 0 }
func (r *sgdRule) beginStep()                 {}
func (r *sgdRule) update(w, g []float32, _ [][]float32) {
	sgdUpdate(w, g, r.lr)
}

// sgdUpdate does w -= lr·g.
func sgdUpdate(w, g []float32, lr float32) {
	checkLengths(w, g)
	for i := range w {
		w[i] -= float32(lr * g[i])
	}
}

// momentumRule is SGD with (possibly Nesterov) momentum; its slot is the velocity.
type momentumRule struct {
	lr, momentum float32
	nesterov     bool
}

func (r *momentumRule) setLearningRate(lr float32) { r.lr = lr }
func (r *momentumRule) slots() int                 { return 1 }
func (r *momentumRule) beginStep()                 {}
func (r *momentumRule) update(w, g []float32, state [][]float32) {
	momentumUpdate(w, g, state[0], r.lr, r.momentum, r.nesterov)
}

// momentumUpdate does v = momentum·v − lr·g, then w += v, or with nesterov w += momentum·v − lr·g.
func momentumUpdate(w, g, v []float32, lr, momentum float32, nesterov bool) {
	checkLengths(w, g, v)
	if nesterov {
		for i := range w {
			step := float32(lr * g[i])
			v[i] = float32(momentum*v[i]) - step
			w[i] += float32(momentum*v[i]) - step
		}
		return
	}
	for i := range w {
		v[i] = float32(momentum*v[i]) - float32(lr*g[i])
		w[i] += v[i]
	}
}

// The RMSprop, Adam and Adadelta updates are kernels.RMSpropUpdate, AdamUpdate and
// AdadeltaUpdate: AVX-512 where the CPU has it, bit-identical to their Go code.

// rmspropRule is RMSprop, not centered, without momentum; its slot is the mean square a.
type rmspropRule struct{ lr, rho, oneMinusRho, eps float32 }

func (r *rmspropRule) setLearningRate(lr float32) { r.lr = lr }
func (r *rmspropRule) slots() int                 { return 1 }
func (r *rmspropRule) beginStep()                 {}
func (r *rmspropRule) update(w, g []float32, state [][]float32) {
	kernels.RMSpropUpdate(w, g, state[0], r.lr, r.rho, r.oneMinusRho, r.eps)
}

// adamRule is Adam; its slots are the moment estimates m and v, and t counts the steps.
type adamRule struct {
	lr, beta1, beta2             float32
	oneMinusBeta1, oneMinusBeta2 float32
	eps                          float32

	t     int64   // steps taken, including the current one
	alpha float32 // the bias-corrected learning rate of step t
}

func (r *adamRule) setLearningRate(lr float32) { r.lr = lr }
func (r *adamRule) slots() int                 { return 2 }
func (r *adamRule) beginStep() {
	r.t++
	r.alpha = adamStepSize(r.lr, r.beta1, r.beta2, r.t)
}
func (r *adamRule) update(w, g []float32, state [][]float32) {
	kernels.AdamUpdate(w, g, state[0], state[1], r.alpha, r.oneMinusBeta1, r.oneMinusBeta2, r.eps)
}

// adamStepSize returns lr·√(1−beta2ᵗ) / (1−beta1ᵗ), Adam's learning rate for step t (counted from 1).
func adamStepSize(lr, beta1, beta2 float32, t int64) float32 {
	beta1Power := float32(math.Pow(float64(beta1), float64(t)))
	beta2Power := float32(math.Pow(float64(beta2), float64(t)))
	return float32(lr*kernels.Sqrt32(1-beta2Power)) / (1 - beta1Power)
}

// adadeltaRule is Adadelta; its slots are the mean squares of the gradients (a) and of the
// updates (s).
type adadeltaRule struct{ lr, rho, oneMinusRho, eps float32 }

func (r *adadeltaRule) setLearningRate(lr float32) { r.lr = lr }
func (r *adadeltaRule) slots() int                 { return 2 }
func (r *adadeltaRule) beginStep()                 {}
func (r *adadeltaRule) update(w, g []float32, state [][]float32) {
	kernels.AdadeltaUpdate(w, g, state[0], state[1], r.lr, r.rho, r.oneMinusRho, r.eps)
}

// checkLengths panics unless every slice has len(w) elements: callers size them together.
func checkLengths(w []float32, others ...[]float32) {
	for _, o := range others {
		if len(o) != len(w) {
			panic("runner: slice lengths do not match")
		}
	}
}
