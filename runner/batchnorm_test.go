package runner

import (
	"context"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/dataset"
)

const bnModel = "    - conv2d: {filters: n, kernel: 2, use_bias: false}\n    - batch_norm: {momentum: 0.5}\n    - flatten: {}\n" +
	"    - dense: {units: n, activation: relu}\n    - batch_norm: {scale: false}\n    - dense: {units: 4, activation: softmax}\n"

// TestBatchNormTrainsAndRestoresMovingStatistics trains a model with batch_norm layers on both
// engines: it learns, the moving statistics move away from 0 and 1 (the training graph updates
// the tensors the evaluation graph reads), and early stopping that restores the best epoch (the
// first: no later epoch improves by min_delta 1) gives back every weight of a one-epoch training,
// the moving statistics included, although it trained a second epoch.
func TestBatchNormTrainsAndRestoresMovingStatistics(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(300, 1), Test: blobs(200, 2)}
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			o, err := EngineOps(engine)
			if err != nil {
				t.Fatal(err)
			}
			one := resolvedModel(t, "{epochs: 1, batch_size: 32, optimizer: {name: adam, learning_rate: 0.01}, validation_split: 0.2}", bnModel)
			stop := resolvedModel(t, "{epochs: 4, batch_size: 32, optimizer: {name: adam, learning_rate: 0.01}, validation_split: 0.2, "+
				"early_stop: {patience: 1, min_delta: 1, restore_best: true}}", bnModel)
			r1, err := Train(context.Background(), one, one.Points[0], data, Options{Ops: o})
			if err != nil {
				t.Fatal(err)
			}
			r2, err := Train(context.Background(), stop, stop.Points[0], data, Options{Ops: o})
			if err != nil {
				t.Fatal(err)
			}
			if r1.Test.Accuracy < 0.8 {
				t.Errorf("one epoch reaches %v test accuracy", r1.Test.Accuracy)
			}
			if r2.Epochs != 2 || r2.BestEpoch != 1 || !r2.StoppedEarly {
				t.Fatalf("early stopping trained %d epochs, best %d, stopped early %v; want 2, 1, true", r2.Epochs, r2.BestEpoch, r2.StoppedEarly)
			}
			w1, w2 := r1.Weights, r2.Weights
			moving := 0
			for i, name := range w1.Names {
				if !slices.Equal(w1.Floats()[i], w2.Floats()[i]) {
					t.Errorf("%s after restoring epoch 1 differs from one epoch's", name)
				}
				if !w1.Trainable(i) {
					moving++
					if slices.IndexFunc(w1.Floats()[i], func(v float32) bool { return v != 0 && v != 1 }) < 0 {
						t.Errorf("%s did not move: %v", name, w1.Floats()[i])
					}
				}
			}
			if moving != 4 {
				t.Errorf("%d non-trainable tensors, want 4", moving)
			}
			if r1.Test != r2.Test {
				t.Errorf("test metrics %v after restoring, %v after one epoch", r2.Test, r1.Test)
			}
		})
	}
}
