package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/internal/testcmp"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// smallKindLayers are models using the activation layer, swish, leaky_relu and the global
// pooling kinds, for the tests below (input, layers).
var smallKindLayers = []struct{ name, input, layers string }{
	{"dense-swish", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 3n, activation: swish}\n    - dense: {units: 3}\n"},
	{"dense-leaky-nobias", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 3n, activation: leaky_relu, use_bias: false}\n    - dense: {units: 3}\n"},
	{"conv-swish-same", "[6, 5, 2]", "    - conv2d: {filters: n, kernel: 3, padding: same, activation: swish}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"conv-leaky", "[5, 5, 1]", "    - conv2d: {filters: n, kernel: 2, activation: leaky_relu}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"activation-layer-image", "[5, 5, 1]", "    - conv2d: {filters: n, kernel: 2}\n    - activation: swish\n    - activation: {activation: tanh}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"activation-layer-vector", "[1, 1, 5]", "    - flatten: {}\n    - dense: {units: 2n}\n    - activation: leaky_relu\n    - activation: sigmoid\n    - dense: {units: 3}\n"},
	{"global-avgpool", "[5, 4, 1]", "    - conv2d: {filters: 2n, kernel: 2, activation: tanh}\n    - global_avgpool2d: {}\n    - dense: {units: 3}\n"},
	{"global-maxpool", "[5, 4, 1]", "    - conv2d: {filters: 2n, kernel: 2, activation: tanh}\n    - global_maxpool2d: {}\n    - dense: {units: 3}\n"},
	{"residual-identity", "[5, 5, 1]", "    - conv2d: {filters: n, kernel: 2, padding: same, activation: tanh}\n    - residual:\n        layers:\n          - conv2d: {filters: n, kernel: 3, padding: same, activation: swish}\n          - conv2d: {filters: n, kernel: 3, padding: same}\n    - activation: tanh\n    - flatten: {}\n    - dense: {units: 3}\n"},
	{"residual-project-stride", "[6, 5, 1]", "    - conv2d: {filters: n, kernel: 2, activation: tanh}\n    - residual:\n        project: true\n        layers:\n          - conv2d: {filters: 2n, kernel: 3, stride: 2, padding: same, activation: tanh}\n          - residual:\n              layers:\n                - dropout: {rate: 0.25}\n                - conv2d: {filters: 2n, kernel: 2, padding: same, use_bias: false}\n    - global_avgpool2d: {}\n    - dense: {units: 3}\n"},
	{"residual-vector-project", "[1, 1, 5]", "    - flatten: {}\n    - residual:\n        project: true\n        layers:\n          - dense: {units: 2n, activation: sigmoid}\n    - residual:\n        layers:\n          - dense: {units: 2n, activation: leaky_relu}\n    - dense: {units: 3}\n"},
}

// TestSmallKindsFiniteDifferences checks the gradients of the new kinds and activations on both
// engines against finite differences of the loss.
func TestSmallKindsFiniteDifferences(t *testing.T) {
	t.Parallel()
	for _, tt := range smallKindLayers {
		for _, ops := range []builder.Ops{Stock{}, Fast{}} {
			t.Run(fmt.Sprintf("%s-%T", tt.name, ops), func(t *testing.T) {
				t.Parallel()
				m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
				eps := float32(1e-3) // keeps leaky_relu's and max's probes off their kinks
				checkFiniteDifferences(t, m, p, ops, eps)
			})
		}
	}
}

// TestSmallKindsFastMatchesStock checks that the fast engine's log-probabilities and gradients
// equal the stock engine's for the same weights and batch.
func TestSmallKindsFastMatchesStock(t *testing.T) {
	t.Parallel()
	for _, tt := range smallKindLayers {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := spectest.Model(t, tt.input, 3, 2, "{}", tt.layers)
			stock, svm := graphtest.Train(t, m, p, 5, 6, Stock{}, rand.New(rand.NewPCG(3, 4)))
			defer svm.Close()
			fast, fvm := graphtest.Train(t, m, p, 5, 6, Fast{}, rand.New(rand.NewPCG(3, 4)))
			defer fvm.Close()
			want := stock.LogProbs.Value().Data().([]float32)
			got := fast.LogProbs.Value().Data().([]float32)
			if bad := closeSlices(got, want, 1e-5); bad >= 0 {
				t.Errorf("log-probabilities differ at %d: fast %v, stock %v", bad, got[bad], want[bad])
			}
			for i := range stock.Params {
				sg, _ := stock.Params[i].Grad()
				fg, _ := fast.Params[i].Grad()
				want, got := sg.Data().([]float32), fg.Data().([]float32)
				if bad := closeSlices(got, want, 1e-4); bad >= 0 {
					t.Errorf("%s: gradient differs at %d: fast %v, stock %v", stock.Params[i].Name(), bad, got[bad], want[bad])
				}
			}
		})
	}
}

