package builder

import (
	"math"
	"path/filepath"
	"testing"
)

// Same model, point and seed give the same weights; another seed gives others.
func TestWeightsSeeded(t *testing.T) {
	t.Parallel()
	ms := expandFile(t, filepath.Join("..", "examples", "mnist-cnn2.yaml"))
	p := ms[0].Points[4]
	a, _ := NewWeights(ms[0], p, 1)
	b, _ := NewWeights(ms[0], p, 1)
	c, _ := NewWeights(ms[0], p, 2)
	same, differ := true, false
	for i := range a.Tensors {
		for j, v := range a.Floats()[i] {
			same = same && v == b.Floats()[i][j]
			differ = differ || v != c.Floats()[i][j]
		}
	}
	if !same || !differ {
		t.Fatalf("same seed equal: %v, other seed differs: %v", same, differ)
	}
	// Glorot limit of conv2d_1 at n=2: √(6/(9·1 + 9·2)).
	limit := float32(math.Sqrt(6.0 / 27))
	for _, v := range a.Floats()[0] {
		if v < -limit || v > limit {
			t.Fatalf("weight %v outside ±%v", v, limit)
		}
	}
}
