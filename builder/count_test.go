package builder

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnsweep/nnsweep/spec"
)

var mnist = &spec.DataInfo{H: 28, W: 28, C: 1, Classes: 10}

func expandFile(t testing.TB, path string) []spec.ResolvedModel {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return expandSource(t, path, src)
}

func expandSource(t testing.TB, name string, src []byte) []spec.ResolvedModel {
	t.Helper()
	s, errs := spec.Parse(name, src)
	if errs != nil {
		t.Fatalf("parse: %s", errs.Lines())
	}
	ms, errs := spec.Expand(s, mnist)
	if errs != nil {
		t.Fatalf("expand: %s", errs.Lines())
	}
	return ms
}

// The reference experiment's formulas and values, from the brief.
func TestReferenceFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		model  string
		poly   string
		values map[int64]int64
	}{
		{"mnist-mlp.yaml", "mnist-mlp", "n² + 796n + 10", map[int64]int64{512: 669706, 32: 26506}},
		{"mnist-mlp-pool.yaml", "mnist-mlp-pool", "n² + 208n + 10", map[int64]int64{64: 17418}},
		{"mnist-cnn1.yaml", "mnist-cnn1", "1170n² + 56n + 10", map[int64]int64{32: 1199882, 2: 4802}},
		{"mnist-cnn2.yaml", "mnist-cnn2", "63n² + 335n + 10", map[int64]int64{32: 75242, 2: 932}},
		{"mnist-compare.yaml", "mlp-pool", "n² + 208n + 10", map[int64]int64{64: 17418}},
		{"mnist-compare.yaml", "cnn2", "63n² + 335n + 10", map[int64]int64{2: 932}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.model, func(t *testing.T) {
			t.Parallel()
			var found bool
			for _, m := range expandFile(t, filepath.Join("..", "examples", tt.file)) {
				if m.Name != tt.model {
					continue
				}
				found = true
				c := Count(m)
				if got := c.Params.String(); got != tt.poly {
					t.Errorf("params = %s, want %s", got, tt.poly)
				}
				for n, want := range tt.values {
					if got := c.Params.MustEval(map[string]int64{"n": n}); got != want {
						t.Errorf("params at n=%d = %d, want %d", n, got, want)
					}
				}
			}
			if !found {
				t.Fatalf("no model %s", tt.model)
			}
		})
	}
}

// Every example: the closed form equals the size of the weights the graphs are built on, at
// every point, and equals the sum of the per-layer counts.
func TestExamplesCountMatchesWeights(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if len(files) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			for _, m := range expandFile(t, f) {
				c := Count(m)
				for _, p := range m.Points {
					pc, err := c.At(p)
					if err != nil {
						t.Fatal(err)
					}
					w, err := NewWeights(m, p, 1)
					if err != nil {
						t.Fatal(err)
					}
					if w.Count() != pc.Params {
						t.Errorf("%s at %s: weights hold %d values, closed form says %d", m.Name, p, w.Count(), pc.Params)
					}
					var sum int64
					for _, l := range pc.Layers {
						sum += l.Params
					}
					if sum != pc.Params {
						t.Errorf("%s at %s: layers sum to %d, total %d", m.Name, p, sum, pc.Params)
					}
				}
			}
		})
	}
}

