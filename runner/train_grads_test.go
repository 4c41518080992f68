package runner

import (
	"math/rand/v2"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/internal/testcmp"
	"github.com/nnsweep/nnsweep/runner/ops"
	G "gorgonia.org/gorgonia"
)

// TestParamGradsMatchDualValues checks that the gradients the trainer hands the optimizer (the
// gradient nodes' values, read from a machine without dual values) are, bit for bit, the ones a
// machine binding dual values accumulates, for every parameter, with both engines.
func TestParamGradsMatchDualValues(t *testing.T) {
	t.Parallel()
	m, p := spectest.Model(t, "[9, 9, 1]", 3, 2, "{}", "    - conv2d: {filters: 2n, kernel: 3, activation: relu}\n    - maxpool2d: {pool: 2}\n    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 3, activation: softmax}\n")
	for _, ops := range []builder.Ops{ops.Fast{}, ops.Stock{}} {
		var graphs [2]*builder.Graph
		for i := range graphs {
			w, err := builder.NewWeights(m, p, 7)
			if err != nil {
				t.Fatal(err)
			}
			if graphs[i], err = builder.Build(m, p, w, 5, true, ops); err != nil {
				t.Fatal(err)
			}
			graphtest.Fill(graphs[i], rand.New(rand.NewPCG(3, 4)), 5)
		}
		plain, dual := G.NewTapeMachine(graphs[0].G), G.NewTapeMachine(graphs[1].G, G.BindDualValues(graphs[1].Params...))
		for _, vm := range []G.VM{plain, dual} {
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		got, want := paramGrads(graphs[0]), G.NodesToValueGrads(graphs[1].Params)
		if len(got) != len(want) || len(got) != 6 {
			t.Fatalf("%T: %d parameter gradients, want %d and 6", ops, len(got), len(want))
		}
		for i := range got {
			gv, err := got[i].Grad()
			if err != nil {
				t.Fatal(err)
			}
			wv, err := want[i].Grad()
			if err != nil {
				t.Fatal(err)
			}
			g, w := gv.Data().([]float32), wv.Data().([]float32)
			if j := testcmp.FirstBitDifference(g, w); j >= 0 {
				t.Errorf("%T: parameter %d (%s): gradient element %d is %v, want %v", ops, i, graphs[0].Params[i].Name(), j, g[min(j, len(g)-1)], w[min(j, len(w)-1)])
			}
			if !gv.Shape().Eq(graphs[0].Params[i].Shape()) {
				t.Errorf("%T: parameter %d: gradient shape %v, want %v", ops, i, gv.Shape(), graphs[0].Params[i].Shape())
			}
		}
		plain.Close()
		dual.Close()
	}
}
