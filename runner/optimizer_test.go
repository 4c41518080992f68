package runner

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/internal/testcmp"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// testParam is a ValueGrad over plain tensors, standing in for a graph node.
type testParam struct {
	name    string
	value   gorgonia.Value
	grad    gorgonia.Value
	gradErr error
}

func (p *testParam) Value() gorgonia.Value { return p.value }
func (p *testParam) Name() string          { return p.name }
func (p *testParam) Grad() (gorgonia.Value, error) {
	if p.gradErr != nil {
		return nil, p.gradErr
	}
	return p.grad, nil
}

func dense32(xs ...float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(xs)), tensor.WithBacking(xs))
}

func newParam(name string, w ...float32) *testParam {
	return &testParam{name: name, value: dense32(w...), grad: dense32(make([]float32, len(w))...)}
}

func (p *testParam) weights() []float32 { return p.value.(*tensor.Dense).Float32s() }
func (p *testParam) setGrad(g []float32) {
	copy(p.grad.(*tensor.Dense).Float32s(), g)
}

func model(ps ...*testParam) []gorgonia.ValueGrad {
	vgs := make([]gorgonia.ValueGrad, len(ps))
	for i, p := range ps {
		vgs[i] = p
	}
	return vgs
}

func mustOptimizer(t *testing.T, c OptimizerConfig) *solver {
	t.Helper()
	s, err := NewOptimizer(c)
	if err != nil {
		t.Fatalf("NewOptimizer(%+v): %v", c, err)
	}
	return s.(*solver)
}

func mustDefault(t *testing.T, name string) OptimizerConfig {
	t.Helper()
	c, ok := spec.DefaultOptimizerSettings(name)
	if !ok {
		t.Fatalf("no optimizer %q", name)
	}
	return c
}

// spec's defaults are Keras's and are accepted as they are.
func TestDefaultOptimizer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want OptimizerConfig
	}{
		{"sgd", OptimizerConfig{Name: "sgd", LearningRate: 0.01}},
		{"rmsprop", OptimizerConfig{Name: "rmsprop", LearningRate: 0.001, Rho: 0.9, Epsilon: 1e-7}},
		{"adam", OptimizerConfig{Name: "adam", LearningRate: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}},
		{"adadelta", OptimizerConfig{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustDefault(t, tt.name)
			if got != tt.want {
				t.Errorf("spec.DefaultOptimizerSettings(%q) = %+v, want %+v", tt.name, got, tt.want)
			}
			if _, err := NewOptimizer(got); err != nil {
				t.Errorf("NewOptimizer(%q defaults): %v", tt.name, err)
			}
		})
	}
}

func TestNewOptimizerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config OptimizerConfig
		want   string
	}{
		{"unknown name", OptimizerConfig{Name: "lamb", LearningRate: 1},
			`optimizer "lamb": unknown name; use one of sgd, rmsprop, adam, adadelta, adamw`},
		{"empty name", OptimizerConfig{LearningRate: 1},
			`optimizer "": unknown name; use one of sgd, rmsprop, adam, adadelta, adamw`},
		{"zero learning rate", OptimizerConfig{Name: "sgd"},
			`optimizer "sgd": learning rate must be a positive number, got 0`},
		{"negative learning rate", OptimizerConfig{Name: "sgd", LearningRate: -0.1},
			`optimizer "sgd": learning rate must be a positive number, got -0.1`},
		{"NaN learning rate", OptimizerConfig{Name: "sgd", LearningRate: math.NaN()},
			`optimizer "sgd": learning rate must be a positive number, got NaN`},
		{"infinite learning rate", OptimizerConfig{Name: "sgd", LearningRate: math.Inf(1)},
			`optimizer "sgd": learning rate must be a positive number, got +Inf`},
		{"momentum 1", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: 1},
			`optimizer "sgd": momentum must be in [0, 1), got 1`},
		{"negative momentum", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: -0.5},
			`optimizer "sgd": momentum must be in [0, 1), got -0.5`},
		{"nesterov without momentum", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Nesterov: true},
			`optimizer "sgd": nesterov needs a momentum > 0`},
		{"epsilon on sgd", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Epsilon: 1e-7},
			`optimizer "sgd": epsilon does not apply to sgd, got 1e-07; leave it 0`},
		{"rho 1", OptimizerConfig{Name: "rmsprop", LearningRate: 0.1, Rho: 1, Epsilon: 1e-7},
			`optimizer "rmsprop": rho must be in [0, 1), got 1`},
		{"rmsprop momentum", OptimizerConfig{Name: "rmsprop", LearningRate: 0.1, Rho: 0.9, Epsilon: 1e-7, Momentum: 0.9},
			`optimizer "rmsprop": momentum does not apply to rmsprop, got 0.9; leave it 0`},
		{"zero epsilon", OptimizerConfig{Name: "adadelta", LearningRate: 1, Rho: 0.95},
			`optimizer "adadelta": epsilon must be a positive number, got 0`},
		{"adadelta nesterov", OptimizerConfig{Name: "adadelta", LearningRate: 1, Rho: 0.95, Epsilon: 1e-7, Nesterov: true},
			`optimizer "adadelta": nesterov applies only to sgd with momentum`},
		{"adam beta2 1", OptimizerConfig{Name: "adam", LearningRate: 1e-3, Beta1: 0.9, Beta2: 1, Epsilon: 1e-7},
			`optimizer "adam": beta2 must be in [0, 1), got 1`},
		{"adam rho", OptimizerConfig{Name: "adam", LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Rho: 0.9},
			`optimizer "adam": rho does not apply to adam, got 0.9; leave it 0`},
		{"every problem reported", OptimizerConfig{Name: "adam", LearningRate: -1, Beta1: 1.5, Beta2: -0.1, Epsilon: -1},
			`optimizer "adam": learning rate must be a positive number, got -1` + "\n" +
				`optimizer "adam": beta1 must be in [0, 1), got 1.5` + "\n" +
				`optimizer "adam": beta2 must be in [0, 1), got -0.1` + "\n" +
				`optimizer "adam": epsilon must be a positive number, got -1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewOptimizer(tt.config)
			if err == nil {
				t.Fatalf("NewOptimizer(%+v) = %v, want error %q", tt.config, s, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("NewOptimizer(%+v) error:\n%s\nwant:\n%s", tt.config, err, tt.want)
			}
		})
	}
}

// The reference rules below are written in float64, in the textbook or paper form rather than
// the form optimizer.go uses, so that they check the algebra as well as the code. Each takes
// one parameter's weights, gradient and state slots (in the solver's slot order), and the
// step number t counted from 1.
type referenceRule func(c OptimizerConfig, w, g []float64, state [][]float64, t int)

func referenceSGD(c OptimizerConfig, w, g []float64, state [][]float64, _ int) {
	for i := range w {
		if c.Momentum == 0 {
			w[i] -= c.LearningRate * g[i]
			continue
		}
		velocity := state[0]
		velocity[i] = c.Momentum*velocity[i] - c.LearningRate*g[i]
		if c.Nesterov {
			// Look ahead along the new velocity.
			w[i] += c.Momentum*velocity[i] - c.LearningRate*g[i]
		} else {
			w[i] += velocity[i]
		}
	}
}

func referenceRMSprop(c OptimizerConfig, w, g []float64, state [][]float64, _ int) {
	meanSquare := state[0]
	for i := range w {
		meanSquare[i] = c.Rho*meanSquare[i] + (1-c.Rho)*g[i]*g[i]
		w[i] -= c.LearningRate * g[i] / (math.Sqrt(meanSquare[i]) + c.Epsilon)
	}
}

// referenceAdam is Algorithm 1 of Kingma & Ba, with bias-corrected moments m̂ and v̂. Keras adds
// its ε to √v rather than to √v̂; in Algorithm 1's form that is an epsilon of ε/√(1−β2ᵗ).
func referenceAdam(c OptimizerConfig, w, g []float64, state [][]float64, t int) {
	m, v := state[0], state[1]
	correction1 := 1 - math.Pow(c.Beta1, float64(t))
	correction2 := 1 - math.Pow(c.Beta2, float64(t))
	algorithm1Epsilon := c.Epsilon / math.Sqrt(correction2)
	for i := range w {
		m[i] = c.Beta1*m[i] + (1-c.Beta1)*g[i]
		v[i] = c.Beta2*v[i] + (1-c.Beta2)*g[i]*g[i]
		mHat := m[i] / correction1
		vHat := v[i] / correction2
		w[i] -= c.LearningRate * mHat / (math.Sqrt(vHat) + algorithm1Epsilon)
	}
}

// referenceAdadelta is Algorithm 1 of Zeiler, with RMS[x] = √(E[x²] + ε), scaled by the learning rate.
func referenceAdadelta(c OptimizerConfig, w, g []float64, state [][]float64, _ int) {
	squaredGrads, squaredUpdates := state[0], state[1]
	rms := func(meanSquare float64) float64 { return math.Sqrt(meanSquare + c.Epsilon) }
	for i := range w {
		squaredGrads[i] = c.Rho*squaredGrads[i] + (1-c.Rho)*g[i]*g[i]
		update := -rms(squaredUpdates[i]) / rms(squaredGrads[i]) * g[i]
		squaredUpdates[i] = c.Rho*squaredUpdates[i] + (1-c.Rho)*update*update
		w[i] += c.LearningRate * update
	}
}

func TestOptimizerMatchesHandComputation(t *testing.T) {
	t.Parallel()
	// Two parameters of different sizes; three steps with different gradients, including a
	// zero gradient and sign changes.
	initial := [][]float32{{0.5, -1.5, 2}, {0.25, -0.75}}
	grads := [][][]float32{ // grads[step][param]
		{{0.8, -0.3, 1.5}, {-2, 0}},
		{{0.6, 0.1, -0.5}, {1.25, 0.5}},
		{{-0.4, 0.2, 0.9}, {0.75, -1}},
	}
	withLR := func(name string, lr float64) OptimizerConfig {
		c := mustDefault(t, name)
		c.LearningRate = lr
		return c
	}
	tests := []struct {
		name      string
		config    OptimizerConfig
		reference referenceRule
	}{
		{"sgd", withLR("sgd", 0.1), referenceSGD},
		{"sgd momentum", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: 0.9}, referenceSGD},
		{"sgd nesterov", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: 0.9, Nesterov: true}, referenceSGD},
		{"rmsprop", withLR("rmsprop", 0.01), referenceRMSprop},
		// A large epsilon pins down where it is added: outside the square root.
		{"rmsprop large epsilon", OptimizerConfig{Name: "rmsprop", LearningRate: 0.01, Rho: 0.9, Epsilon: 0.1}, referenceRMSprop},
		{"adam", withLR("adam", 0.01), referenceAdam},
		// A large epsilon pins down where it is added: outside the bias correction.
		{"adam large epsilon", OptimizerConfig{Name: "adam", LearningRate: 0.01, Beta1: 0.8, Beta2: 0.9, Epsilon: 0.1}, referenceAdam},
		{"adadelta", mustDefault(t, "adadelta"), referenceAdadelta},
		{"adadelta large epsilon", OptimizerConfig{Name: "adadelta", LearningRate: 0.5, Rho: 0.9, Epsilon: 0.01}, referenceAdadelta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustOptimizer(t, tt.config)
			params := make([]*testParam, len(initial))
			want := make([][]float64, len(initial))
			wantState := make([][][]float64, len(initial))
			for i, w := range initial {
				params[i] = newParam(fmt.Sprintf("w%d", i), append([]float32(nil), w...)...)
				want[i] = float64s(w)
				wantState[i] = [][]float64{make([]float64, len(w)), make([]float64, len(w))}
			}
			for step, stepGrads := range grads {
				for i, p := range params {
					p.setGrad(stepGrads[i])
					tt.reference(tt.config, want[i], float64s(stepGrads[i]), wantState[i], step+1)
				}
				if err := s.Step(model(params...)); err != nil {
					t.Fatalf("step %d: %v", step+1, err)
				}
				for i, p := range params {
					where := fmt.Sprintf("step %d, param %d", step+1, i)
					compareRelative(t, where+", weights", p.weights(), want[i])
					for k, slot := range s.state[i] {
						compareRelative(t, fmt.Sprintf("%s, state slot %d", where, k), slot, wantState[i][k])
					}
				}
			}
		})
	}
}

func float64s(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// compareRelative reports elements of got more than 1e-6 (relative) from want.
func compareRelative(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if diff := math.Abs(float64(got[i]) - want[i]); diff > 1e-6*math.Abs(want[i]) {
			t.Errorf("%s[%d] = %.9g, want %.9g (relative error %.2g)", what, i, got[i], want[i], diff/math.Abs(want[i]))
		}
	}
}

func TestOptimizerStatePersistsAcrossSteps(t *testing.T) {
	t.Parallel()
	// Each case takes two steps on one solver and compares the second step's displacement
	// with that of a fresh solver given the same second gradient: they differ only through
	// the state the first step left behind.
	tests := []struct {
		name          string
		config        OptimizerConfig
		first, second float32
	}{
		{"sgd momentum", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: 0.9}, 1, 0},
		{"sgd nesterov", OptimizerConfig{Name: "sgd", LearningRate: 0.1, Momentum: 0.9, Nesterov: true}, 1, 0},
		{"rmsprop", mustDefault(t, "rmsprop"), 1, 1},
		{"adam", mustDefault(t, "adam"), 1, 0},
		{"adadelta", mustDefault(t, "adadelta"), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			persisted := mustOptimizer(t, tt.config)
			p := newParam("w", 1)
			p.setGrad([]float32{tt.first})
			if err := persisted.Step(model(p)); err != nil {
				t.Fatal(err)
			}
			before := p.weights()[0]
			p.setGrad([]float32{tt.second})
			if err := persisted.Step(model(p)); err != nil {
				t.Fatal(err)
			}
			persistedMove := p.weights()[0] - before

			fresh := mustOptimizer(t, tt.config)
			q := newParam("w", before)
			q.setGrad([]float32{tt.second})
			if err := fresh.Step(model(q)); err != nil {
				t.Fatal(err)
			}
			freshMove := q.weights()[0] - before
			if persistedMove == freshMove {
				t.Errorf("second step moved the weight by %g, the same as a fresh optimizer: state was not kept", persistedMove)
			}
		})
	}
}

func TestOptimizerZeroSize(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sgd", "rmsprop", "adam", "adadelta"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// No parameters at all.
			s := mustOptimizer(t, mustDefault(t, name))
			for range 2 {
				if err := s.Step(nil); err != nil {
					t.Fatalf("Step(nil): %v", err)
				}
			}
			// A parameter with no elements beside a normal one.
			s = mustOptimizer(t, mustDefault(t, name))
			empty := &testParam{name: "empty",
				value: tensor.New(tensor.WithShape(0), tensor.Of(tensor.Float32)),
				grad:  tensor.New(tensor.WithShape(0), tensor.Of(tensor.Float32))}
			p := newParam("w", 1)
			for range 2 {
				p.setGrad([]float32{1})
				if err := s.Step(model(empty, p)); err != nil {
					t.Fatalf("Step with an empty parameter: %v", err)
				}
			}
			if p.weights()[0] >= 1 {
				t.Errorf("weight beside the empty parameter = %g, want it to have moved below 1", p.weights()[0])
			}
		})
	}
	// The slice rules accept empty slices.
	sgdUpdate(nil, nil, 1)
	momentumUpdate(nil, nil, nil, 1, 0.5, true)
	kernels.RMSpropUpdate(nil, nil, nil, 1, 0.9, 0.1, 1e-7)
	kernels.AdamUpdate(nil, nil, nil, nil, 1, 0.1, 0.001, 1e-7)
	kernels.AdadeltaUpdate(nil, nil, nil, nil, 1, 0.95, 0.05, 1e-7)
}

func TestOptimizerRankZeroParameter(t *testing.T) {
	t.Parallel()
	// A rank-0 tensor's Data() is a bare float32, not a slice; the solver must still update it.
	s := mustOptimizer(t, OptimizerConfig{Name: "sgd", LearningRate: 0.5})
	p := &testParam{name: "scalar",
		value: tensor.New(tensor.FromScalar(float32(2))),
		grad:  tensor.New(tensor.FromScalar(float32(1)))}
	if err := s.Step(model(p)); err != nil {
		t.Fatal(err)
	}
	if got := p.value.(*tensor.Dense).Data(); got != float32(1.5) {
		t.Errorf("scalar weight = %v, want 1.5", got)
	}
}

func TestOptimizerZeroesGradients(t *testing.T) {
	t.Parallel()
	s := mustOptimizer(t, mustDefault(t, "adam"))
	p := newParam("w", 1, 2, 3)
	p.setGrad([]float32{0.5, -1, 2})
	if err := s.Step(model(p)); err != nil {
		t.Fatal(err)
	}
	for i, g := range p.grad.(*tensor.Dense).Float32s() {
		if g != 0 {
			t.Errorf("gradient[%d] = %g after Step, want 0", i, g)
		}
	}
}

func TestOptimizerStepErrors(t *testing.T) {
	t.Parallel()
	float64Param := &testParam{name: "w64",
		value: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2})),
		grad:  tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2}))}
	scalarParam := &testParam{name: "f", value: gorgonia.NewF32(1), grad: gorgonia.NewF32(1)}
	view := func() *testParam {
		whole := dense32(1, 2, 3, 4)
		v, err := whole.Slice(tensor.S(1, 3))
		if err != nil {
			t.Fatal(err)
		}
		return &testParam{name: "view", value: v, grad: dense32(0, 0)}
	}
	tests := []struct {
		name  string
		first []*testParam // parameters of an earlier, successful step; nil for none
		then  []*testParam // parameters of the failing step, whose last is "bad" unless noted
		want  string
	}{
		{"parameter added", []*testParam{newParam("a", 1)}, []*testParam{newParam("a", 1), newParam("bad", 2)},
			"optimizer adam: got 2 parameters, earlier steps had 1; the parameter set must not change between steps"},
		{"parameter removed", []*testParam{newParam("a", 1), newParam("b", 2)}, []*testParam{newParam("a", 1)},
			"optimizer adam: got 1 parameters, earlier steps had 2; the parameter set must not change between steps"},
		{"parameter resized", []*testParam{newParam("a", 1), newParam("b", 2)}, []*testParam{newParam("a", 1), newParam("bad", 2, 3)},
			"optimizer adam: parameter 1 (bad) has 2 elements, earlier steps had 1; the parameter set must not change between steps"},
		{"float64 value", nil, []*testParam{newParam("a", 1), float64Param},
			"optimizer adam: parameter 1 (w64): value has dtype float64, want float32"},
		{"scalar value", nil, []*testParam{newParam("a", 1), scalarParam},
			"optimizer adam: parameter 1 (f): value is *gorgonia.F32, want a *tensor.Dense (scalar nodes are not supported; use a tensor of shape (1))"},
		{"view value", nil, []*testParam{newParam("a", 1), view()},
			"optimizer adam: parameter 1 (view): value is a view of another tensor, want a tensor that owns its data"},
		{"no gradient", nil, []*testParam{newParam("a", 1), {name: "bad", value: dense32(1), gradErr: errors.New("no dual value")}},
			"optimizer adam: parameter 1 (bad): no gradient (bind dual values, e.g. gorgonia.BindDualValues, and run the graph first): no dual value"},
		{"gradient of another size", nil, []*testParam{newParam("a", 1), {name: "bad", value: dense32(1, 2), grad: dense32(1)}},
			"optimizer adam: parameter 1 (bad): value has 2 elements but gradient has 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustOptimizer(t, mustDefault(t, "adam"))
			if tt.first != nil {
				for _, p := range tt.first {
					p.setGrad([]float32{1})
				}
				if err := s.Step(model(tt.first...)); err != nil {
					t.Fatalf("first step: %v", err)
				}
			}
			// A failing step changes nothing: neither the weights nor the gradients of the
			// parameters before the bad one, nor the step count.
			good := tt.then[0]
			good.setGrad([]float32{1})
			weightBefore := good.weights()[0]
			stepsBefore := s.rule.(*adamRule).t
			err := s.Step(model(tt.then...))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Step error:\n%v\nwant:\n%s", err, tt.want)
			}
			if got := good.weights()[0]; got != weightBefore {
				t.Errorf("failed Step changed a weight from %g to %g", weightBefore, got)
			}
			if got := good.grad.(*tensor.Dense).Float32s()[0]; got != 1 {
				t.Errorf("failed Step changed a gradient from 1 to %g", got)
			}
			if got := s.rule.(*adamRule).t; got != stepsBefore {
				t.Errorf("failed Step changed Adam's step count from %d to %d", stepsBefore, got)
			}
		})
	}
}

// TestOptimizerStepDoesNotAllocate is not parallel: testing.AllocsPerRun refuses to run in
// parallel tests.
func TestOptimizerStepDoesNotAllocate(t *testing.T) {
	for _, c := range []OptimizerConfig{
		mustDefault(t, "sgd"),
		{Name: "sgd", LearningRate: 0.01, Momentum: 0.9, Nesterov: true},
		mustDefault(t, "rmsprop"),
		mustDefault(t, "adam"),
		mustDefault(t, "adadelta"),
	} {
		t.Run(fmt.Sprintf("%s momentum %g", c.Name, c.Momentum), func(t *testing.T) {
			s := mustOptimizer(t, c)
			m := model(newParam("a", 1, 2, 3), newParam("b", 4))
			if err := s.Step(m); err != nil { // allocates the state
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(10, func() {
				if err := s.Step(m); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Step allocated %v times per call after the first, want 0", allocs)
			}
		})
	}
}

// regression is a graph for least-squares linear regression, y ≈ x1·w1 + x2·w2, with two
// learnable vectors so that the solver sees more than one parameter. Its loss is the mean
// squared error, a quadratic in the weights.
type regression struct {
	w1, w2 *gorgonia.Node
	loss   *gorgonia.Node
	vm     gorgonia.VM
}

func newRegression(t *testing.T) *regression {
	t.Helper()
	g := gorgonia.NewGraph()
	constant := func(name string, shape tensor.Shape, backing []float32) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing))))
	}
	// Targets are x1·(1, −2) + x2·(0.5) exactly.
	x1 := constant("x1", tensor.Shape{4, 2}, []float32{1, 2, -1, 0.5, 0.3, -1, 2, 1})
	x2 := constant("x2", tensor.Shape{4, 1}, []float32{1, -1, 0.5, 2})
	y := constant("y", tensor.Shape{4}, []float32{-2.5, -2.5, 2.55, 1})
	r := &regression{
		w1: constant("w1", tensor.Shape{2}, []float32{0.3, 0.2}),
		w2: constant("w2", tensor.Shape{1}, []float32{-0.4}),
	}
	pred := gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Mul(x1, r.w1)), gorgonia.Must(gorgonia.Mul(x2, r.w2))))
	r.loss = gorgonia.Must(gorgonia.Mean(gorgonia.Must(gorgonia.Square(gorgonia.Must(gorgonia.Sub(pred, y))))))
	if _, err := gorgonia.Grad(r.loss, r.w1, r.w2); err != nil {
		t.Fatal(err)
	}
	r.vm = gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(r.w1, r.w2))
	t.Cleanup(func() { r.vm.Close() })
	return r
}

// step runs the graph, applies one update with s, and returns the loss before the update.
func (r *regression) step(t *testing.T, s gorgonia.Solver) float32 {
	t.Helper()
	if err := r.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	loss := r.loss.Value().Data().(float32)
	if err := s.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{r.w1, r.w2})); err != nil {
		t.Fatal(err)
	}
	r.vm.Reset()
	return loss
}

func (r *regression) weights() []float32 {
	return append(append([]float32(nil), r.w1.Value().Data().([]float32)...), r.w2.Value().Data().([]float32)...)
}

func TestSGDMatchesGorgoniaVanillaSolver(t *testing.T) {
	t.Parallel()
	const lr = 0.05
	ours, stock := newRegression(t), newRegression(t)
	oursSolver := mustOptimizer(t, OptimizerConfig{Name: "sgd", LearningRate: lr})
	stockSolver := gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(lr))
	for step := 1; step <= 3; step++ {
		oursLoss, stockLoss := ours.step(t, oursSolver), stock.step(t, stockSolver)
		if oursLoss != stockLoss {
			t.Errorf("step %d: loss %g, VanillaSolver's graph has %g", step, oursLoss, stockLoss)
		}
	}
	got, want := ours.weights(), stock.weights()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after 3 steps weight %d = %.9g, VanillaSolver gives %.9g", i, got[i], want[i])
		}
	}
	if got[0] == 0.3 {
		t.Error("weights did not move")
	}
}

func TestOptimizersReduceQuadraticLoss(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config OptimizerConfig
	}{
		{"sgd", mustDefault(t, "sgd")},
		{"sgd nesterov", OptimizerConfig{Name: "sgd", LearningRate: 0.01, Momentum: 0.9, Nesterov: true}},
		{"rmsprop", mustDefault(t, "rmsprop")},
		{"adam", mustDefault(t, "adam")},
		{"adadelta", mustDefault(t, "adadelta")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// At the Keras default rates Adam, RMSprop and Adadelta move each weight by
			// about 1e-3 per step, so 50 steps take a few percent off the loss; every step
			// must lower it.
			r := newRegression(t)
			s := mustOptimizer(t, tt.config)
			first := r.step(t, s)
			previous := first
			for step := 1; step <= 50; step++ {
				loss := r.step(t, s)
				if !(loss < previous) && tt.config.Momentum == 0 {
					t.Errorf("step %d: loss %g, not below the previous %g", step, loss, previous)
				}
				previous = loss
			}
			t.Logf("loss %.6g -> %.6g after 50 steps", first, previous)
			if !(previous < 0.97*first) {
				t.Errorf("loss %g after 50 steps, want below 97%% of the initial %g", previous, first)
			}
		})
	}
}

// TestOptimizerSplitMatchesWhole checks that an update large enough to run in chunks on two
// goroutines gives the same bits as run whole, for every optimizer, over parameters whose sizes
// cut the chunks mid-parameter (and an empty one).
func TestOptimizerSplitMatchesWhole(t *testing.T) {
	t.Parallel()
	sizes := []int{optimizerSplitMinElements/3 + 7, 0, 5, optimizerSplitMinElements/2 + 13, 1, optimizerSplitMinElements / 4}
	for _, name := range []string{"sgd", "rmsprop", "adam", "adadelta"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := mustDefault(t, name)
			if name == "sgd" {
				c.Momentum, c.Nesterov = 0.9, true
			}
			rng := rand.New(rand.NewPCG(71, 72))
			var ps [2][]*testParam
			for _, n := range sizes {
				w := make([]float32, n)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				for k := range ps {
					ps[k] = append(ps[k], newParam("w", slices.Clone(w)...))
				}
			}
			solvers := [2]*solver{mustOptimizer(t, c), mustOptimizer(t, c)}
			for step := range 4 {
				for i, n := range sizes {
					g := make([]float32, n)
					for j := range g {
						g[j] = float32(rng.NormFloat64())
					}
					ps[0][i].setGrad(g)
					ps[1][i].setGrad(g)
				}
				for k, s := range solvers {
					if err := s.Step(model(ps[k]...)); err != nil {
						t.Fatal(err)
					}
					if step == 0 {
						if !s.eligible {
							t.Fatalf("%d elements are not eligible for splitting", optimizerSplitMinElements)
						}
						s.task.Mode = []kernels.PassMode{kernels.PassWhole, kernels.PassSplit}[k]
					}
				}
				for i := range sizes {
					if j := testcmp.FirstBitDifference(ps[1][i].weights(), ps[0][i].weights()); j >= 0 {
						t.Fatalf("step %d, parameter %d, element %d: split %v, whole %v", step, i, j, ps[1][i].weights()[j], ps[0][i].weights()[j])
					}
				}
			}
		})
	}
}

// freshParam is a testParam whose gradient the graph computes anew on every run.
type freshParam struct{ *testParam }

func (freshParam) freshGrad() {}

// TestOptimizerLeavesFreshGradients checks that Step zeroes the gradients it is handed but
// those a graph recomputes anyway (the trainer's gradient nodes), which it leaves as they are,
// and that both kinds get the same update.
func TestOptimizerLeavesFreshGradients(t *testing.T) {
	t.Parallel()
	s := mustOptimizer(t, mustDefault(t, "rmsprop"))
	bound, fresh := newParam("bound", 1, 2, 3), freshParam{newParam("fresh", 1, 2, 3)}
	g := []float32{0.5, -1, 2}
	bound.setGrad(g)
	fresh.setGrad(g)
	if err := s.Step([]gorgonia.ValueGrad{bound, fresh}); err != nil {
		t.Fatal(err)
	}
	if got := bound.grad.(*tensor.Dense).Float32s(); !slices.Equal(got, []float32{0, 0, 0}) {
		t.Errorf("bound gradient after Step = %v, want zeros", got)
	}
	if got := fresh.grad.(*tensor.Dense).Float32s(); !slices.Equal(got, g) {
		t.Errorf("fresh gradient after Step = %v, want it untouched (%v)", got, g)
	}
	if !slices.Equal(bound.weights(), fresh.weights()) || bound.weights()[0] == 1 {
		t.Errorf("weights after one step: bound %v, fresh %v; want equal and moved", bound.weights(), fresh.weights())
	}
}

// Weight decay shrinks every weight by w·wd·lr before the optimizer's own update, with the
// learning rate of the step (Keras 3's BaseOptimizer._apply_weight_decay); adamw is adam with
// Keras's default decay 0.004.
func TestWeightDecayMatchesHandComputation(t *testing.T) {
	t.Parallel()
	w0 := []float32{0.5, -1.5, 2}
	g := []float32{0.8, -0.3, 0}
	t.Run("sgd", func(t *testing.T) {
		t.Parallel()
		s := mustOptimizer(t, OptimizerConfig{Name: "sgd", LearningRate: 0.1, WeightDecay: 0.01})
		p := newParam("w", slices.Clone(w0)...)
		want := float64s(w0)
		for step, lr := range []float64{0.1, 0.05, 0.2} {
			s.SetLearningRate(lr)
			p.setGrad(g)
			for i := range want {
				want[i] = want[i] - want[i]*0.01*lr - lr*float64(g[i])
			}
			if err := s.Step(model(p)); err != nil {
				t.Fatal(err)
			}
			compareRelative(t, fmt.Sprintf("step %d", step+1), p.weights(), want)
		}
	})
	t.Run("adamw", func(t *testing.T) {
		t.Parallel()
		c := mustDefault(t, "adamw")
		if c.WeightDecay != 0.004 || c.LearningRate != 0.001 || c.Beta1 != 0.9 {
			t.Fatalf("adamw defaults %+v", c)
		}
		c.WeightDecay = 0.1 // large enough to show
		s := mustOptimizer(t, c)
		p := newParam("w", slices.Clone(w0)...)
		want := float64s(w0)
		state := [][]float64{make([]float64, 3), make([]float64, 3)}
		for step := 1; step <= 3; step++ {
			p.setGrad(g)
			for i := range want {
				want[i] -= want[i] * c.WeightDecay * c.LearningRate
			}
			referenceAdam(c, want, float64s(g), state, step)
			if err := s.Step(model(p)); err != nil {
				t.Fatal(err)
			}
			compareRelative(t, fmt.Sprintf("step %d", step), p.weights(), want)
		}
	})
	t.Run("out of range", func(t *testing.T) {
		t.Parallel()
		if _, err := NewOptimizer(OptimizerConfig{Name: "sgd", LearningRate: 0.1, WeightDecay: 1}); err == nil ||
			err.Error() != `optimizer "sgd": weight decay must be in [0, 1), got 1` {
			t.Errorf("error %v", err)
		}
	})
}
