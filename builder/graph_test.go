package builder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nnsweep/nnsweep/runner/ops"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// tinyModel expands a one-model spec over the given input shape and classes.
func tinyModel(t *testing.T, input string, classes int, layers string) (spec.ResolvedModel, spec.Point) {
	t.Helper()
	src := fmt.Sprintf("name: tiny\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [2]}\nmodel:\n  input: %s\n  layers:\n%s", input, layers)
	s, errs := spec.Parse("tiny.yaml", []byte(src))
	if errs != nil {
		t.Fatalf("parse: %s", errs.Lines())
	}
	var in [3]int
	fmt.Sscanf(input, "[%d, %d, %d]", &in[0], &in[1], &in[2])
	ms, errs := spec.Expand(s, &spec.DataInfo{H: in[0], W: in[1], C: in[2], Classes: classes})
	if errs != nil {
		t.Fatalf("expand: %s", errs.Lines())
	}
	return ms[0], ms[0].Points[0]
}

// fill sets a training graph's inputs from rng: images in [0, 1), one-hot labels, dropout masks.
func fill(gr *Graph, rng *rand.Rand) {
	in := gr.Input.Value().Data().([]float32)
	for i := range in {
		in[i] = rng.Float32()
	}
	lab := gr.Labels.Value().Data().([]float32)
	classes := gr.Labels.Shape()[1]
	clear(lab)
	for b := range gr.Batch {
		lab[b*classes+rng.IntN(classes)] = 1
	}
	for i, m := range gr.Dropouts {
		d := m.Value().Data().([]float32)
		for j := range d {
			if rng.Float64() >= gr.DropoutRates[i] {
				d[j] = float32(1 / (1 - gr.DropoutRates[i]))
			} else {
				d[j] = 0
			}
		}
	}
}

func lossOf(t *testing.T, vm G.VM, gr *Graph) float64 {
	t.Helper()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer vm.Reset()
	return float64(gr.Loss.Value().Data().(float32))
}

// TestGradients checks every layer kind's gradients against central finite differences of the
// loss. The graphs compute in float32, so the step and tolerance are loose; smooth activations
// keep the loss differentiable at the probes.
func TestGradients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, layers string
		eps                 float64 // finite-difference step; max pooling needs a small one so no maximum changes cell
	}{
		{"dense", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 3, activation: softmax}\n", 0},
		{"dense-sigmoid-nobias", "[1, 1, 4]", "    - flatten: {}\n    - dense: {units: n, activation: sigmoid, use_bias: false}\n    - dense: {units: 3}\n", 0},
		{"conv2d-valid", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3, activation: softmax}\n", 0},
		{"conv2d-same-stride", "[6, 5, 1]", "    - conv2d: {filters: n, kernel: [2, 3], stride: 2, padding: same, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"maxpool2d", "[6, 6, 1]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3},
		{"maxpool2d-same", "[7, 7, 1]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - maxpool2d: {pool: 2, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3},
		{"avgpool2d-same-stride", "[7, 6, 1]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - avgpool2d: {pool: 3, stride: 2, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"avgpool2d", "[6, 6, 1]", "    - conv2d: {filters: n, kernel: 3, activation: sigmoid}\n    - avgpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n", 0},
		{"relu", "[1, 1, 4]", "    - flatten: {}\n    - dense: {units: 4n, activation: relu}\n    - dense: {units: 3}\n", 0},
		{"dropout", "[1, 1, 6]", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dropout: {rate: 0.5}\n    - dense: {units: 3}\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := tinyModel(t, tt.input, 3, tt.layers)
			w, err := NewWeights(m, p, 3)
			if err != nil {
				t.Fatal(err)
			}
			// Non-zero biases, so their gradients are exercised away from the initial point.
			rng := rand.New(rand.NewPCG(1, 2))
			for i, name := range w.Names {
				if filepath.Base(name) == "bias" {
					for j := range w.Floats()[i] {
						w.Floats()[i][j] = float32(rng.NormFloat64() * 0.1)
					}
				}
			}
			gr, err := Build(m, p, w, 4, true, ops.Stock{})
			if err != nil {
				t.Fatal(err)
			}
			fill(gr, rng)
			if tt.name != "dropout" {
				// count < batch: the last row is padding and must not matter.
				clear(gr.Labels.Value().Data().([]float32)[3*3:])
				G.Let(gr.Count, float32(3))
			}
			vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			grads := make([][]float32, len(gr.Params))
			for i, n := range gr.Params {
				gv, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				grads[i] = append([]float32(nil), gv.Data().([]float32)...)
			}
			vm.Reset()
			eps := float32(tt.eps)
			if eps == 0 {
				eps = 1e-2
			}
			checked := 0
			for i, vals := range w.Floats() {
				for j := range vals {
					old := vals[j]
					vals[j] = old + eps
					up := lossOf(t, vm, gr)
					vals[j] = old - eps
					down := lossOf(t, vm, gr)
					vals[j] = old
					num := (up - down) / (2 * float64(eps))
					got := float64(grads[i][j])
					if math.Abs(num-got) > 2e-3+0.05*math.Abs(num) {
						t.Errorf("%s[%d]: gradient %.5f, finite difference %.5f", w.Names[i], j, got, num)
					}
					checked++
				}
			}
			if checked != int(w.Count()) {
				t.Fatalf("checked %d of %d weights", checked, w.Count())
			}
		})
	}
}

