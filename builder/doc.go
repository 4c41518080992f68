// Package builder turns resolved models (package spec) into numbers and graphs.
//
// count.go sums the closed forms that spec's layer kinds give (every layer's output shape,
// parameters and forward multiply-adds as polynomials in the sweep variables), without gorgonia,
// so that `nnsweep params` answers at once. weights.go draws the weights in the shapes the kinds
// give, and graph.go strings the layers together into a graph, asking an engine (Ops: package
// ops's Stock or Fast) for each layer's nodes through a LayerBuild (layers.go). Tests check that
// the tensors of a built graph add up to the closed form.
package builder
