package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/runner/ops"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// Statuses of a trained point.
const (
	StatusOK       = "ok"
	StatusDiverged = "diverged"
)

// ErrInterrupted is returned when the context is cancelled during training; the point's result is
// then incomplete and must not be stored.
var ErrInterrupted = errors.New("training interrupted")

// Options adjust one training run beyond the model's own settings.
type Options struct {
	// LimitTrain uses only the first LimitTrain training examples (after the validation split);
	// 0 uses all.
	LimitTrain int
	// EvalBatch is the batch size of the evaluation graph (default 256).
	EvalBatch int
	// Ops builds the layers (nil: ops.Fast).
	Ops builder.Ops
	// Progress, when set, is called after every training batch, and once more at the end of every
	// epoch (after validation) with EpochDone set.
	Progress func(Progress)
	// OnStep, when set with RecordSteps > 0, is called with the initial weights and then after
	// each of the first RecordSteps training steps (see Step); an error it returns ends training.
	OnStep      func(Step) error
	RecordSteps int
	// OnOrder, when set with OnStep, is called at the start of every epoch with the order in which
	// the epoch visits the training examples (a copy): all of training's batches, not only the
	// recorded ones, so that another implementation can replay the whole run.
	OnOrder func(epoch int, order []int)
}

// Progress reports where a training run is.
type Progress struct {
	Epoch, Epochs   int // 1-based epoch
	Batch, Batches  int // 1-based batch within the epoch
	Loss, Accuracy  float64
	EpochDone       bool
	Val             *Metrics // set at the end of an epoch when there is a validation set
	Elapsed         time.Duration
	ExamplesPerSecs float64
}

// Metrics are a loss and an accuracy (a fraction in [0, 1]) over a set of examples.
type Metrics struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// Epoch is the record of one epoch: the running training loss and accuracy over its batches and,
// with a validation split, the validation metrics at its end.
type Epoch struct {
	Epoch    int      `json:"epoch"`
	Loss     float64  `json:"loss"`
	Accuracy float64  `json:"accuracy"`
	Val      *Metrics `json:"val,omitempty"`
	Seconds  float64  `json:"seconds"`
	batches  int
}

// Result is the outcome of training one point.
type Result struct {
	Status string
	// Test holds the test-set metrics after the last epoch (zero when the point diverged).
	Test Metrics
	// Epochs is the number of epochs trained.
	Epochs       int
	TrainSeconds float64 // wall time of the training epochs, evaluation excluded
	History      []Epoch
	// TrainExamples is the number of training examples per epoch.
	TrainExamples int
	// StoppedEarly says early stopping ended training before its last epoch; BestEpoch is the
	// epoch whose validation metric was best (0 without early stopping).
	StoppedEarly bool
	BestEpoch    int
	// Weights are the weights the test set was evaluated with: those of the last epoch, or of the
	// best one when early stopping restored it. The caller may keep them; training is over.
	Weights *builder.Weights
}

