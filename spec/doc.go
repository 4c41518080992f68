// Package spec owns the nnsweep experiment file: its YAML types, strict decoding with source
// positions, validation, width expressions and their polynomials, sweep expansion, the layer
// kinds, and the JSON Schema editors check the file against.
//
// The steps, as in hcl (parse → schema → evaluate):
//
//	s, errs := spec.Parse(name, src)     // strict YAML decoding; every error has a position
//	errs := spec.Validate(s, data)        // field and semantic rules, all errors collected, sorted
//	models, errs := spec.Expand(s, data)  // or, in one step: Parse's and Validate's errors, or the
//	                                      // resolved models, one Point per sweep combination
//
// Parse returns a spec whenever the file is a YAML document, even with errors, and Validate does
// not report again what Parse rejected, so a file's errors are Parse's and Validate's together.
// Validate and Expand check the same rules in the same pass that resolves the models (defaults
// applied, shapes and closed forms worked out), in small steps per model: its name, input,
// training settings, sweep, each layer by its kind, and the classifier (expand.go). A caller that
// wants the models calls Expand alone, and each model is resolved once. Every error reads
// "file:line:col: path: problem; fix", lines and columns counted from 1.
//
// Spec, Model, Layer and Sweep mirror the YAML one type per concept (spec.go, model.go, layer.go,
// sweep.go, train.go, dataset.go). Each layer kind is one file (layer_dense.go, layer_conv2d.go,
// layer_pool.go, layer_flatten.go, layer_dropout.go, layer_batchnorm.go) holding its settings, defaults and checks,
// its output shape, its parameters and multiply-adds as polynomials and its weights' shapes;
// package ops adds its graph (runner/ops/layers.go). Expr is a width such as "2n" and Poly an
// integer polynomial in the sweep variables such as 63n² + 335n + 10; JSONSchema (schema.go)
// generates the schema from these types. Package spec imports no other package of nnsweep.
package spec
