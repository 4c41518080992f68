// Package spec owns the nnsweep experiment file: its YAML types, strict decoding with source
// positions, validation, width expressions and their polynomials, and sweep expansion.
//
// The steps are separate, as in hcl (parse → schema → evaluate):
//
//	s, errs := spec.Parse(name, src)     // strict YAML decoding; every error has a position
//	errs = spec.Validate(s, data)        // field rules and semantic rules, all errors collected
//	models := spec.Expand(s, data)       // resolved models, one Point per sweep combination
//
// Spec, Model, Layer and Sweep mirror the YAML one type per concept (spec.go, model.go, layer.go,
// sweep.go, train.go, dataset.go); Expr is a width such as "2n" and Poly an integer polynomial in
// the sweep variables such as 63n² + 335n + 10. Package spec imports no other package of nnsweep.
package spec
