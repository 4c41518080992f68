// Package report renders the results of a parameter-efficiency sweep: a
// Markdown report (report.md), an accuracy-versus-parameters chart
// (chart.png and chart.svg) and result tables for a terminal or for other
// tools (text, CSV, JSON, Markdown).
//
// It also owns the analyses those outputs are built on: TurningPoint, the
// smallest model of an architecture whose test accuracy reaches a target;
// ParetoFront, the points across all architectures that no other point
// beats on both parameter count and accuracy; Aggregate, which sums up a
// point trained with several seeds into the one figure a rule (mean, min,
// mean − sd) judges; and FitPowerLaw, accuracy ≈ a − b·P^(−α) fitted to a
// model's points, which predicts the parameter count at the target.
//
// The report also shows how a search chose the points it trained (grid or
// bisection, with the points it skipped and the time it saved) and which
// points stopped training early.
//
// The package imports no other package of nnsweep. Callers describe an
// experiment with the plain rows defined here (Experiment, Model, Point),
// so every output can be produced and tested without training anything.
package report
