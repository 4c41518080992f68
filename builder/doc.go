// Package builder turns resolved models (package spec) into numbers and graphs.
//
// count.go sums the closed forms that spec's layer kinds give (every layer's output shape,
// parameters and forward multiply-adds as polynomials in the sweep variables), without gorgonia,
// so that `nnsweep params` answers at once. weights.go draws the weights in the shapes the kinds
// give, and layers.go holds each kind's graph, which graph.go strings together. Tests check that
// the tensors of a built graph add up to the closed form.
package builder