// TestActivationValues checks swish and leaky_relu, and their derivatives, against their
// definitions at chosen points, the kinks included: leaky_relu's slope is Keras 3's 0.2, and its
// derivative at 0 is the slope, as PyTorch's.
func TestActivationValues(t *testing.T) {
	t.Parallel()
	xs := []float32{-3, -0.5, 0, 0.25, 2}
	for _, x := range xs {
		s := 1 / (1 + math.Exp(-float64(x)))
		if got, want := activate1(actSwish, x), float32(float64(x)*s); math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("swish(%v) = %v, want %v", x, got, want)
		}
		dz := make([]float32, 1)
		swishBackward([]float32{x}, []float32{2}, dz)
		// Numerical derivative of x·σ(x) in float64.
		h := 1e-6
		f := func(v float64) float64 { return v / (1 + math.Exp(-v)) }
		if want := 2 * (f(float64(x)+h) - f(float64(x)-h)) / (2 * h); math.Abs(float64(dz[0])-want) > 1e-5 {
			t.Errorf("swish'(%v)·2 = %v, want %v", x, dz[0], want)
		}
		want := float64(x)
		slope := 1.0
		if x <= 0 {
			want, slope = 0.2*float64(x), 0.2
		}
		y := activate1(actLeakyReLU, x)
		if math.Abs(float64(y)-want) > 1e-7 {
			t.Errorf("leaky_relu(%v) = %v, want %v", x, y, want)
		}
		activationBackward(actLeakyReLU, []float32{y}, []float32{3}, dz)
		if math.Abs(float64(dz[0])-3*slope) > 1e-7 {
			t.Errorf("leaky_relu'(%v)·3 = %v, want %v", x, dz[0], 3*slope)
		}
	}
	if y := activate1(actLeakyReLU, float32(math.NaN())); y == y {
		t.Errorf("leaky_relu(NaN) = %v, want NaN", y)
	}
}

// TestGlobalMaxPoolTiesGoToFirstMaximum checks global max pooling's gradient on both engines where a
// channel's maximum is tied: all of it goes to the first maximum in row-major order.
func TestGlobalMaxPoolTiesGoToFirstMaximum(t *testing.T) {
	t.Parallel()
	for _, fast := range []bool{false, true} {
		checkGlobalMaxTies(t, fast)
	}
}

func checkGlobalMaxTies(t *testing.T, fast bool) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 2, 2, 3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(1, 2, 2, 3), tensor.WithBacking([]float32{
			0, 5, 1, 5, 5, 2, // channel 0: maximum 5 at 1, 3 and 4
			-1, -1, -1, -1, -1, -1, // channel 1: all tied
		}))))
	y, err := GlobalPool2D(x, true, fast)
	if err != nil {
		t.Fatal(err)
	}
	if !y.Shape().Eq(tensor.Shape{1, 2}) {
		t.Fatalf("shape %v, want (1, 2)", y.Shape())
	}
	cost, err := G.Sum(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(cost, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(x))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := y.Value().Data().([]float32); got[0] != 5 || got[1] != -1 {
		t.Errorf("maxima %v, want [5 -1]", got)
	}
	gv, _ := x.Grad()
	want := []float32{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}
	if got := gv.Data().([]float32); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fast %v: gradient %v, want %v", fast, got, want)
	}
}

// TestGlobalPoolValues checks both engines' global pooling against the mean and maximum
// computed here.
func TestGlobalPoolValues(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	const n, c, h, w = 3, 4, 5, 6
	data := randomFloats(rng, n*c*h*w)
	for _, max := range []bool{false, true} {
		for _, fast := range []bool{false, true} {
			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c, h, w), G.WithName("x"),
				G.WithValue(tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(append([]float32(nil), data...)))))
			y, err := GlobalPool2D(x, max, fast)
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g)
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			got := y.Value().Data().([]float32)
			for pl := range n * c {
				plane := data[pl*h*w : (pl+1)*h*w]
				want, sum := math.Inf(-1), 0.0
				for _, v := range plane {
					want = math.Max(want, float64(v))
					sum += float64(v)
				}
				if !max {
					want = sum / (h * w)
				}
				if math.Abs(float64(got[pl])-want) > 1e-5 {
					t.Errorf("max %v fast %v: plane %d = %v, want %v", max, fast, pl, got[pl], want)
				}
			}
			vm.Close()
		}
	}
}

