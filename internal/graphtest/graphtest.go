// Package graphtest prepares and checks built graphs (package builder) for the tests of the
// packages that build and train them.
package graphtest

import (
	"math/rand/v2"

	"github.com/nnsweep/nnsweep/builder"
	G "gorgonia.org/gorgonia"
)

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