// independentCount counts a model's parameters and MACs layer by layer at a point with plain
// integers, without polynomials: the cross-check of the closed form.
func independentCount(m spec.ResolvedModel, p spec.Point) (params, macs int64) {
	vars := p.Map()
	h, w, c := int64(m.Input.H), int64(m.Input.W), int64(m.Input.C)
	vec := int64(0)
	for _, l := range m.Layers {
		switch l.Kind {
		case spec.KindDense:
			u, _ := l.Width.Poly().Eval(vars)
			params += vec*u + map[bool]int64{true: u}[l.UseBias]
			macs += vec * u
			vec = u
		case spec.KindConv2D:
			f, _ := l.Width.Poly().Eval(vars)
			k := int64(l.Window.H * l.Window.W)
			params += k*c*f + map[bool]int64{true: f}[l.UseBias]
			oh := int64(spec.OutputSize(int(h), l.Window.H, l.Stride.H, l.Padding))
			ow := int64(spec.OutputSize(int(w), l.Window.W, l.Stride.W, l.Padding))
			macs += oh * ow * k * c * f
			h, w, c = oh, ow, f
		case spec.KindDepthwiseConv2D, spec.KindSeparableConv2D:
			// Depthwise: every input channel with m kernels of its own; separable adds a 1×1
			// convolution to f channels with one bias.
			m := int64(l.DepthMultiplier())
			k := int64(l.Window.H * l.Window.W)
			oh := int64(spec.OutputSize(int(h), l.Window.H, l.Stride.H, l.Padding))
			ow := int64(spec.OutputSize(int(w), l.Window.W, l.Stride.W, l.Padding))
			params += k * c * m
			macs += oh * ow * k * c * m
			out := c * m
			if l.Kind == spec.KindSeparableConv2D {
				f, _ := l.Width.Poly().Eval(vars)
				params += c * m * f
				macs += oh * ow * c * m * f
				out = f
			}
			params += map[bool]int64{true: out}[l.UseBias]
			h, w, c = oh, ow, out
		case spec.KindMaxPool2D, spec.KindAvgPool2D:
			h = int64(spec.OutputSize(int(h), l.Window.H, l.Stride.H, l.Padding))
			w = int64(spec.OutputSize(int(w), l.Window.W, l.Stride.W, l.Padding))
		case spec.KindFlatten:
			vec = h * w * c
		}
	}
	return params, macs
}

// randomSpec writes a random valid architecture over n: convolutions and pools while the image is
// large enough, a flatten, dense layers, and the classifier.
func randomSpec(rng *rand.Rand) string {
	width := func() string {
		a, b := rng.IntN(4), rng.IntN(5)
		switch {
		case a == 0:
			return fmt.Sprint(b + 1)
		case b == 0:
			return fmt.Sprintf("%dn", a)
		}
		return fmt.Sprintf("%dn+%d", a, b)
	}
	s := "name: random\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [1, 2, 3, 5, 8, 13]}\nmodel:\n  layers:\n"
	size := 28
	for i := rng.IntN(4); i > 0 && size > 4; i-- {
		k := 1 + rng.IntN(3)
		stride := 1 + rng.IntN(2)
		pad := []string{"valid", "same"}[rng.IntN(2)]
		bias := rng.IntN(4) > 0
		switch rng.IntN(3) {
		case 0:
			s += fmt.Sprintf("    - conv2d: {filters: %s, kernel: %d, stride: %d, padding: %s, use_bias: %v, activation: relu}\n", width(), k, stride, pad, bias)
		case 1:
			s += fmt.Sprintf("    - depthwise_conv2d: {kernel: %d, depth_multiplier: %d, stride: %d, padding: %s, use_bias: %v, activation: relu}\n", k, 1+rng.IntN(3), stride, pad, bias)
		default:
			s += fmt.Sprintf("    - separable_conv2d: {filters: %s, kernel: %d, depth_multiplier: %d, stride: %d, padding: %s, use_bias: %v, activation: relu}\n", width(), k, 1+rng.IntN(3), stride, pad, bias)
		}
		size = spec.OutputSize(size, k, stride, pad)
		if rng.IntN(2) == 0 && size >= 2 {
			s += "    - maxpool2d: {pool: 2}\n"
			size /= 2
		}
	}
	s += "    - flatten: {}\n"
	for i := rng.IntN(3); i > 0; i-- {
		s += fmt.Sprintf("    - dense: {units: %s, activation: tanh, use_bias: %v}\n", width(), rng.IntN(3) > 0)
		if rng.IntN(3) == 0 {
			s += "    - dropout: {rate: 0.25}\n"
		}
	}
	// At least one width uses n, or the sweep would be rejected as unused.
	return s + "    - dense: {units: n, activation: relu}\n    - dense: {units: 10, activation: softmax}\n"
}

func TestCountProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 200 {
		src := randomSpec(rng)
		ms := expandSource(t, fmt.Sprintf("random-%d.yaml", i), []byte(src))
		for _, m := range ms {
			c := Count(m)
			for _, p := range m.Points {
				pc, err := c.At(p)
				if err != nil {
					t.Fatal(err)
				}
				params, macs := independentCount(m, p)
				if pc.Params != params || pc.MACs != macs {
					t.Fatalf("spec:\n%s\nat %s: closed form %d params, %d MACs; layer by layer %d, %d", src, p, pc.Params, pc.MACs, params, macs)
				}
				if w, err := NewWeights(m, p, 1); err != nil || w.Count() != pc.Params {
					t.Fatalf("spec:\n%s\nat %s: weights %v (%v), closed form %d params", src, p, w, err, pc.Params)
				}
			}
		}
	}
}

func ExampleCount() {
	src := []byte(`
name: cnn2
dataset: mnist
target: {min: 0.97}
sweep: {n: [32, 2]}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, activation: relu}
    - conv2d: {filters: n, kernel: 3, activation: relu}
    - maxpool2d: {pool: 2}
    - conv2d: {filters: 2n, kernel: 3, activation: relu}
    - conv2d: {filters: 2n, kernel: 3, activation: relu}
    - maxpool2d: {pool: 2}
    - flatten: {}
    - dense: {units: 10, activation: softmax}
`)
	s, _ := spec.Parse("cnn2.yaml", src)
	models, _ := spec.Expand(s, &spec.DataInfo{H: 28, W: 28, C: 1, Classes: 10})
	c := Count(models[0])
	fmt.Println("params:", c.Params)
	fmt.Println("MACs:", c.MACs)
	for _, p := range models[0].Points {
		pc, _ := c.At(p)
		fmt.Printf("%s: %d params\n", p, pc.Params)
	}
	// Output:
	// params: 63n² + 335n + 10
	// MACs: 9288n² + 6404n
	// n=32: 75242 params
	// n=2: 932 params
}

func ExampleCount_separable() {
	src := []byte(`
name: separable
dataset: mnist
target: {min: 0.97}
sweep: {n: [2, 8]}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, activation: relu}
    - depthwise_conv2d: {kernel: 3, depth_multiplier: 2, activation: relu}
    - separable_conv2d: {filters: 2n, kernel: 3, stride: 2, activation: relu}
    - flatten: {}
    - dense: {units: 10, activation: softmax}
`)
	s, _ := spec.Parse("separable.yaml", src)
	models, _ := spec.Expand(s, &spec.DataInfo{H: 28, W: 28, C: 1, Classes: 10})
	c := Count(models[0])
	for _, l := range c.Layers {
		fmt.Printf("%s: %s params, %s MACs\n", l.Name, l.Params, l.MACs)
	}
	// Output:
	// conv2d_1: 10n params, 6084n MACs
	// depthwise_conv2d_1: 20n params, 10368n MACs
	// separable_conv2d_1: 4n² + 20n params, 484n² + 2178n MACs
	// flatten_1: 0 params, 0 MACs
	// dense_1: 2420n + 10 params, 2420n MACs
}

