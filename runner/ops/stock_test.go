package ops

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// TestFiniteDifferences checks the gradients of every layer kind on both engines against
// central finite differences of the loss, with a padding row in the batch (but with dropout).
// The graphs compute in float32, so the step and tolerance are loose; smooth activations keep
// the loss differentiable at the probes.
func TestFiniteDifferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, layers string
		eps                 float32 // finite-difference step; 1e-2 unless set (smaller keeps relu and max probes off their kinks)
		ops                 builder.Ops
	}{
		{"stock-dense", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 3, activation: softmax}\n", 0, Stock{}},
		{"stock-dense-sigmoid-nobias", "[1, 1, 4]", "    - flatten: {}\n    - dense: {units: n, activation: sigmoid, use_bias: false}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-conv2d-valid", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3, activation: softmax}\n", 0, Stock{}},
		{"stock-conv2d-same-stride", "[6, 5, 1]", "    - conv2d: {filters: n, kernel: [2, 3], stride: 2, padding: same, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-maxpool2d", "[6, 6, 1]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3, Stock{}},
		{"stock-maxpool2d-same", "[7, 7, 1]", "    - conv2d: {filters: n, kernel: 3, activation: tanh}\n    - maxpool2d: {pool: 2, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3, Stock{}},
		{"stock-avgpool2d-same-stride", "[7, 6, 1]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - avgpool2d: {pool: 3, stride: 2, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-avgpool2d", "[6, 6, 1]", "    - conv2d: {filters: n, kernel: 3, activation: sigmoid}\n    - avgpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-relu", "[1, 1, 4]", "    - flatten: {}\n    - dense: {units: 4n, activation: relu}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-dropout", "[1, 1, 6]", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dropout: {rate: 0.5}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"fused-tanh-softmax", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 3, activation: softmax}\n", 0, Fast{}},
		{"fused-sigmoid-nobias", "[1, 1, 4]", "    - flatten: {}\n    - dense: {units: n, activation: sigmoid, use_bias: false}\n    - dense: {units: 3}\n", 0, Fast{}},
		{"fused-relu-two-hidden", "[2, 2, 1]", "    - flatten: {}\n    - dense: {units: 4n, activation: relu}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 3, use_bias: false}\n", 1e-3, Fast{}},
		{"fused-linear-only", "[1, 1, 3]", "    - flatten: {}\n    - dense: {units: n, activation: linear}\n    - dense: {units: 3}\n", 0, Fast{}},
		{"fast-cnn-tanh-same-stride", "[6, 5, 2]", "    - conv2d: {filters: n, kernel: [2, 3], stride: 2, padding: same, activation: tanh}\n    - conv2d: {filters: n, kernel: 2, padding: same, activation: sigmoid}\n    - flatten: {}\n    - dense: {units: 3, activation: softmax}\n", 0, Fast{}},
		{"fast-cnn-relu-pool-nobias", "[7, 7, 1]", "    - conv2d: {filters: n, kernel: 3, activation: relu, use_bias: false}\n    - maxpool2d: {pool: 2}\n    - conv2d: {filters: 2n, kernel: 2, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n", 1e-3, Fast{}},
		{"fast-cnn-linear-valid", "[5, 4, 3]", "    - conv2d: {filters: n, kernel: 3, activation: linear}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Fast{}},
		{"stock-batch-norm-conv", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {}\n    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"stock-batch-norm-dense-noscale", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 2n, use_bias: false}\n    - batch_norm: {scale: false}\n    - dense: {units: 3, activation: tanh}\n    - batch_norm: {center: false, epsilon: 0.1}\n    - dense: {units: 3}\n", 0, Stock{}},
		{"fast-batch-norm-conv", "[5, 5, 2]", "    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {}\n    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - flatten: {}\n    - dense: {units: 3}\n", 0, Fast{}},
		{"fast-batch-norm-dense-noscale", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 2n, use_bias: false}\n    - batch_norm: {scale: false}\n    - dense: {units: 3, activation: tanh}\n    - batch_norm: {center: false, epsilon: 0.1}\n    - dense: {units: 3}\n", 0, Fast{}},
		{"fast-avgpool2d-same-stride-dropout", "[7, 6, 1]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - avgpool2d: {pool: 3, stride: 2, padding: same}\n    - flatten: {}\n    - dropout: {rate: 0.25}\n    - dense: {units: 3}\n", 0, Fast{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
			checkFiniteDifferences(t, m, p, tt.ops, tt.eps)
		})
	}
}

// checkFiniteDifferences builds m's training graph of batch 4 at p with ops (weights of seed 3,
// biases drawn away from zero so that their gradients are exercised), fills 3 real rows (all 4
// with dropout, whose masks are drawn), and compares every weight's gradient with the central
// finite difference of the loss with step eps (1e-2 when 0).
func checkFiniteDifferences(t *testing.T, m spec.ResolvedModel, p spec.Point, ops builder.Ops, eps float32) {
	t.Helper()
	w, err := builder.NewWeights(m, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, name := range w.Names {
		if filepath.Base(name) == "bias" {
			for j := range w.Floats()[i] {
				w.Floats()[i][j] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	gr, err := builder.Build(m, p, w, 4, true, ops)
	if err != nil {
		t.Fatal(err)
	}
	count := 3
	if len(gr.Dropouts) > 0 {
		count = 4
	}
	graphtest.Fill(gr, rng, count)
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
	loss := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(gr.Loss.Value().Data().(float32))
	}
	if eps == 0 {
		eps = 1e-2
	}
	checked, trainable := 0, 0
	for k, vals := range w.Floats() {
		if !w.Trainable(k) {
			continue // a batch_norm's moving statistics: no gradient
		}
		i := trainable
		trainable++
		for j := range vals {
			old := vals[j]
			vals[j] = old + eps
			up := loss()
			vals[j] = old - eps
			down := loss()
			vals[j] = old
			num := (up - down) / (2 * float64(eps))
			if got := float64(grads[i][j]); math.Abs(num-got) > 2e-3+0.05*math.Abs(num) {
				t.Errorf("%s[%d]: gradient %.5f, finite difference %.5f", w.Names[k], j, got, num)
			}
			checked++
		}
	}
	var want int
	for k, vals := range w.Floats() {
		if w.Trainable(k) {
			want += len(vals)
		}
	}
	if checked != want || trainable != len(gr.Params) {
		t.Fatalf("checked %d of %d trainable weights, %d of %d tensors", checked, want, trainable, len(gr.Params))
	}
}

// The padding rows of a partial batch change neither the loss nor the gradients.
func TestPaddingRowsIgnored(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[1, 1, 4]", 3, 2, "{}", "    - flatten: {}\n    - dense: {units: n, activation: tanh}\n    - dense: {units: 3}\n")
	w, _ := builder.NewWeights(m, p, 5)
	loss := func(batch int, garbage bool) float64 {
		gr, err := builder.Build(m, p, w, batch, true, Stock{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		graphtest.Fill(gr, rng, batch)
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

// TestReLUGradientAtZero checks that ReLU passes no gradient where its input is exactly 0, as in
// Keras and PyTorch: a blank image through a convolution with zero bias gives exact zeros, and the
// bias must then get no gradient from it (gorgonia's Rectify gave it one).
func TestReLUGradientAtZero(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[4, 4, 1]", 3, 2, "{}", "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - flatten: {}\n    - dense: {units: 3}\n")
	w, err := builder.NewWeights(m, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := builder.Build(m, p, w, 2, true, Stock{})
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

// TestStockGraphsBuildConcurrently builds stock convolution graphs on several goroutines at once,
// as points trained in parallel do: under the race detector (.ci/run) it fails if a call of
// gorgonia's Conv2d escapes lockGorgoniaGroups.
func TestStockGraphsBuildConcurrently(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[6, 6, 1]", 3, 2, "{}", "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - conv2d: {filters: n, kernel: 3, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n")
	w, _ := builder.NewWeights(m, p, 5)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			for range 40 {
				if _, err := builder.Build(m, p, w, 2, true, Stock{}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