// Train trains model m at point p on data with the model's training settings and evaluates it on
// the test set. It stops after the current batch when ctx is cancelled and returns ErrInterrupted.
// A loss that becomes NaN or infinite ends training with Status diverged and no error.
func Train(ctx context.Context, m spec.ResolvedModel, p spec.Point, data *dataset.Data, opts Options) (*Result, error) {
	cfg := m.Train
	train, val, err := trainingSets(m, data, opts)
	if err != nil {
		return nil, err
	}
	if opts.EvalBatch <= 0 {
		opts.EvalBatch = 256
	}
	if opts.Ops == nil {
		opts.Ops = ops.Fast{}
	}
	t, err := newTrainer(m, p, cfg, train.N, opts.EvalBatch, opts.Ops)
	if err != nil {
		return nil, err
	}
	defer t.close()
	t.steps = newStepRecorder(opts)
	if err := t.steps.weights(t, false); err != nil {
		return nil, err
	}
	res := &Result{Status: StatusOK, TrainExamples: train.N, Weights: t.weights}
	var stop *earlyStopper
	if cfg.EarlyStop != nil && val != nil {
		stop = newEarlyStopper(*cfg.EarlyStop)
	}
	start := time.Now()
	if err := t.epochs(ctx, res, train, val, stop, cfg.Epochs, start, opts.Progress); err != nil {
		return nil, err
	}
	res.TrainSeconds = time.Since(start).Seconds()
	if stop != nil {
		res.BestEpoch = stop.bestEpoch
		stop.restore(t.weights.Floats())
	}
	if err := t.steps.weights(t, true); err != nil {
		return nil, err
	}
	if res.Status == StatusOK {
		if res.Test, err = t.evaluate(data.Test); err != nil {
			return nil, err
		}
		if math.IsNaN(res.Test.Loss) || math.IsInf(res.Test.Loss, 0) {
			res.Status, res.Test = StatusDiverged, Metrics{}
		}
	}
	return res, nil
}

// trainingSets returns the examples m trains on and those it validates on (nil without a
// validation split), as the training settings and opts.LimitTrain cut data's training set.
func trainingSets(m spec.ResolvedModel, data *dataset.Data, opts Options) (train, val *dataset.Set, err error) {
	cfg := m.Train
	train = data.Train
	if cfg.ValidationSplit > 0 {
		if train, val, err = data.Train.Split(cfg.ValidationSplit, uint64(cfg.Seed)); err != nil {
			return nil, nil, err
		}
	}
	if opts.LimitTrain > 0 && opts.LimitTrain < train.N {
		train = train.Subset(0, opts.LimitTrain)
	}
	if train.H != m.Input.H || train.W != m.Input.W || train.C != m.Input.C {
		if train.H*train.W*train.C != m.Input.H*m.Input.W*m.Input.C {
			return nil, nil, fmt.Errorf("runner: the data's %d×%d×%d images do not fit the model's %s input", train.H, train.W, train.C, m.Input)
		}
	}
	return train, val, nil
}

// epochs trains up to n epochs into res, validating after each on val (when set), until the loss
// diverges or stop (when set) says so.
func (t *trainer) epochs(ctx context.Context, res *Result, train, val *dataset.Set, stop *earlyStopper, n int, start time.Time, progress func(Progress)) error {
	for epoch := 1; epoch <= n; epoch++ {
		ep, err := t.epoch(ctx, train, epoch, n, start, progress)
		if err != nil {
			return err
		}
		if math.IsNaN(ep.Loss) || math.IsInf(ep.Loss, 0) {
			res.Status = StatusDiverged
			res.History = append(res.History, ep)
			res.Epochs = epoch
			return nil
		}
		if val != nil {
			mv, err := t.evaluate(val)
			if err != nil {
				return err
			}
			ep.Val = &mv
		}
		if progress != nil {
			progress(Progress{Epoch: epoch, Epochs: n, Batch: ep.batches, Batches: ep.batches, EpochDone: true,
				Loss: ep.Loss, Accuracy: ep.Accuracy, Val: ep.Val, Elapsed: time.Since(start),
				ExamplesPerSecs: float64(train.N) / ep.Seconds})
		}
		res.History = append(res.History, ep)
		res.Epochs = epoch
		if stop != nil && stop.observe(epoch, *ep.Val, t.weights.Floats()) {
			res.StoppedEarly = true
			return nil
		}
	}
	return nil
}

// trainer holds one point's weights, graphs, machines and optimizer for the length of its training.
type trainer struct {
	model   spec.ResolvedModel
	weights *builder.Weights
	train   *builder.Graph
	eval    *evaluator
	trainVM G.VM
	solver  *solver
	grads   []G.ValueGrad
	order   []int
	shuffle *rand.Rand
	dropout *rand.Rand
	classes int
	steps   *stepRecorder // nil unless Options.OnStep records steps

	rates     *learningRates // nil: the optimizer's constant learning rate
	step      int            // global training steps taken
	augment   *augmenter     // nil: the training images as they are
	smoothing float64        // label smoothing ε
}

