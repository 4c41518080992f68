package spec

import (
	"fmt"
	"testing"
)

// ExampleResolvedModel_FoldedParams counts a convolution without bias followed by batch norm:
// 9n + 4n (γ, β, moving mean and variance) before folding, and once folded 9n + n (the
// convolution gains a bias, the batch norm goes), plus the classifier's 1690n + 10.
func ExampleResolvedModel_FoldedParams() {
	s, _ := Parse("bn.yaml", []byte(`
name: bn
dataset: mnist
target: {min: 0.98}
sweep: {n: [2]}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, use_bias: false}
    - batch_norm: {}
    - maxpool2d: {pool: 2}
    - flatten: {}
    - dense: {units: 10, activation: softmax}
`))
	models, _ := Expand(s, &DataInfo{H: 28, W: 28, C: 1, Classes: 10})
	var total, non Poly
	for _, l := range models[0].Layers {
		total, non = total.Add(l.Params()), non.Add(l.NonTrainable())
	}
	fmt.Println("total:", total)
	fmt.Println("non-trainable:", non)
	fmt.Println("folded:", models[0].FoldedParams())
	// Output:
	// total: 1703n + 10
	// non-trainable: 2n
	// folded: 1700n + 10
}

// TestBatchNormResolve checks the defaults and settings a batch_norm resolves, its shape (its
// input's), and its weights' order, shapes and flags.
func TestBatchNormResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		settings string
		want     BatchNormSettings
		weights  string
	}{
		{"{}", BatchNormSettings{0.99, 0.001, true, true}, "gamma 1 beta 0 moving_mean 0 non-trainable moving_variance 1 non-trainable"},
		{"{momentum: 0.5, epsilon: 0.1, center: false}", BatchNormSettings{0.5, 0.1, false, true}, "gamma 1 moving_mean 0 non-trainable moving_variance 1 non-trainable"},
		{"{scale: false}", BatchNormSettings{0.99, 0.001, true, false}, "beta 0 moving_mean 0 non-trainable moving_variance 1 non-trainable"},
	}
	for _, tt := range tests {
		src := "name: bn\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [3]}\nmodel:\n  layers:\n    - conv2d: {filters: n, kernel: 3}\n" +
			"    - batch_norm: " + tt.settings + "\n    - flatten: {}\n    - dense: {units: 10}\n"
		s, errs := Parse("bn.yaml", []byte(src))
		if errs != nil {
			t.Fatal(errs.Lines())
		}
		models, errs := Expand(s, &DataInfo{H: 28, W: 28, C: 1, Classes: 10})
		if errs != nil {
			t.Fatal(errs.Lines())
		}
		l := models[0].Layers[1]
		if l.Name != "batch_norm_1" || l.Settings != tt.want || l.OutH != 26 || l.OutW != 26 || l.OutC.String() != "n" || l.InC.String() != "n" {
			t.Errorf("%s: resolved %s %+v, out %d×%d×%s", tt.settings, l.Name, l.Settings, l.OutH, l.OutW, l.OutC)
		}
		got := ""
		for _, w := range l.Weights() {
			if len(w.Shape) != 1 || w.Shape[0].String() != "n" || !w.FanIn.IsZero() {
				t.Errorf("%s: %s has shape %v, fan-in %s", tt.settings, w.Name, w.Shape, w.FanIn)
			}
			got += fmt.Sprintf(" %s %v", w.Name, w.InitValue)
			if w.NonTrainable {
				got += " non-trainable"
			}
		}
		if got[1:] != tt.weights {
			t.Errorf("%s: weights %q, want %q", tt.settings, got[1:], tt.weights)
		}
	}
}
