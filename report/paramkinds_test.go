package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestParamKinds checks that a model with batch norm gets its table of total, trainable,
// non-trainable and folded parameters and the sentence saying the turning point is judged on the
// total, and that a model without gets neither.
func TestParamKinds(t *testing.T) {
	t.Parallel()
	point := func(label string, params, non, folded int64, acc float64) Point {
		return Point{Label: label, Params: params, NonTrainable: non, Folded: folded, Accuracy: acc, Status: StatusOK, Epochs: 1}
	}
	e := Experiment{Title: "bn", Target: 0.9, Models: []Model{
		{Name: "bn", Polynomial: "338n² + 41n + 10", Points: []Point{point("n=2", 1444, 12, 1438, 0.85), point("n=4", 5582, 24, 5570, 0.93)}},
		{Name: "plain", Polynomial: "63n² + 335n + 10", Points: []Point{point("n=2", 932, 0, 0, 0.95)}},
	}}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, e, ""); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	bn, plain, _ := strings.Cut(out[strings.Index(out, "## bn"):], "## plain")
	for _, want := range []string{
		"and the turning point is judged on it; folded is what a deployed model carries",
		"| point | params | trainable | non-trainable | folded |",
		"| n=2 | 1,444 | 1,432 | 12 | 1,438 |",
		"| n=4 | 5,582 | 5,558 | 24 | 5,570 |",
		"**Turning point:** n = 4",
	} {
		if !strings.Contains(bn, want) {
			t.Errorf("the batch-norm model's section lacks %q:\n%s", want, bn)
		}
	}
	if strings.Contains(plain, "non-trainable") || strings.Contains(plain, "folded") {
		t.Errorf("a model without batch norm shows parameter kinds:\n%s", plain)
	}
}