func newTrainer(m spec.ResolvedModel, p spec.Point, cfg spec.Training, n, evalBatch int, ops builder.Ops) (*trainer, error) {
	w, err := builder.NewWeights(m, p, cfg.Seed)
	if err != nil {
		return nil, err
	}
	batch := min(cfg.BatchSize, n)
	tg, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		return nil, err
	}
	eval, err := newEvaluator(m, p, w, evalBatch, ops)
	if err != nil {
		return nil, err
	}
	solver, err := newSolver(cfg.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	t := &trainer{
		model: m, weights: w, train: tg, eval: eval, solver: solver,
		trainVM:   G.NewTapeMachine(tg.G),
		grads:     paramGrads(tg),
		order:     make([]int, n),
		shuffle:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x73687566)), // "shuf"
		dropout:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x64726f70)), // "drop"
		classes:   tg.Labels.Shape()[1],
		rates:     newLearningRates(cfg.Optimizer.LearningRate, cfg.Schedule, (n+batch-1)/batch, cfg.Epochs),
		augment:   newAugmenter(cfg.Augment, cfg.Seed, m.Input, batch),
		smoothing: cfg.LabelSmoothing,
	}
	for i := range t.order {
		t.order[i] = i
	}
	return t, nil
}

// paramGrad is a parameter and the node of its gradient, as the optimizer takes them.
//
// The training machine binds no dual values: with them, gorgonia's tape machine adds every
// gradient node's value into the parameter's bound gradient after each run, a pass over all the
// parameters (8% of the CPU time of an MLP n=512 run, on one core). The optimizer reads the
// gradient nodes' values instead; they hold the gradients of the last run until the next,
// which computes them anew, so the optimizer leaves them as they are (freshGrad).
type paramGrad struct{ param, grad *G.Node }

func (paramGrad) freshGrad() {}

func (p paramGrad) Name() string           { return p.param.Name() }
func (p paramGrad) Value() G.Value         { return p.param.Value() }
func (p paramGrad) Grad() (G.Value, error) { return p.grad.Value(), nil }

func paramGrads(g *builder.Graph) []G.ValueGrad {
	vgs := make([]G.ValueGrad, len(g.Params))
	for i, p := range g.Params {
		vgs[i] = paramGrad{p, g.Grads[i]}
	}
	return vgs
}

func (t *trainer) close() {
	t.trainVM.Close()
	t.eval.close()
}

