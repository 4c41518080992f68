// Package builder turns resolved models (package spec) into numbers and graphs.
//
// count.go holds the closed forms: every layer's output shape, parameters and forward
// multiply-adds as polynomials in the sweep variables, computed without gorgonia, so that
// `nnsweep params` answers at once. The gorgonia graphs that training runs are built from the same
// resolved layers, and tests check that the tensors of a built graph add up to the closed form.
package builder