// TestBatchNormCounts checks the counts of models with batch_norm against Keras's summary worked
// out by hand: the total, its non-trainable part (the moving mean and variance), and the count
// once each batch_norm that follows a linear dense or conv2d layer is folded into it.
func TestBatchNormCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, layers                string
		total, nonTrainable, folded string
		at2                         [3]int64 // total, non-trainable, folded at n=2
		layerParams                 []int64  // per layer at n=2
	}{
		// conv 9n (no bias), batch_norm 4n (2n moving), dense 13·13·n·10 + 10; folding drops 4n
		// and gives the convolution a bias of n.
		{"conv-nobias", "    - conv2d: {filters: n, kernel: 3, use_bias: false}\n    - batch_norm: {}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 10, activation: softmax}\n",
			"1703n + 10", "2n", "1700n + 10", [3]int64{3416, 4, 3410}, []int64{18, 8, 0, 0, 3390}},
		// dense 784·2n + 2n with relu: the batch_norm after it (β and the moving statistics, 6n)
		// cannot fold through the activation.
		{"dense-relu-noscale", "    - flatten: {}\n    - dense: {units: 2n, activation: relu}\n    - batch_norm: {scale: false}\n    - dense: {units: 10, activation: softmax}\n",
			"1596n + 10", "4n", "1596n + 10", [3]int64{3202, 8, 3202}, []int64{0, 3140, 12, 50}},
		// conv with a bias (10n), batch_norm with only the moving statistics (2n), folded away.
		{"conv-bias-plain", "    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {center: false, scale: false}\n    - flatten: {}\n    - dense: {units: 10}\n",
			"6772n + 10", "2n", "6770n + 10", [3]int64{13554, 4, 13550}, []int64{20, 4, 0, 13530}},
		// A batch_norm first has no layer to fold into.
		{"first", "    - batch_norm: {}\n    - flatten: {}\n    - dense: {units: n}\n    - dense: {units: 10}\n",
			"795n + 14", "2", "795n + 14", [3]int64{1604, 2, 1604}, []int64{4, 0, 1570, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "name: bn\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [2]}\nmodel:\n  layers:\n" + tt.layers
			m := expandSource(t, tt.name+".yaml", []byte(src))[0]
			c := Count(m)
			if got := [3]string{c.Params.String(), c.NonTrainable.String(), c.Folded.String()}; got != [3]string{tt.total, tt.nonTrainable, tt.folded} {
				t.Errorf("total, non-trainable, folded = %q, want %q", got, [3]string{tt.total, tt.nonTrainable, tt.folded})
			}
			if !c.HasNonTrainable() {
				t.Error("HasNonTrainable is false")
			}
			pc, err := c.At(m.Points[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := [3]int64{pc.Params, pc.NonTrainable, pc.Folded}; got != tt.at2 {
				t.Errorf("at n=2: %v, want %v", got, tt.at2)
			}
			for i, l := range pc.Layers {
				if l.Params != tt.layerParams[i] {
					t.Errorf("%s: %d params, want %d", l.Name, l.Params, tt.layerParams[i])
				}
			}
			// The weights hold the total, and their non-trainable tensors the non-trainable part.
			w, err := NewWeights(m, m.Points[0], 1)
			if err != nil {
				t.Fatal(err)
			}
			var non int64
			for i, f := range w.Floats() {
				if !w.Trainable(i) {
					non += int64(len(f))
				}
			}
			if w.Count() != pc.Params || non != pc.NonTrainable {
				t.Errorf("weights hold %d values, %d non-trainable; closed form %d, %d", w.Count(), non, pc.Params, pc.NonTrainable)
			}
		})
	}
	// A model without batch_norm keeps one count.
	m := expandFile(t, filepath.Join("..", "examples", "mnist-cnn2.yaml"))[0]
	if c := Count(m); c.HasNonTrainable() || !c.Folded.Equal(c.Params) {
		t.Errorf("mnist-cnn2: non-trainable %s, folded %s", c.NonTrainable, c.Folded)
	}
}

// TestBatchNormInitialWeights checks the starting values: γ 1, β 0, moving mean 0, moving
// variance 1, and that only the moving statistics are non-trainable.
func TestBatchNormInitialWeights(t *testing.T) {
	t.Parallel()
	src := "name: bn\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [3]}\nmodel:\n  layers:\n    - conv2d: {filters: n, kernel: 3}\n    - batch_norm: {}\n    - flatten: {}\n    - dense: {units: 10}\n"
	m := expandSource(t, "bn.yaml", []byte(src))[0]
	w, err := NewWeights(m, m.Points[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		value     float32
		trainable bool
	}{"batch_norm_1/gamma": {1, true}, "batch_norm_1/beta": {0, true}, "batch_norm_1/moving_mean": {0, false}, "batch_norm_1/moving_variance": {1, false}}
	found := 0
	for i, name := range w.Names {
		wv, ok := want[name]
		if !ok {
			if !w.Trainable(i) {
				t.Errorf("%s is non-trainable", name)
			}
			continue
		}
		found++
		if w.Trainable(i) != wv.trainable {
			t.Errorf("%s: trainable %v, want %v", name, w.Trainable(i), wv.trainable)
		}
		for _, v := range w.Floats()[i] {
			if v != wv.value {
				t.Fatalf("%s starts at %v, want %v", name, w.Floats()[i], wv.value)
			}
		}
		if s := w.Tensors[i].Shape(); len(s) != 1 || s[0] != 3 {
			t.Errorf("%s has shape %v, want [3]", name, s)
		}
	}
	if found != 4 {
		t.Fatalf("found %d of the 4 batch_norm tensors in %v", found, w.Names)
	}
}
