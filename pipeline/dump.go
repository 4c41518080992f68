package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nnsweep/nnsweep/internal/atomicfile"
	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
	"github.com/sbinet/npyio/npz"
)

// DefaultDumpCount is how many training steps --dump-steps records when --dump-count is not given.
const DefaultDumpCount = 50

// dumpMeta is a step dump's meta.json: what another implementation needs to rebuild the model
// and replay its training (bench/fidelity.py reads it).
type dumpMeta struct {
	Version   string                 `json:"nnsweep"`
	Engine    string                 `json:"engine"`
	Spec      string                 `json:"spec"`
	Model     string                 `json:"model"`
	Point     string                 `json:"point"`
	Seed      int64                  `json:"seed"`
	Input     [3]int                 `json:"input_nchw"` // C, H, W of one example
	Classes   int                    `json:"classes"`
	Layers    []keyLayer             `json:"layers"`
	Optimizer spec.OptimizerSettings `json:"optimizer"`
	BatchSize int                    `json:"batch_size"`
	Dataset   string                 `json:"dataset"`
	Tensors   []dumpTensor           `json:"tensors"`
	Steps     int                    `json:"steps"` // steps asked for; the files step-NNNN.npz hold them
	// The training set the indices refer to: the dataset's training examples, less a validation
	// split, then the first LimitTrain (0: all).
	ValidationSplit float64 `json:"validation_split"`
	LimitTrain      int     `json:"limit_train"`
	// The training recipe, when set: the epochs the schedule spans, the schedule (each step's
	// learning rate is in its step file as lr), label smoothing and augmentation (the dumped
	// images are the augmented ones the graph saw).
	Epochs         int                    `json:"epochs"`
	Schedule       *spec.ScheduleSettings `json:"schedule,omitempty"`
	LabelSmoothing float64                `json:"label_smoothing,omitempty"`
	Augment        *spec.Augmentation     `json:"augment,omitempty"`
}

type dumpTensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	// NonTrainable marks a tensor without gradients (a batch_norm's moving statistics).
	NonTrainable bool `json:"non_trainable,omitempty"`
}

// stepDumper writes one training's steps into dir: meta.json, init.npz with the initial weights
// (weight_0, weight_1, … in meta's tensor order) and step-0001.npz, … with the batch (images NCHW
// flattened, labels, indices), the dropout masks (mask_0, …), the loss, the learning rate of the
// step's update (lr), the gradients (grad_i, absent for the non-trainable tensors)
// and the weights after the update (weight_i), final.npz with the trained weights and, once the
// training has been evaluated, result.json with its test metrics. Every array is
// one-dimensional; meta.json has the shapes.
type stepDumper struct {
	dir    string
	meta   dumpMeta
	orders [][]int // each epoch's order of the training examples
}

// order keeps an epoch's order of the training examples, for order.npz.
func (d *stepDumper) order(epoch int, order []int) { d.orders = append(d.orders, order) }

func (r *runState) newStepDumper(j job) (*stepDumper, error) {
	m := j.model
	name := fmt.Sprintf("%s-%s-seed%d", m.Name, j.point, j.seed)
	d := &stepDumper{dir: filepath.Join(r.opts.DumpSteps, name), meta: dumpMeta{
		Version: Version, Engine: r.opts.Engine, Spec: r.e.Spec.File, Model: m.Name, Point: j.point.String(), Seed: j.seed,
		Input: [3]int{m.Input.C, m.Input.H, m.Input.W}, Classes: m.Classes, Layers: keyLayers(m.ResolvedModel, j.point),
		Optimizer: m.Train.Optimizer, BatchSize: m.Train.BatchSize, Steps: r.opts.DumpCount,
		Dataset: r.data.Name, ValidationSplit: m.Train.ValidationSplit, LimitTrain: r.opts.LimitTrain,
		Epochs: m.Train.Epochs, Schedule: m.Train.Schedule, LabelSmoothing: m.Train.LabelSmoothing, Augment: m.Train.Augment,
	}}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("--dump-steps: %w", err)
	}
	return d, nil
}

// step writes one runner.Step: init.npz for step 0 (and meta.json), step-NNNN.npz after it,
// final.npz with the weights the test set is evaluated with.
func (d *stepDumper) step(s runner.Step) error {
	arrays := map[string]any{}
	for i, w := range s.Weights {
		arrays[fmt.Sprintf("weight_%d", i)] = w
	}
	file := "init.npz"
	if s.Final {
		file = "final.npz"
	} else if s.Step == 0 {
		for i, n := range s.Names {
			d.meta.Tensors = append(d.meta.Tensors, dumpTensor{Name: n, Shape: s.Shapes[i], NonTrainable: s.NonTrainable[i]})
		}
		b, err := json.MarshalIndent(d.meta, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(d.dir, "meta.json"), append(b, '\n')); err != nil {
			return fmt.Errorf("--dump-steps: %w", err)
		}
	} else {
		file = fmt.Sprintf("step-%04d.npz", s.Step)
		indices := make([]int64, len(s.Indices))
		for i, x := range s.Indices {
			indices[i] = int64(x)
		}
		arrays["images"], arrays["labels"], arrays["indices"] = s.Images, s.Labels, indices
		arrays["loss"] = []float64{s.Loss}
		arrays["lr"] = []float64{s.LearningRate}
		arrays["epoch"] = []int64{int64(s.Epoch)}
		for i, m := range s.Masks {
			arrays[fmt.Sprintf("mask_%d", i)] = m
		}
		for i, g := range s.Grads {
			if g != nil { // a non-trainable tensor has no gradient
				arrays[fmt.Sprintf("grad_%d", i)] = g
			}
		}
	}
	named := make(map[string]any, len(arrays))
	for k, v := range arrays {
		named[k+".npy"] = v // the entry names NumPy's savez gives
	}
	if err := npz.Write(filepath.Join(d.dir, file), named); err != nil {
		return fmt.Errorf("--dump-steps: %s: %w", file, err)
	}
	return nil
}

// result writes the training's outcome beside its steps, and order.npz: epoch_1, epoch_2, … the
// order in which each epoch visited the training examples, so that the whole run can be replayed.
func (d *stepDumper) result(res *runner.Result) error {
	orders := map[string]any{}
	for i, o := range d.orders {
		v := make([]int64, len(o))
		for j, x := range o {
			v[j] = int64(x)
		}
		orders[fmt.Sprintf("epoch_%d.npy", i+1)] = v
	}
	if err := npz.Write(filepath.Join(d.dir, "order.npz"), orders); err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		Status       string  `json:"status"`
		Epochs       int     `json:"epochs"`
		TestAccuracy float64 `json:"test_accuracy"`
		TestLoss     float64 `json:"test_loss"`
	}{res.Status, res.Epochs, res.Test.Accuracy, res.Test.Loss}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(d.dir, "result.json"), append(b, '\n'))
}
