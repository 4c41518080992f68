package spec

import (
	"fmt"
	"strings"
	"testing"
)

func TestPointString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Point
		want string
	}{
		{"no variables", nil, "-"},
		{"one", Point{{"n", 2}}, "n=2"},
		{"two in order", Point{{"n", 2}, {"m", -4}}, "n=2, m=-4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOutputSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		in, k, stride, want int
		padding             string
	}{
		{"valid 3×3 on 28", 28, 3, 1, 26, "valid"},
		{"empty padding is valid", 28, 3, 1, 26, ""},
		{"valid pool 2 on 13", 13, 2, 2, 6, "valid"},
		{"valid stride 2", 28, 3, 2, 13, "valid"},
		{"valid exact fit", 3, 3, 1, 1, "valid"},
		{"valid does not fit", 2, 3, 1, 0, "valid"},
		{"same keeps the size", 28, 3, 1, 28, "same"},
		{"same rounds up", 13, 2, 2, 7, "same"},
		{"same with a kernel larger than the input", 2, 5, 1, 2, "same"},
		{"stride 0", 28, 3, 0, 0, "valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := OutputSize(tt.in, tt.k, tt.stride, tt.padding); got != tt.want {
				t.Errorf("OutputSize(%d, %d, %d, %q) = %d, want %d", tt.in, tt.k, tt.stride, tt.padding, got, tt.want)
			}
		})
	}
}

// expandSource parses, validates and expands src, failing the test on any error.
func expandSource(t *testing.T, src string, data *DataInfo) []ResolvedModel {
	t.Helper()
	s, errs := Parse("test.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("Parse:\n%s\n%s", errs.Lines(), src)
	}
	models, errs := Expand(s, data)
	if len(errs) > 0 {
		t.Fatalf("Expand:\n%s\n%s", errs.Lines(), src)
	}
	return models
}

func TestExpandResolvesLayers(t *testing.T) {
	t.Parallel()
	models := expandSource(t, `
name: cnn
dataset: mnist
target: {min: 0.97}
sweep: {n: [8, 2], m: [1, 3]}
model:
  layers:
    - conv2d: {filters: n, kernel: [3, 5], stride: 2, padding: same, activation: relu, use_bias: false}
    - maxpool2d: {pool: 2, name: pool}
    - avgpool2d: {pool: [3, 2], stride: 1}
    - conv2d: {filters: "n m", kernel: 2}
    - flatten: {}
    - dropout: {rate: 0.25}
    - dense: {units: 10, activation: softmax}
`, mnist)
	m := models[0]
	if m.Name != "cnn" || m.Path != "model" || m.Input != (Shape{28, 28, 1}) || m.Classes != 10 {
		t.Errorf("model %q at %s: input %s, %d classes", m.Name, m.Path, m.Input, m.Classes)
	}
	var got []string
	for _, l := range m.Layers {
		got = append(got, fmt.Sprintf("%s %s %s w=%s %s/%s %s %s bias=%v rate=%g %dx%d→%dx%d vector=%v",
			l.Name, l.Kind, l.Path, l.Width,
			l.Window, l.Stride, l.Padding, l.Activation, l.UseBias, l.Rate, l.InH, l.InW, l.OutH, l.OutW, l.Vector))
	}
	want := []string{
		"conv2d_1 conv2d model.layers[0].conv2d w=n 3×5/2×2 same relu bias=false rate=0 28x28→14x14 vector=false",
		"pool maxpool2d model.layers[1].maxpool2d w= 2×2/2×2 valid linear bias=true rate=0 14x14→7x7 vector=false",
		"avgpool2d_1 avgpool2d model.layers[2].avgpool2d w= 3×2/1×1 valid linear bias=true rate=0 7x7→5x6 vector=false",
		"conv2d_2 conv2d model.layers[3].conv2d w=n m 2×2/1×1 valid linear bias=true rate=0 5x6→4x5 vector=false",
		"flatten_1 flatten model.layers[4].flatten w= 0×0/0×0  linear bias=true rate=0 4x5→0x0 vector=true",
		"dropout_1 dropout model.layers[5].dropout w= 0×0/0×0  linear bias=true rate=0.25 0x0→0x0 vector=true",
		"dense_1 dense model.layers[6].dense w=10 0×0/0×0  softmax bias=true rate=0 0x0→0x0 vector=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fmt.Sprint(m.Vars) != "[n m]" {
		t.Errorf("Vars = %v", m.Vars)
	}
	var points []string
	for _, p := range m.Points {
		points = append(points, p.String())
	}
	if got, want := strings.Join(points, "; "), "n=8, m=1; n=8, m=3; n=2, m=1; n=2, m=3"; got != want {
		t.Errorf("points %s, want %s", got, want)
	}
}

