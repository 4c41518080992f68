// Package pipeline is the facade the commands call: load → validate → expand → count → build →
// train → store → report. Each command of main.go maps to one function here (Validate, Params,
// Schema, Plan, Run, Report, Export), which writes its output to the writers it is given and returns an
// error whose kind (see ExitCode) tells main how to exit.
//
// Results live in a folder per spec (runs/<spec name>/ by default): manifest.json lists every
// point the run set out to train with its result key; results.jsonl (results-shard-I-of-N.jsonl
// for a shard of a split sweep) holds one JSON object per finished training, appended and synced
// after each one by the one process that holds the file's lock; weights/<key>.safetensors holds each
// training's final weights, written whole before the line that names it (weights.go); report.md with its charts is
// refreshed after trainings, at most every few seconds, and when the run ends. An interrupted sweep
// keeps everything it finished, and a rerun trains only what is missing. Run trains a model's
// points as a grid (all of them) or searches them by bisection guided by a power-law fit
// (search.go), each point once per seed when the spec repeats points; with --jobs left out, the
// seeds of a point train at once, one per core (jobs.go). OpenStoredModel reloads a stored training for Export, which
// writes it as ONNX (export.go) or safetensors.
package pipeline
