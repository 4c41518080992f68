package builder

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nnsweep/nnsweep/spec"
	"gorgonia.org/tensor"
)

// Weights are a model's trainable tensors at one sweep point, in layer order (each layer's kernel,
// then its bias). The training and evaluation graphs of the point bind the same tensors, so an
// optimizer step on one is seen by the other.
type Weights struct {
	Names   []string // "dense_1/kernel", "dense_1/bias"
	Tensors []*tensor.Dense
}

// Count returns the number of trainable values.
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

// Layout of the tensors (float32, row-major):
//
//	dense kernel  [in, units]           bias [1, units]
//	conv2d kernel [filters, in_ch, kh, kw]  bias [1, filters, 1, 1]
//
// Images flow through the graphs as NCHW (batch, channels, height, width), so a flatten after
// convolutions orders its features CHW.

// NewWeights draws a model's weights at point p: kernels Glorot-uniform (limit √(6/(fan_in+fan_out)),
// with fan_in = kh·kw·in_channels and fan_out = kh·kw·filters for convolutions, as Keras), biases
// zero. The draws come from one PCG stream seeded by seed and walk the layers in order, so the same
// model, point and seed give the same weights on every machine.
func NewWeights(m spec.ResolvedModel, p spec.Point, seed int64) (*Weights, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e6e7377656570)) // "nnsweep"
	vars := p.Map()
	w := &Weights{}
	width := func(e spec.Expr) (int, error) {
		v, ok := e.Poly().Eval(vars)
		if !ok || v < 1 || v > math.MaxInt32 {
			return 0, fmt.Errorf("builder: width %s is %d at %s", e, v, p)
		}
		return int(v), nil
	}
	c, h, wd := m.Input.C, m.Input.H, m.Input.W
	flat := 0 // vector length once the data is a vector
	for _, l := range m.Layers {
		switch l.Kind {
		case spec.KindDense:
			units, err := width(l.Units)
			if err != nil {
				return nil, err
			}
			k := glorot(rng, []int{flat, units}, flat, units)
			w.add(l.Name+"/kernel", k)
			if l.UseBias {
				w.add(l.Name+"/bias", tensor.New(tensor.WithShape(1, units), tensor.Of(tensor.Float32)))
			}
			flat = units
		case spec.KindConv2D:
			f, err := width(l.Filters)
			if err != nil {
				return nil, err
			}
			rf := l.Window.H * l.Window.W
			k := glorot(rng, []int{f, c, l.Window.H, l.Window.W}, rf*c, rf*f)
			w.add(l.Name+"/kernel", k)
			if l.UseBias {
				w.add(l.Name+"/bias", tensor.New(tensor.WithShape(1, f, 1, 1), tensor.Of(tensor.Float32)))
			}
			c = f
		case spec.KindFlatten:
			flat = c * h * wd
		}
		h, wd = l.OutH, l.OutW
	}
	return w, nil
}

func (w *Weights) add(name string, t *tensor.Dense) {
	w.Names = append(w.Names, name)
	w.Tensors = append(w.Tensors, t)
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