func TestExpandSeveralModels(t *testing.T) {
	t.Parallel()
	models := expandSource(t, `
name: compare
dataset: mnist
target: {min: 0.97}
sweep: {n: [4, 2]}
train: {epochs: 3}
models:
  - name: mlp
    layers: [{flatten: {}}, {dense: {units: n}}, {dense: {units: 10}}]
  - name: fixed
    layers: [{flatten: {}}, {dense: {units: 10}}]
  - name: own
    sweep: {n: [16], m: {from: 1, to: 4, factor: 2}}
    train: {epochs: 9}
    layers: [{flatten: {}}, {dense: {units: n+m}}, {dense: {units: 10}}]
`, mnist)
	var got []string
	for _, m := range models {
		var points []string
		for _, p := range m.Points {
			points = append(points, p.String())
		}
		got = append(got, fmt.Sprintf("%s %s epochs=%d %v", m.Name, m.Path, m.Train.Epochs, points))
	}
	want := "mlp models[0] epochs=3 [n=4 n=2]\nfixed models[1] epochs=3 [-]\nown models[2] epochs=9 [n=16, m=1 n=16, m=2 n=16, m=4]"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

func TestExpandWithInputAndNoData(t *testing.T) {
	t.Parallel()
	src := `
name: own
dataset: {train: {images: a, labels: b}, test: {images: c, labels: d}}
target: {min: 0.5}
model:
  input: [8, 8, 3]
  layers: [{conv2d: {filters: 2, kernel: 3}}, {flatten: {}}, {dense: {units: 4}}]
`
	models := expandSource(t, src, nil)
	if m := models[0]; m.Input != (Shape{8, 8, 3}) || m.Layers[0].OutH != 6 || m.Classes != 0 {
		t.Errorf("input %s, conv output %d, %d classes", m.Input, m.Layers[0].OutH, m.Classes)
	}
	s, _ := Parse("own.yaml", []byte(src))
	if got := s.DataFiles(); got != [4]string{"a", "b", "c", "d"} {
		t.Errorf("DataFiles() = %q", got)
	}
	s, _ = Parse("specs/own.yaml", []byte(src))
	if got := s.DataFiles(); got[0] != "specs/a" || got[3] != "specs/d" {
		t.Errorf("DataFiles() = %q", got)
	}
}

func TestValidateNil(t *testing.T) {
	t.Parallel()
	if errs := Validate(nil, mnist); errs != nil {
		t.Errorf("Validate(nil) = %v", errs)
	}
	if errs := Validate(&Spec{}, nil); len(errs) == 0 {
		t.Error("Validate of an empty Spec found nothing")
	}
}

// TestAllErrorsReported checks that a file with mistakes in many places gets all of them, in file
// order, and that Error() of the list names the first and counts the rest.
func TestAllErrorsReported(t *testing.T) {
	t.Parallel()
	src := `name: many
dataset: mnist
target: {min: 2}
sweep: {n: [8, 8]}
train: {epochs: 0, optimizer: {name: adam, rho: 0.9}}
model:
  layers:
    - conv2d: {filters: m, kernel: 3}
    - dense: {units: n, activation: softmax}
    - flatten: {}
    - dense: {units: 11}
`
	errs := check("many.yaml", []byte(src), mnist)
	var lines []string
	for _, e := range errs {
		lines = append(lines, fmt.Sprintf("%d:%d %s", e.Pos.Line, e.Pos.Col, e.Path))
	}
	want := []string{
		"3:15 target.min",
		"4:16 sweep.n[1]",
		"5:17 train.epochs",
		"5:49 train.optimizer.rho",
		"8:25 model.layers[0].conv2d.filters",
		"9:7 model.layers[1].dense",
		"9:37 model.layers[1].dense.activation",
		"10:7 model.layers[2].flatten",
		"11:22 model.layers[3].dense.units",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s\nerrors:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"), errs.Lines())
	}
	if got := errs.Error(); !strings.HasPrefix(got, "many.yaml:3:15: target.min: ") || !strings.HasSuffix(got, " (and 8 more errors)") {
		t.Errorf("Error() = %q", got)
	}
	if errs.Err() == nil || ErrorList(nil).Err() != nil {
		t.Error("Err() is wrong")
	}
}

func TestErrorList(t *testing.T) {
	t.Parallel()
	a := &Error{Pos: Pos{"f.yaml", 2, 3}, Path: "name", Problem: "bad", Fix: "fix it"}
	b := &Error{Pos: Pos{"f.yaml", 1, 9}, Problem: "worse"}
	c := &Error{Pos: Pos{File: "f.yaml"}, Path: "x", Problem: "somewhere"}
	l := ErrorList{a, b, a, c}
	l.Sort()
	if got, want := l.Lines(), "f.yaml: x: somewhere\nf.yaml:1:9: worse\nf.yaml:2:3: name: bad; fix it"; got != want {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	if got := (ErrorList{a, b}).Error(); got != "f.yaml:2:3: name: bad; fix it (and 1 more error)" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Problem: "p"}).Error(); got != "p" {
		t.Errorf("Error() = %q", got)
	}
	if got := (Pos{Line: 3, Col: 4}).String(); got != "3:4" {
		t.Errorf("String() = %q", got)
	}
}