// epoch trains one pass over the shuffled training set, the last partial batch included.
func (t *trainer) epoch(ctx context.Context, set *dataset.Set, epoch, epochs int, start time.Time, progress func(Progress)) (Epoch, error) {
	began := time.Now()
	t.shuffle.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
	t.steps.epochOrder(epoch, t.order)
	g := t.train
	batches := (set.N + g.Batch - 1) / g.Batch
	var lossSum float64
	var correct, seen int
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return Epoch{}, ErrInterrupted
		}
		idx := t.order[b*g.Batch : min((b+1)*g.Batch, set.N)]
		fillImages(g.Input.Value().Data().([]float32), set, idx)
		if t.augment != nil {
			t.augment.batch(g.Input.Value().Data().([]float32), len(idx))
		}
		fillLabels(g.Labels.Value().Data().([]float32), set, idx, t.classes, t.smoothing)
		if t.rates != nil {
			t.solver.SetLearningRate(t.rates.at(t.step))
		}
		t.step++
		if err := G.Let(g.Count, float32(len(idx))); err != nil {
			return Epoch{}, err
		}
		t.fillDropout()
		if err := t.trainVM.RunAll(); err != nil {
			return Epoch{}, fmt.Errorf("runner: training step: %w", err)
		}
		loss := float64(g.Loss.Value().Data().(float32))
		correct += countCorrect(g.LogProbs.Value().Data().([]float32), set, idx, t.classes)
		var rec Step
		if t.steps.active() {
			rec = t.steps.batch(t, set, epoch, idx, loss)
		}
		if err := t.solver.Step(t.grads); err != nil {
			return Epoch{}, fmt.Errorf("runner: optimizer step: %w", err)
		}
		if rec.Step > 0 {
			if err := t.steps.finish(t, rec); err != nil {
				return Epoch{}, err
			}
		}
		t.trainVM.Reset()
		lossSum += loss * float64(len(idx))
		seen += len(idx)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return Epoch{Epoch: epoch, Loss: loss, Accuracy: float64(correct) / float64(seen), Seconds: time.Since(began).Seconds()}, nil
		}
		if progress != nil {
			el := time.Since(start)
			progress(Progress{Epoch: epoch, Epochs: epochs, Batch: b + 1, Batches: batches, Loss: lossSum / float64(seen),
				Accuracy: float64(correct) / float64(seen), Elapsed: el,
				ExamplesPerSecs: float64(seen) / time.Since(began).Seconds()})
		}
	}
	return Epoch{Epoch: epoch, Loss: lossSum / float64(seen), Accuracy: float64(correct) / float64(seen),
		Seconds: time.Since(began).Seconds(), batches: batches}, nil
}

// fillDropout draws new dropout masks: each value kept with probability 1-rate and scaled by
// 1/(1-rate) (inverted dropout, as Keras).
func (t *trainer) fillDropout() {
	for i, m := range t.train.Dropouts {
		rate := t.train.DropoutRates[i]
		keep := float32(1 / (1 - rate))
		d := m.Value().Data().([]float32)
		for j := range d {
			if t.dropout.Float64() < rate {
				d[j] = 0
			} else {
				d[j] = keep
			}
		}
	}
}

// evaluate computes the mean cross-entropy and the accuracy of the model over a whole set.
func (t *trainer) evaluate(set *dataset.Set) (Metrics, error) { return t.eval.metrics(set, nil) }

// evaluator runs a model's evaluation graph over sets of examples.
type evaluator struct {
	g       *builder.Graph
	vm      G.VM
	classes int
}

func newEvaluator(m spec.ResolvedModel, p spec.Point, w *builder.Weights, batch int, ops builder.Ops) (*evaluator, error) {
	g, err := builder.Build(m, p, w, batch, false, ops)
	if err != nil {
		return nil, err
	}
	return &evaluator{g: g, vm: G.NewTapeMachine(g.G), classes: g.LogProbs.Shape()[1]}, nil
}

func (e *evaluator) close() { e.vm.Close() }

// pass runs the graph over set in batches of the graph's size, handing each batch's examples and
// log-probabilities ([len(idx), classes], row-major) to fn. A failed evaluation step is an error:
// it says nothing about whether the model diverged.
func (e *evaluator) pass(set *dataset.Set, fn func(idx []int, logp []float32)) error {
	g := e.g
	idx := make([]int, 0, g.Batch)
	for lo := 0; lo < set.N; lo += g.Batch {
		idx = idx[:0]
		for i := lo; i < min(lo+g.Batch, set.N); i++ {
			idx = append(idx, i)
		}
		fillImages(g.Input.Value().Data().([]float32), set, idx)
		if err := e.vm.RunAll(); err != nil {
			return fmt.Errorf("runner: evaluation step: %w", err)
		}
		fn(idx, g.LogProbs.Value().Data().([]float32)[:len(idx)*e.classes])
		e.vm.Reset()
	}
	return nil
}

