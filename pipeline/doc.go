// Package pipeline is the facade the commands call: load → validate → expand → count → build →
// train → store → report. Each command of main.go maps to one function here (Validate, Params,
// Schema, Run, Report), which writes its output to the writers it is given and returns an error
// whose kind (see ExitCode) tells main how to exit.
//
// Results live in a folder per spec (runs/<spec name>/ by default): results.jsonl holds one JSON
// object per finished point, rewritten atomically after each point, and report.md with its charts
// is refreshed after each point, so an interrupted sweep keeps everything it finished.
package pipeline
