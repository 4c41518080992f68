package runner

import (
	"context"
	"math"
	"testing"

	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/spec"
)

// TestLearningRates checks each schedule at known steps against values worked out by hand from
// the closed forms of Keras's schedules, and onecycle against PyTorch 1.13's OneCycleLR
// (max_lr 0.1, total_steps 20, the defaults otherwise), printed by PyTorch itself. Every
// training here has 4 epochs of 5 steps.
func TestLearningRates(t *testing.T) {
	t.Parallel()
	const lr = 0.1
	cos := func(x float64) float64 { return math.Cos(x) }
	tests := []struct {
		name  string
		s     *spec.ScheduleSettings
		steps map[int]float64
	}{
		{"none", nil, map[int]float64{0: lr, 19: lr}},
		{"constant", &spec.ScheduleSettings{Name: "constant"}, map[int]float64{0: lr, 7: lr, 19: lr}},
		{"constant with warm-up", &spec.ScheduleSettings{Name: "constant", WarmupEpochs: 1},
			map[int]float64{0: 0, 1: 0.02, 4: 0.08, 5: lr, 19: lr}},
		// Staircase drops by 0.5 every 2 epochs (10 steps).
		{"step", &spec.ScheduleSettings{Name: "step", EveryEpochs: 2, Factor: 0.5},
			map[int]float64{0: lr, 9: lr, 10: 0.05, 19: 0.05, 20: 0.025}},
		// Halves every 2 epochs, smoothly: half-way there after 1 epoch is 0.1/√2.
		{"exponential", &spec.ScheduleSettings{Name: "exponential", DecayRate: 0.5, DecayEpochs: 2},
			map[int]float64{0: lr, 5: lr / math.Sqrt2, 10: 0.05, 15: 0.05 / math.Sqrt2}},
		// Over all 20 steps down to alpha·lr: cos(π/4) at a quarter, the mean of lr and alpha·lr at half.
		{"cosine", &spec.ScheduleSettings{Name: "cosine", Alpha: 0.1},
			map[int]float64{0: lr, 5: lr * (0.9*0.5*(1+math.Sqrt2/2) + 0.1), 10: lr * 0.55, 20: 0.01, 25: 0.01}},
		{"cosine over 2 epochs", &spec.ScheduleSettings{Name: "cosine", DecayEpochs: 2},
			map[int]float64{0: lr, 5: 0.05, 10: 0, 19: 0}},
		// Keras CosineDecay(initial_learning_rate=0, warmup_target=0.1, warmup_steps=5, decay_steps=15).
		{"cosine with warm-up", &spec.ScheduleSettings{Name: "cosine", WarmupEpochs: 1},
			map[int]float64{0: 0, 2: 0.04, 5: lr, 10: lr * 0.5 * (1 + cos(math.Pi/3)), 20: 0}},
		{"onecycle", &spec.ScheduleSettings{Name: "onecycle", PctStart: 0.3, DivFactor: 25, FinalDivFactor: 1e4, AnnealStrategy: "cos"},
			map[int]float64{0: 0.0040000000000000036, 3: 0.06683281572999747, 5: 0.1, 12: 0.0500002, 19: 4e-07}},
		{"onecycle linear", &spec.ScheduleSettings{Name: "onecycle", PctStart: 0.3, DivFactor: 25, FinalDivFactor: 1e4, AnnealStrategy: "linear"},
			map[int]float64{0: 0.004, 3: 0.0616, 5: 0.1, 12: 0.0500002, 19: 3.999999999976245e-07}},
		// Warm-up to onecycle's first rate, then onecycle over the 15 steps left.
		{"onecycle with warm-up", &spec.ScheduleSettings{Name: "onecycle", WarmupEpochs: 1, PctStart: 0.4, DivFactor: 10, FinalDivFactor: 100, AnnealStrategy: "linear"},
			map[int]float64{0: 0, 1: 0.002, 5: 0.01, 10: lr, 19: 1e-4}},
		// Half an epoch of 5 steps rounds to 3 steps.
		{"fractional warm-up", &spec.ScheduleSettings{Name: "constant", WarmupEpochs: 0.5},
			map[int]float64{1: lr / 3, 2: 2 * lr / 3, 3: lr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLearningRates(lr, tt.s, 5, 4)
			for step, want := range tt.steps {
				got := lr
				if l != nil {
					got = l.at(step)
				}
				if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
					t.Errorf("step %d: learning rate %.17g, want %.17g", step, got, want)
				}
			}
		})
	}
}

// Training steps the schedule once per batch, the last partial batch included, and every update
// uses the learning rate of its step.
func TestTrainSchedulesPerBatch(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(10, 1), Test: blobs(8, 2)}
	m := resolvedModel(t, "{epochs: 2, batch_size: 4, optimizer: {name: sgd, learning_rate: 0.1}, schedule: {name: step, every_epochs: 1, factor: 0.5}}", mlp)
	var got []float64
	_, err := Train(context.Background(), m, m.Points[0], data, Options{RecordSteps: 100, OnStep: func(s Step) error {
		if s.Step > 0 && !s.Final {
			got = append(got, s.LearningRate)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05} // 10 examples in batches of 4: 3 steps an epoch
	if len(got) != len(want) {
		t.Fatalf("learning rates %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != float64(float32(want[i])) {
			t.Errorf("step %d: learning rate %v, want %v", i+1, got[i], want[i])
		}
	}
}
