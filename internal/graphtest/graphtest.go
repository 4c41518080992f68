// Package graphtest prepares and checks built graphs (package builder) for the tests of the
// packages that build and train them.
package graphtest

import (
	"math/rand/v2"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// Train draws m's weights at p with seed, builds its training graph of batch rows with ops, fills
// it from rng (every row real) and runs it once on a tape machine binding dual values, which it
// returns open. It fails t on any error.
func Train(t testing.TB, m spec.ResolvedModel, p spec.Point, seed int64, batch int, ops builder.Ops, rng *rand.Rand) (*builder.Graph, G.VM) {
	t.Helper()
	w, err := builder.NewWeights(m, p, seed)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := builder.Build(m, p, w, batch, true, ops)
	if err != nil {
		t.Fatal(err)
	}
	Fill(gr, rng, batch)
	vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
	if err := vm.RunAll(); err != nil {
		vm.Close()
		t.Fatal(err)
	}
	return gr, vm
}

// Fill sets a training graph's images to values in [0, 1), one-hot labels for its first count
// rows (the rest are padding rows, all zero) and its dropout masks (0, or 1/(1-rate) with
// probability 1-rate).
func Fill(gr *builder.Graph, rng *rand.Rand, count int) {
	in := gr.Input.Value().Data().([]float32)
	for i := range in {
		in[i] = rng.Float32()
	}
	lab := gr.Labels.Value().Data().([]float32)
	classes := gr.Labels.Shape()[1]
	clear(lab)
	for b := range count {
		lab[b*classes+rng.IntN(classes)] = 1
	}
	for i, m := range gr.Dropouts {
		d := m.Value().Data().([]float32)
		for j := range d {
			d[j] = 0
			if rng.Float64() >= gr.DropoutRates[i] {
				d[j] = float32(1 / (1 - gr.DropoutRates[i]))
			}
		}
	}
	G.Let(gr.Count, float32(count))
}
