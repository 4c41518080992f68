package report

import (
	"strings"
	"testing"
)

// The turning point's export command is shown under it; a model without a turning point shows none.
func TestMarkdownShowsExportCommand(t *testing.T) {
	t.Parallel()
	point := func(label string, params int64, acc float64) Point {
		return Point{Label: label, Params: params, Accuracy: acc, Status: StatusOK, Export: "nnsweep export runs/x --model m --point " + label}
	}
	tests := []struct {
		name   string
		points []Point
		want   string
	}{
		{"found", []Point{point("n=8", 800, 0.99), point("n=2", 200, 0.98), point("n=1", 100, 0.9)},
			"Export it as ONNX (add `--format safetensors` for its weights): `nnsweep export runs/x --model m --point n=2`\n"},
		{"none reaches the target", []Point{point("n=1", 100, 0.9)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := WriteMarkdown(&b, Experiment{Target: 0.97, Models: []Model{{Name: "m", Points: tt.points}}}, ""); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if tt.want == "" && strings.Contains(got, "Export it") || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, got)
			}
		})
	}
}
