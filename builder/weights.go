package builder

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nnsweep/nnsweep/spec"
	"gorgonia.org/tensor"
)

// Weights are a model's tensors at one sweep point, in layer order (each layer's kernel, then its
// bias; a batch_norm's γ, β, moving mean and variance). The training and evaluation graphs of the
// point bind the same tensors, so an optimizer step on one, or a batch_norm's update of its moving
// statistics, is seen by the other.
type Weights struct {
	Names   []string // "dense_1/kernel", "dense_1/bias"
	Tensors []*tensor.Dense
	// NonTrainable marks the tensors no optimizer trains (spec.WeightShape.NonTrainable), one
	// flag per tensor; nil means every tensor is trained.
	NonTrainable []bool
}

// Trainable reports whether tensor i is trained by the optimizer.
func (w *Weights) Trainable(i int) bool { return i >= len(w.NonTrainable) || !w.NonTrainable[i] }

// Count returns the number of values, trainable or not.
func (w *Weights) Count() int64 {
	var n int64
	for _, t := range w.Tensors {
		n += int64(t.Shape().TotalSize())
	}
	return n
}

// Floats returns the tensors' backing slices, in order.
func (w *Weights) Floats() [][]float32 {
	out := make([][]float32, len(w.Tensors))
	for i, t := range w.Tensors {
		out[i] = t.Data().([]float32)
	}
	return out
}

// NewWeights draws a model's weights at point p, in the shapes and order of each layer's
// spec.ResolvedLayer.Weights: kernels Glorot-uniform (limit √(6/(fan_in+fan_out))), biases zero,
// other tensors without a fan-in their InitValue (a batch_norm's γ and moving variance 1).
// The draws come from one PCG stream seeded by seed and walk the layers in order, so the same
// model, point and seed give the same weights on every machine. Images flow through the graphs as
// NCHW (batch, channels, height, width), so a flatten after convolutions orders its features CHW.
func NewWeights(m spec.ResolvedModel, p spec.Point, seed int64) (*Weights, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e6e7377656570)) // "nnsweep"
	vars := p.Map()
	w := &Weights{}
	size := func(q spec.Poly) (int, error) {
		v, ok := q.Eval(vars)
		if !ok || v < 1 || v > math.MaxInt32 {
			return 0, fmt.Errorf("builder: width %s is %d at %s", q, v, p)
		}
		return int(v), nil
	}
	for _, l := range m.Layers {
		for _, ws := range l.Weights() {
			shape := make([]int, len(ws.Shape))
			for i, d := range ws.Shape {
				var err error
				if shape[i], err = size(d); err != nil {
					return nil, err
				}
			}
			name := l.Name + "/" + ws.Name
			if ws.NonTrainable {
				for len(w.NonTrainable) < len(w.Tensors) {
					w.NonTrainable = append(w.NonTrainable, false)
				}
				w.NonTrainable = append(w.NonTrainable, true)
			}
			if ws.FanIn.IsZero() {
				t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
				if ws.InitValue != 0 {
					for i, d := 0, t.Float32s(); i < len(d); i++ {
						d[i] = ws.InitValue
					}
				}
				w.add(name, t)
				continue
			}
			fanIn, err := size(ws.FanIn)
			if err != nil {
				return nil, err
			}
			fanOut, err := size(ws.FanOut)
			if err != nil {
				return nil, err
			}
			w.add(name, glorot(rng, shape, fanIn, fanOut))
		}
	}
	return w, nil
}

func (w *Weights) add(name string, t *tensor.Dense) {
	w.Names = append(w.Names, name)
	w.Tensors = append(w.Tensors, t)
	if w.NonTrainable != nil && len(w.NonTrainable) < len(w.Tensors) {
		w.NonTrainable = append(w.NonTrainable, false)
	}
}

func glorot(rng *rand.Rand, shape []int, fanIn, fanOut int) *tensor.Dense {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	size := 1
	for _, s := range shape {
		size *= s
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = float32((rng.Float64()*2 - 1) * limit)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}