// TestSmallKindOpsDoNotAllocate checks that every op of ours in a training graph using the new
// kinds allocates nothing per call once its buffers exist.
//
// It does not run in parallel: testing.AllocsPerRun counts every allocation of the process.
func TestSmallKindOpsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled buffers are allocated again")
	}
	m, p := spectest.Model(t, "[6, 6, 1]", 4, 2, "{}", "    - conv2d: {filters: 2n, kernel: 3, activation: swish}\n    - activation: leaky_relu\n    - global_maxpool2d: {}\n    - dense: {units: 3n, activation: swish}\n    - activation: relu\n    - dense: {units: 4}\n")
	m2, p2 := spectest.Model(t, "[6, 6, 1]", 4, 2, "{}", "    - conv2d: {filters: 2n, kernel: 3, activation: leaky_relu}\n    - global_avgpool2d: {}\n    - dense: {units: 4}\n")
	checked, kinds := 0, map[string]bool{}
	for _, mp := range []struct {
		m spec.ResolvedModel
		p spec.Point
	}{{m, p}, {m2, p2}} {
		_, gr := stepAllocs(t, mp.m, mp.p, Fast{}, 8, 3)
		vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for _, n := range gr.G.AllNodes() {
			name := fmt.Sprint(n.Op())
			if !strings.HasPrefix(name, "nnsweep.") {
				continue
			}
			var inputs []G.Value
			for children := gr.G.From(n.ID()); children.Next(); {
				inputs = append(inputs, children.Node().(*G.Node).Value())
			}
			op := n.Op()
			if a := testing.AllocsPerRun(20, func() {
				if _, err := op.Do(inputs...); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v allocates %.0f times per call", op, a)
			}
			kinds[strings.SplitN(strings.TrimPrefix(name, "nnsweep."), "{", 2)[0]] = true
			checked++
		}
		vm.Close()
	}
	for _, k := range []string{"Activation", "SwishGrad", "ActivationGrad", "MaxPool2D", "AvgPool2D"} {
		if !kinds[k] {
			t.Errorf("no %s op was checked (checked %v)", k, kinds)
		}
	}
}

// TestReLUGradientFused checks the ReLU gradient fused into the layer after's input gradient:
// on models where a ReLU's output feeds a convolution, a depthwise convolution, a max or an
// average pooling, or two layers at once (a residual block), the fast engine's graph built
// with the fusion has relu-masked gradient ops and fewer ops than without it, and its
// log-probabilities and gradients are bit for bit those without it.
//
// It does not run in parallel: it switches fuseReLUGradient, which graph building reads.
func TestReLUGradientFused(t *testing.T) {
	tests := []struct{ name, input, layers string }{
		{"conv-conv-pools", "[10, 10, 1]", "    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - conv2d: {filters: n, kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - conv2d: {filters: 2n, kernel: 2, padding: same, activation: relu}\n    - avgpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n"},
		{"activation-layer-depthwise", "[8, 8, 2]", "    - conv2d: {filters: n, kernel: 2}\n    - activation: relu\n    - depthwise_conv2d: {kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3}\n"},
		{"residual", "[6, 6, 1]", "    - conv2d: {filters: n, kernel: 2, activation: relu}\n    - residual:\n        layers:\n          - conv2d: {filters: n, kernel: 3, padding: same, activation: relu}\n          - conv2d: {filters: n, kernel: 3, padding: same}\n    - flatten: {}\n    - dense: {units: 3}\n"},
	}
	build := func(t *testing.T, input, layers string, fuse bool) (*builder.Graph, G.VM) {
		t.Helper()
		fuseReLUGradient = fuse
		defer func() { fuseReLUGradient = true }()
		m, p := spectest.Model(t, input, 3, 3, "{}", layers)
		return graphtest.Train(t, m, p, 7, 6, Fast{}, rand.New(rand.NewPCG(5, 6)))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fused, fvm := build(t, tt.input, tt.layers, true)
			defer fvm.Close()
			plain, pvm := build(t, tt.input, tt.layers, false)
			defer pvm.Close()
			masked := 0
			for _, n := range fused.G.AllNodes() {
				if op := n.Op(); op != nil && strings.Contains(op.String(), "relu-masked") {
					masked++
				}
			}
			if nf, np := len(fused.G.AllNodes()), len(plain.G.AllNodes()); masked == 0 || nf >= np {
				t.Errorf("fused graph: %d relu-masked ops, %d nodes against %d without", masked, nf, np)
			}
			want, got := plain.LogProbs.Value().Data().([]float32), fused.LogProbs.Value().Data().([]float32)
			if bad := testcmp.FirstBitDifference(got, want); bad >= 0 {
				t.Errorf("log-probabilities differ at %d: fused %v, not fused %v", bad, got[bad], want[bad])
			}
			for i := range plain.Params {
				pg, _ := plain.Params[i].Grad()
				fg, _ := fused.Params[i].Grad()
				want, got := pg.Data().([]float32), fg.Data().([]float32)
				if bad := testcmp.FirstBitDifference(got, want); bad >= 0 {
					t.Errorf("%s: gradient differs at %d: fused %v, not fused %v", plain.Params[i].Name(), bad, got[bad], want[bad])
				}
			}
		})
	}
}
