package runner

import (
	"slices"

	"github.com/nnsweep/nnsweep/dataset"
)

// Step is one training step as Options.OnStep receives it, for comparing nnsweep's training with
// another implementation's step by step (bench/fidelity). Step 0 carries only the initial
// Weights; every later step carries the batch it trained on, its loss, the gradients of that loss
// and the weights after the optimizer's update. A last call with Final set carries the weights
// the test set is evaluated with. Every slice is a copy the callee may keep.
type Step struct {
	Final bool
	// Step counts the training steps from 1 (0: the initial weights); Epoch is 1-based.
	Step, Epoch int
	// Indices are the batch's examples as indices into the training set the point trains on
	// (after the validation split and --limit-train).
	Indices []int
	// Images is the batch as the graph saw it, NCHW float32, its real rows only; Labels are their
	// classes.
	Images []float32
	Labels []int32
	// Masks are the dropout masks of the step, one per dropout layer in layer order, each NCHW or
	// [rows, features] over the batch's real rows: 0 or 1/(1−rate) per value.
	Masks [][]float32
	// Loss is the batch's mean cross-entropy (against the smoothed targets with label smoothing).
	Loss float64
	// LearningRate is the learning rate of the step's update (float32, as the optimizer used it).
	LearningRate float64
	// Names and Shapes name the weight tensors ("conv2d_1/kernel", "dense_1/bias") and their
	// shapes (builder.Weights's layout); Grads and Weights follow that order, Grads nil for a
	// tensor the optimizer does not train (a batch_norm's moving statistics).
	Names        []string
	Shapes       [][]int
	NonTrainable []bool // per tensor: no gradient, not trained by the optimizer
	Grads        [][]float32
	Weights      [][]float32
}

// stepRecorder copies what Options.OnStep is given out of a trainer's buffers.
type stepRecorder struct {
	limit int // steps to record after the initial weights
	done  int
	call  func(Step) error
	order func(epoch int, order []int) // Options.OnOrder, or nil
}

func newStepRecorder(opts Options) *stepRecorder {
	if opts.OnStep == nil || opts.RecordSteps <= 0 {
		return nil
	}
	return &stepRecorder{limit: opts.RecordSteps, call: opts.OnStep, order: opts.OnOrder}
}

// epochOrder hands over a copy of the order in which an epoch visits the examples, when
// Options.OnOrder asks for it.
func (r *stepRecorder) epochOrder(epoch int, order []int) {
	if r != nil && r.order != nil {
		r.order(epoch, slices.Clone(order))
	}
}

// active reports whether the next step is one to record.
func (r *stepRecorder) active() bool { return r != nil && r.done < r.limit }

// weights hands over the weights alone: before the first step, and with final set once
// training has ended.
func (r *stepRecorder) weights(t *trainer, final bool) error {
	if r == nil {
		return nil
	}
	s := Step{Final: final}
	t.describeWeights(&s)
	return r.call(s)
}

// batch copies the batch, its masks, loss and gradients of the step just run; after the
// optimizer's update, finish adds the weights and hands the step over.
func (r *stepRecorder) batch(t *trainer, set *dataset.Set, epoch int, idx []int, loss float64) Step {
	g := t.train
	size := t.model.Input.H * t.model.Input.W * t.model.Input.C
	s := Step{Step: r.done + 1, Epoch: epoch, Indices: slices.Clone(idx), Loss: loss, LearningRate: float64(t.solver.LearningRate()),
		Images: slices.Clone(g.Input.Value().Data().([]float32)[:len(idx)*size])}
	for _, i := range idx {
		s.Labels = append(s.Labels, set.Labels[i])
	}
	for _, m := range g.Dropouts {
		d := m.Value().Data().([]float32)
		s.Masks = append(s.Masks, slices.Clone(d[:len(d)/g.Batch*len(idx)]))
	}
	j := 0
	for i := range t.weights.Tensors {
		if !t.weights.Trainable(i) {
			s.Grads = append(s.Grads, nil) // no gradient: a batch_norm's moving statistics
			continue
		}
		s.Grads = append(s.Grads, slices.Clone(g.Grads[j].Value().Data().([]float32)))
		j++
	}
	return s
}

func (r *stepRecorder) finish(t *trainer, s Step) error {
	t.describeWeights(&s)
	r.done++
	return r.call(s)
}

// describeWeights fills s's names, shapes and a copy of the weights.
func (t *trainer) describeWeights(s *Step) {
	for i, w := range t.weights.Tensors {
		s.Names = append(s.Names, t.weights.Names[i])
		s.NonTrainable = append(s.NonTrainable, !t.weights.Trainable(i))
		s.Shapes = append(s.Shapes, slices.Clone([]int(w.Shape())))
		s.Weights = append(s.Weights, slices.Clone(w.Data().([]float32)))
	}
}