// metrics computes the mean cross-entropy and the accuracy of the model over a whole set, and,
// when probs is not nil, appends every example's softmax probabilities to it.
func (e *evaluator) metrics(set *dataset.Set, probs *[]float32) (Metrics, error) {
	var lossSum float64
	var correct int
	err := e.pass(set, func(idx []int, logp []float32) {
		for r, i := range idx {
			lossSum -= float64(logp[r*e.classes+int(set.Labels[i])])
		}
		correct += countCorrect(logp, set, idx, e.classes)
		if probs != nil {
			for _, v := range logp {
				*probs = append(*probs, float32(math.Exp(float64(v))))
			}
		}
	})
	if err != nil {
		return Metrics{}, err
	}
	return Metrics{Loss: lossSum / float64(set.N), Accuracy: float64(correct) / float64(set.N)}, nil
}

// Evaluate computes the loss and accuracy over set of model m at point p with the weights w, as
// Train evaluates the test set: the same evaluation graph, batch size (opts.EvalBatch, default
// 256) and ops (opts.Ops, default ops.Fast), so that the weights a training ended with give back
// its test metrics exactly. Probabilities, when not nil, receives the softmax probabilities of
// every example, [set.N, classes] row-major.
func Evaluate(m spec.ResolvedModel, p spec.Point, w *builder.Weights, set *dataset.Set, opts Options, probabilities *[]float32) (Metrics, error) {
	if opts.EvalBatch <= 0 {
		opts.EvalBatch = 256
	}
	if opts.Ops == nil {
		opts.Ops = ops.Fast{}
	}
	e, err := newEvaluator(m, p, w, opts.EvalBatch, opts.Ops)
	if err != nil {
		return Metrics{}, err
	}
	defer e.close()
	if probabilities != nil {
		*probabilities = (*probabilities)[:0]
	}
	return e.metrics(set, probabilities)
}

// ImagesNCHW returns every example of set as the graphs see them: [set.N, C, H, W] float32,
// row-major (the set holds them HWC).
func ImagesNCHW(set *dataset.Set) []float32 {
	idx := make([]int, set.N)
	for i := range idx {
		idx[i] = i
	}
	dst := make([]float32, set.N*set.H*set.W*set.C)
	fillImages(dst, set, idx)
	return dst
}

// fillImages copies the examples idx of set into an NCHW batch; rows past len(idx) are zeroed.
func fillImages(dst []float32, set *dataset.Set, idx []int) {
	h, w, c := set.H, set.W, set.C
	size := h * w * c
	for r, i := range idx {
		src := set.Example(i)
		row := dst[r*size : (r+1)*size]
		if c == 1 {
			copy(row, src)
			continue
		}
		for y := range h {
			for x := range w {
				for ch := range c {
					row[(ch*h+y)*w+x] = src[(y*w+x)*c+ch]
				}
			}
		}
	}
	clear(dst[len(idx)*size:])
}

// fillLabels writes the target rows for idx: one-hot, or with label smoothing ε > 0 Keras's
// y·(1−ε) + ε/classes (in float32, as Keras computes it); rows past len(idx) are zero, so they
// add nothing to the loss.
func fillLabels(dst []float32, set *dataset.Set, idx []int, classes int, smoothing float64) {
	clear(dst)
	if smoothing == 0 {
		for r, i := range idx {
			dst[r*classes+int(set.Labels[i])] = 1
		}
		return
	}
	off := float32(smoothing) / float32(classes)
	on := (1 - float32(smoothing)) + off
	for r, i := range idx {
		row := dst[r*classes : (r+1)*classes]
		for k := range row {
			row[k] = off
		}
		row[set.Labels[i]] = on
	}
}

// countCorrect counts the rows of idx whose highest log-probability is the label (the first
// maximum on ties).
func countCorrect(logp []float32, set *dataset.Set, idx []int, classes int) int {
	n := 0
	for r, i := range idx {
		row := logp[r*classes : (r+1)*classes]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if best == int(set.Labels[i]) {
			n++
		}
	}
	return n
}
