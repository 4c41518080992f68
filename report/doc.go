// Package report renders the results of a parameter-efficiency sweep: a
// Markdown report (report.md), an accuracy-versus-parameters chart
// (chart.png and chart.svg) and result tables for a terminal or for other
// tools (text, CSV, JSON, Markdown).
//
// It also owns the two analyses those outputs are built on: TurningPoint,
// the smallest model of an architecture whose test accuracy reaches a
// target, and ParetoFront, the points across all architectures that no
// other point beats on both parameter count and accuracy.
//
// The package imports no other package of nnsweep. Callers describe an
// experiment with the plain rows defined here (Experiment, Model, Point),
// so every output can be produced and tested without training anything.
package report
