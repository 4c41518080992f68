package runner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/ops"
)

// TestFusedTrainMatchesStock trains the same seeded models with the stock and the fused ops and
// compares the epoch losses, validation and test metrics.
func TestFusedTrainMatchesStock(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, train, layers string }{
		{"relu-adam", "{epochs: 2, batch_size: 32, optimizer: {name: adam, learning_rate: 0.01}, validation_split: 0.2}", mlp},
		{"tanh-sigmoid-sgd", "{epochs: 2, batch_size: 17, optimizer: {name: sgd, learning_rate: 0.1, momentum: 0.9}}",
			"    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: n, activation: sigmoid, use_bias: false}\n    - dense: {units: 4, activation: softmax}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := &dataset.Data{Name: "blobs", Train: blobs(300, 11), Test: blobs(100, 12)}
			m := resolvedModel(t, tt.train, tt.layers)
			stock, err := Train(context.Background(), m, m.Points[0], data, Options{Ops: ops.Stock{}})
			if err != nil {
				t.Fatal(err)
			}
			fused, err := Train(context.Background(), m, m.Points[0], data, Options{Ops: ops.Fast{}})
			if err != nil {
				t.Fatal(err)
			}
			relClose := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(math.Abs(b), 1e-3) }
			if fused.Status != stock.Status || len(fused.History) != len(stock.History) {
				t.Fatalf("fused: %s after %d epochs, stock: %s after %d", fused.Status, len(fused.History), stock.Status, len(stock.History))
			}
			oneExample := 1.0/float64(data.Test.N) + 1e-9
			for i, s := range stock.History {
				f := fused.History[i]
				if !relClose(f.Loss, s.Loss) || math.Abs(f.Accuracy-s.Accuracy) > 1.0/240+1e-9 {
					t.Errorf("epoch %d: fused loss %.7g accuracy %.4f, stock %.7g %.4f", s.Epoch, f.Loss, f.Accuracy, s.Loss, s.Accuracy)
				}
				if (s.Val == nil) != (f.Val == nil) || s.Val != nil && !relClose(f.Val.Loss, s.Val.Loss) {
					t.Errorf("epoch %d: fused validation %+v, stock %+v", s.Epoch, f.Val, s.Val)
				}
			}
			if !relClose(fused.Test.Loss, stock.Test.Loss) || math.Abs(fused.Test.Accuracy-stock.Test.Accuracy) > oneExample {
				t.Errorf("test: fused %+v, stock %+v", fused.Test, stock.Test)
			}
			t.Logf("losses per epoch: stock %v, fused %v", lossesOf(stock), lossesOf(fused))
		})
	}
}

func lossesOf(r *Result) []float64 {
	var l []float64
	for _, e := range r.History {
		l = append(l, e.Loss)
	}
	return l
}

// imageBlobs is a synthetic data set of size×size×1 images: class k brightens quadrant k, on
// noise that is never exactly zero (so no relu sits at its kink, where gorgonia's gradient is 1
// and ours 0).
func imageBlobs(n, size int, seed uint64) *dataset.Set {
	rng := rand.New(rand.NewPCG(seed, 5))
	s := &dataset.Set{N: n, H: size, W: size, C: 1, Classes: 4, Images: make([]float32, n*size*size), Labels: make([]int32, n)}
	half := size / 2
	for i := range n {
		k := rng.IntN(4)
		s.Labels[i] = int32(k)
		img := s.Images[i*size*size : (i+1)*size*size]
		for y := range size {
			for x := range size {
				v := 0.01 + rng.Float32()*0.4
				if (y/half)*2+x/half == k {
					v += 0.5
				}
				img[y*size+x] = v
			}
		}
	}
	return s
}

// TestFastTrainCNNMatchesStock trains the same seeded CNNs with ops.Fast and ops.Stock and
// compares the epoch losses and test metrics; a second Fast run must repeat the first exactly.
func TestFastTrainCNNMatchesStock(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, input, train, layers string }{
		{"relu-pool-adam-split", "[24, 24, 1]", "{epochs: 1, batch_size: 64, optimizer: {name: adam, learning_rate: 0.005}, validation_split: 0.2}",
			"    - conv2d: {filters: n, kernel: 3, padding: same, activation: relu}\n    - maxpool2d: {pool: 2}\n    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - flatten: {}\n    - dense: {units: 4, activation: softmax}\n"},
		{"tanh-stride-sgd", "[9, 9, 1]", "{epochs: 1, batch_size: 17, optimizer: {name: sgd, learning_rate: 0.05, momentum: 0.9}}",
			"    - conv2d: {filters: n, kernel: [2, 3], stride: 2, padding: same, activation: tanh, use_bias: false}\n    - conv2d: {filters: n, kernel: 3, activation: sigmoid}\n    - flatten: {}\n    - dense: {units: 4, activation: softmax}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var size int
			fmt.Sscanf(tt.input, "[%d", &size)
			data := &dataset.Data{Name: "image-blobs", Train: imageBlobs(480, size, 21), Test: imageBlobs(120, size, 22)}
			m, _ := spectest.Model(t, tt.input, 4, 8, tt.train, tt.layers)
			train := func(ops builder.Ops) *Result {
				t.Helper()
				r, err := Train(context.Background(), m, m.Points[0], data, Options{Ops: ops})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			stock, fast, again := train(ops.Stock{}), train(ops.Fast{}), train(ops.Fast{})
			relClose := func(a, b float64) bool { return math.Abs(a-b) <= 2e-4*math.Max(math.Abs(b), 1e-3) }
			if fast.Status != stock.Status || len(fast.History) != len(stock.History) {
				t.Fatalf("fast: %s after %d epochs, stock: %s after %d", fast.Status, len(fast.History), stock.Status, len(stock.History))
			}
			for i, s := range stock.History {
				f := fast.History[i]
				if !relClose(f.Loss, s.Loss) {
					t.Errorf("epoch %d: fast loss %.7g, stock %.7g", s.Epoch, f.Loss, s.Loss)
				}
				if (s.Val == nil) != (f.Val == nil) || s.Val != nil && !relClose(f.Val.Loss, s.Val.Loss) {
					t.Errorf("epoch %d: fast validation %+v, stock %+v", s.Epoch, f.Val, s.Val)
				}
			}
			if !relClose(fast.Test.Loss, stock.Test.Loss) || math.Abs(fast.Test.Accuracy-stock.Test.Accuracy) > 1.0/float64(data.Test.N)+1e-9 {
				t.Errorf("test: fast %+v, stock %+v", fast.Test, stock.Test)
			}
			if !slices.Equal(lossesOf(fast), lossesOf(again)) || fast.Test != again.Test {
				t.Errorf("two Fast runs differ: losses %v and %v, test %+v and %+v", lossesOf(fast), lossesOf(again), fast.Test, again.Test)
			}
			t.Logf("losses per epoch: stock %v, fast %v; test loss stock %.7g, fast %.7g", lossesOf(stock), lossesOf(fast), stock.Test.Loss, fast.Test.Loss)
		})
	}
}
