// Package spectest builds resolved models from a few lines of YAML, for the tests of the packages
// that count, build and train them.
package spectest

import (
	"fmt"
	"testing"

	"github.com/nnsweep/nnsweep/spec"
)

// Model expands a one-model spec with the given training settings and layers (YAML lines
// indented by four spaces) over the input shape input ("[h, w, c]") and classes, at the one
// sweep point n. It fails t on any error of the spec.
func Model(t testing.TB, input string, classes, n int, train, layers string) (spec.ResolvedModel, spec.Point) {
	t.Helper()
	src := fmt.Sprintf("name: m\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [%d]}\ntrain: %s\nmodel:\n  input: %s\n  layers:\n%s", n, train, input, layers)
	s, errs := spec.Parse("m.yaml", []byte(src))
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	var in [3]int
	fmt.Sscanf(input, "[%d, %d, %d]", &in[0], &in[1], &in[2])
	ms, errs := spec.Expand(s, &spec.DataInfo{H: in[0], W: in[1], C: in[2], Classes: classes})
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	return ms[0], ms[0].Points[0]
}
