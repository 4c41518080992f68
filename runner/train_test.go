package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/spec"
)

// blobs is a synthetic data set of 4×4×1 images: class k lights up quadrant k, plus noise.
func blobs(n int, seed uint64) *dataset.Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &dataset.Set{N: n, H: 4, W: 4, C: 1, Classes: 4, Images: make([]float32, n*16), Labels: make([]int32, n)}
	for i := range n {
		k := rng.IntN(4)
		s.Labels[i] = int32(k)
		img := s.Images[i*16 : (i+1)*16]
		for y := range 4 {
			for x := range 4 {
				v := rng.Float32() * 0.3
				if (y/2)*2+x/2 == k {
					v += 0.7
				}
				img[y*4+x] = v
			}
		}
	}
	return s
}

func resolvedModel(t *testing.T, train, layers string) spec.ResolvedModel {
	t.Helper()
	m, _ := spectest.Model(t, "[4, 4, 1]", 4, 8, train, layers)
	return m
}

const mlp = "    - flatten: {}\n    - dense: {units: n, activation: relu}\n    - dense: {units: 4, activation: softmax}\n"

func TestTrainLearnsAndRecordsHistory(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(300, 1), Test: blobs(200, 2)}
	m := resolvedModel(t, "{epochs: 3, batch_size: 32, optimizer: {name: adam, learning_rate: 0.01}, validation_split: 0.2}", mlp)
	var events, epochEnds int
	res, err := Train(context.Background(), m, m.Points[0], data, Options{Progress: func(p Progress) {
		events++
		if p.EpochDone {
			epochEnds++
			if p.Val == nil {
				t.Error("epoch end without validation metrics")
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusOK || res.Test.Accuracy < 0.9 || res.Epochs != 3 || len(res.History) != 3 {
		t.Fatalf("result %+v", res)
	}
	// 300 examples, 20% held out: 240 to train in batches of 32, the last one partial (8 batches).
	if res.TrainExamples != 240 || events != 3*8+3 || epochEnds != 3 {
		t.Fatalf("trained on %d examples with %d progress events (%d epoch ends); want 240, 27, 3", res.TrainExamples, events, epochEnds)
	}
	if res.History[2].Loss >= res.History[0].Loss {
		t.Errorf("loss did not fall: %v", res.History)
	}
}

func TestTrainDiverges(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(256, 3), Test: blobs(64, 4)}
	m := resolvedModel(t, "{epochs: 5, batch_size: 16, optimizer: {name: sgd, learning_rate: 1e30}}", mlp)
	res, err := Train(context.Background(), m, m.Points[0], data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusDiverged || res.Test != (Metrics{}) {
		t.Fatalf("status %s, test %+v; want diverged with no test metrics", res.Status, res.Test)
	}
}

func TestTrainInterrupted(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(256, 3), Test: blobs(64, 4)}
	m := resolvedModel(t, "{epochs: 50}", mlp)
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	_, err := Train(ctx, m, m.Points[0], data, Options{Progress: func(p Progress) {
		if batches++; batches == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) || batches != 3 {
		t.Fatalf("err %v after %d batches; want ErrInterrupted right after the third", err, batches)
	}
}

// Multi-channel images reach the graph in NCHW order.
func TestFillImagesNCHW(t *testing.T) {
	t.Parallel()
	s := &dataset.Set{N: 1, H: 1, W: 2, C: 3, Images: []float32{1, 2, 3, 4, 5, 6}, Labels: []int32{0}}
	dst := make([]float32, 12)
	for i := range dst {
		dst[i] = -1
	}
	fillImages(dst, s, []int{0})
	want := []float32{1, 4, 2, 5, 3, 6, 0, 0, 0, 0, 0, 0}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("NCHW batch %v, want %v", dst, want)
		}
	}
}

func TestEarlyStopper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     spec.EarlyStopping
		vals    []Metrics
		stopAt  int // epoch at which observe says stop; 0: never
		best    int
		restore float32 // the weight at the end: the best epoch's number with RestoreBest, else the last's
	}{
		{"accuracy plateau", spec.EarlyStopping{Monitor: "val_accuracy", Patience: 2, RestoreBest: true},
			[]Metrics{{Accuracy: 0.5}, {Accuracy: 0.7}, {Accuracy: 0.69}, {Accuracy: 0.7}, {Accuracy: 0.9}}, 4, 2, 2},
		{"min delta", spec.EarlyStopping{Monitor: "val_accuracy", Patience: 1, MinDelta: 0.05},
			[]Metrics{{Accuracy: 0.5}, {Accuracy: 0.52}, {Accuracy: 0.9}}, 2, 1, 2},
		{"loss improves", spec.EarlyStopping{Monitor: "val_loss", Patience: 1, RestoreBest: true},
			[]Metrics{{Loss: 1}, {Loss: 0.5}, {Loss: 0.4}}, 0, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEarlyStopper(tt.cfg)
			w := [][]float32{{0}}
			stopped := 0
			for i, v := range tt.vals {
				w[0][0] = float32(i + 1)
				if e.observe(i+1, v, w) {
					stopped = i + 1
					break
				}
			}
			e.restore(w)
			if stopped != tt.stopAt || e.bestEpoch != tt.best || w[0][0] != tt.restore {
				t.Fatalf("stopped at %d (want %d), best %d (want %d), weight %v (want %v)", stopped, tt.stopAt, e.bestEpoch, tt.best, w[0][0], tt.restore)
			}
		})
	}
}

// Early stopping ends training and evaluates the best epoch's weights.
func TestTrainEarlyStop(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(400, 5), Test: blobs(100, 6)}
	m := resolvedModel(t, "{epochs: 60, batch_size: 32, optimizer: {name: adam, learning_rate: 0.05}, validation_split: 0.25, early_stop: {patience: 2}}", mlp)
	res, err := Train(context.Background(), m, m.Points[0], data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || res.Epochs >= 60 || res.BestEpoch < 1 || res.BestEpoch > res.Epochs-2 {
		t.Fatalf("stopped early %v after %d epochs, best %d", res.StoppedEarly, res.Epochs, res.BestEpoch)
	}
}
