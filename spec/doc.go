// Package spec owns the nnsweep experiment file: its YAML types, strict decoding with source
// positions, validation, width expressions and their polynomials, sweep expansion, and the JSON
// Schema editors check the file against.
//
// The steps are separate, as in hcl (parse → schema → evaluate):
//
//	s, errs := spec.Parse(name, src)        // strict YAML decoding; every error has a position
//	errs = append(errs, spec.Validate(s, data)...) // field and semantic rules, all errors collected
//	errs.Sort()
//	models, errs := spec.Expand(s, data)    // resolved models, one Point per sweep combination
//
// Parse returns a spec whenever the file is a YAML document, even with errors, and Validate does
// not report again what Parse rejected, so a file's errors are Parse's and Validate's together.
// Every error reads "file:line:col: path: problem; fix", lines and columns counted from 1.
//
// Spec, Model, Layer and Sweep mirror the YAML one type per concept (spec.go, model.go, layer.go,
// sweep.go, train.go, dataset.go); Expr is a width such as "2n" and Poly an integer polynomial in
// the sweep variables such as 63n² + 335n + 10; JSONSchema (schema.go) generates the schema from
// these types. Package spec imports no other package of nnsweep.
package spec
