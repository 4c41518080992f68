package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse, Validate or Expand panic, and that every error they
// report has a position and a problem. It is seeded with every example and every bad spec.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../examples/*.yaml", "testdata/bad/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte("name: a\nx: &a {dense: {units: 2}}\nmodel: {layers: [*a, *a, {flatten: *a}]}\n"))
	f.Add([]byte("sweep: {n: {from: 1, to: 9223372036854775807, factor: 3}}\n"))
	f.Add([]byte("train: {optimizer: {name: adamw, weight_decay: 0.01}, label_smoothing: 0.1,\n" +
		"  schedule: {name: onecycle, warmup_epochs: 0.5, pct_start: 0.2, anneal_strategy: linear},\n" +
		"  augment: {shift: 2, rotate: 10, zoom: 0.1}}\nmodel: {layers: [{flatten: {}}, {dense: {units: 10}}]}\n"))
	f.Add([]byte("name: r\ndataset: mnist\ntarget: {min: 0.5}\nsweep: {n: [2]}\nmodel:\n  layers:\n    - conv2d: {filters: n, kernel: 3, padding: same, activation: swish}\n" +
		"    - residual: {project: true, layers: [{conv2d: {filters: 2n, kernel: 3, stride: 2, padding: same}}, {activation: leaky_relu}, {residual: {layers: [{dropout: {rate: 0.5}}]}}]}\n" +
		"    - global_avgpool2d:\n    - residual: {layers: [{dense: {units: 2n}}]}\n    - dense: {units: 10}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, errs := Parse("fuzz.yaml", src)
		if s == nil && len(errs) == 0 {
			t.Fatal("Parse returned neither a spec nor errors")
		}
		checkPositions(t, errs)
		if s == nil {
			return
		}
		checkPositions(t, Validate(s, mnist))
		checkPositions(t, Validate(s, nil))
		models, errs := Expand(s, mnist)
		checkPositions(t, errs)
		for _, m := range models {
			for _, p := range m.Points {
				for _, l := range m.Layers {
					if w := l.Width; !w.IsZero() {
						if v, ok := w.Poly().Eval(p.Map()); !ok || v < 1 || v > maxWidth {
							t.Fatalf("%s: width %s is %d at %s in a valid spec", l.Name, w, v, p)
						}
					}
				}
			}
		}
	})
}

func checkPositions(t *testing.T, errs ErrorList) {
	t.Helper()
	for _, e := range errs {
		if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.File != "fuzz.yaml" || e.Problem == "" {
			t.Fatalf("error without a position or a problem: %q", e.Error())
		}
	}
}