// The padding rows of a partial batch change neither the loss nor the gradients.
func TestPaddingRowsIgnored(t *testing.T) {
	t.Parallel()
	m, p := tinyModel(t, "[1, 1, 4]", 3, "    - flatten: {}\n    - dense: {units: n, activation: tanh}\n    - dense: {units: 3}\n")
	w, _ := NewWeights(m, p, 5)
	loss := func(batch int, garbage bool) float64 {
		gr, err := Build(m, p, w, batch, true, ops.Stock{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		fill(gr, rng)
		in := gr.Input.Value().Data().([]float32)
		lab := gr.Labels.Value().Data().([]float32)
		// Two labelled rows; rows beyond them are padding without labels.
		clear(lab)
		lab[0*3+1], lab[1*3+2] = 1, 1
		if garbage {
			for i := 2 * 4; i < len(in); i++ {
				in[i] = 100
			}
		}
		G.Let(gr.Count, float32(2))
		vm := G.NewTapeMachine(gr.G)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(gr.Loss.Value().Data().(float32))
	}
	if a, b := loss(2, false), loss(5, true); math.Abs(a-b) > 1e-6 {
		t.Fatalf("loss of 2 real rows = %v alone, %v with 3 padding rows", a, b)
	}
}

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

// TestReLUGradientAtZero checks that ReLU passes no gradient where its input is exactly 0, as in
// Keras and PyTorch: a blank image through a convolution with zero bias gives exact zeros, and the
// bias must then get no gradient from it (gorgonia's Rectify gave it one).
func TestReLUGradientAtZero(t *testing.T) {
	t.Parallel()
	m, p := tinyModel(t, "[4, 4, 1]", 3, "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n")
	w, err := NewWeights(m, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := Build(m, p, w, 2, true, ops.Stock{})
	if err != nil {
		t.Fatal(err)
	}
	clear(gr.Input.Value().Data().([]float32)) // blank images: every pre-activation is the bias, 0
	lab := gr.Labels.Value().Data().([]float32)
	clear(lab)
	lab[0], lab[3+2] = 1, 1
	vm := G.NewTapeMachine(gr.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, name := range w.Names {
		if name == "conv2d_1/bias" || name == "conv2d_1/kernel" {
			for _, g := range gr.Grads[i].Value().Data().([]float32) {
				if g != 0 {
					t.Fatalf("%s has gradient %v through ReLU at 0; want 0", name, gr.Grads[i].Value().Data())
				}
			}
		}
	}
}
