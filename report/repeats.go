package report

import (
	"fmt"
	"math"
	"strings"
)

// The rules that say which figure of a point trained with several seeds
// must reach the target (Experiment.Rule).
const (
	// RuleMean judges a point by the mean accuracy of its ok runs.
	RuleMean = "mean"
	// RuleMin judges a point by its worst run: every seed must reach the
	// target, so a point with a diverged run fails.
	RuleMin = "min"
	// RuleMeanSD judges a point by the mean minus one sample standard
	// deviation of its ok runs.
	RuleMeanSD = "mean-sd"
)

// Rules are the values Experiment.Rule accepts besides "" (RuleMean).
var Rules = []string{RuleMean, RuleMin, RuleMeanSD}

// checkRule returns an error unless rule is one of Rules or empty.
func checkRule(rule string) error {
	switch rule {
	case "", RuleMean, RuleMin, RuleMeanSD:
		return nil
	}
	return fmt.Errorf("report: unknown rule %q; use one of %s", rule, strings.Join(Rules, ", "))
}

// checkExperiment returns an error for an experiment no output can show.
func checkExperiment(e Experiment) error {
	if err := checkTarget(e.Target); err != nil {
		return err
	}
	return checkRule(e.Rule)
}

// Summary is what Aggregate makes of the runs of one point.
//
// Accuracies are fractions in [0,1]. Only ok runs (status ok, accuracy a
// number) enter Mean, SD, Min, Max and Loss: a diverged run is a failed
// training, not a low accuracy, and is counted in Diverged instead.
type Summary struct {
	// Runs is the number of runs given.
	Runs int
	// OK is the number of ok runs.
	OK int
	// Diverged is the number of diverged runs.
	Diverged int
	// Pending is the number of runs that have not finished (any status
	// other than ok and diverged, and ok runs whose accuracy is NaN).
	Pending int
	// Mean is the mean accuracy of the ok runs; 0 when there are none.
	Mean float64
	// SD is the sample standard deviation (divisor OK−1) of the ok runs'
	// accuracies; 0 when there are fewer than two ok runs.
	SD float64
	// Min and Max are the lowest and highest accuracy of the ok runs; 0
	// when there are none.
	Min, Max float64
	// Loss is the mean test loss of the ok runs whose loss is finite; NaN
	// when there are none.
	Loss float64
	// Epochs is the mean number of epochs of the ok runs, or of all runs
	// that trained at least one epoch when none is ok; 0 when none did.
	Epochs float64
	// TrainSeconds is the training time of all runs together, in seconds
	// (runs with an unknown time count as 0).
	TrainSeconds float64
	// Figure is the rule's figure: Mean for RuleMean, Min for RuleMin,
	// Mean−SD for RuleMeanSD. It is NaN when Status is not StatusOK.
	Figure float64
	// Status is StatusOK when Figure is meaningful. Otherwise it is
	// StatusDiverged when some run diverged (under RuleMin one diverged
	// run is enough, whatever the others did), or StatusPending when no
	// run has finished.
	Status Status
}

// Aggregate summarizes the runs of one point under rule (RuleMean, RuleMin,
// RuleMeanSD; "" means RuleMean).
//
// Diverged runs: mean, sd, min and max describe the ok runs only, and the
// point is judged on them under RuleMean and RuleMeanSD; under RuleMin,
// which asks every seed to reach the target, a point with a diverged run
// fails (Status StatusDiverged, Figure NaN). A single ok run has no spread:
// SD is 0, so RuleMeanSD gives its accuracy. Runs that have not finished
// are counted as Pending and otherwise ignored.
//
// Aggregate panics on an unknown rule; the Write functions check the rule
// and return an error instead.
func Aggregate(runs []Run, rule string) Summary {
	if err := checkRule(rule); err != nil {
		panic(err.Error())
	}
	s := Summary{Runs: len(runs), Figure: math.NaN(), Loss: math.NaN()}
	// Welford's update keeps the mean of equal accuracies exactly equal to
	// them, so a point whose seeds all score the target meets it.
	var m2, lossSum, epochsOK, epochsAll float64
	losses, trainedAll := 0, 0
	for _, r := range runs {
		if t := r.TrainSeconds; t > 0 && !math.IsInf(t, 0) {
			s.TrainSeconds += t
		}
		if r.Epochs > 0 {
			epochsAll += float64(r.Epochs)
			trainedAll++
		}
		switch {
		case r.Status == StatusOK && !math.IsNaN(r.Accuracy):
			s.OK++
			d := r.Accuracy - s.Mean
			s.Mean += d / float64(s.OK)
			m2 += d * (r.Accuracy - s.Mean)
			if s.OK == 1 || r.Accuracy < s.Min {
				s.Min = r.Accuracy
			}
			if s.OK == 1 || r.Accuracy > s.Max {
				s.Max = r.Accuracy
			}
			if !math.IsNaN(r.Loss) && !math.IsInf(r.Loss, 0) {
				lossSum += r.Loss
				losses++
			}
			epochsOK += float64(r.Epochs)
		case r.Status == StatusDiverged:
			s.Diverged++
		default:
			s.Pending++
		}
	}
	if s.OK >= 2 {
		s.SD = math.Sqrt(math.Max(m2, 0) / float64(s.OK-1))
	}
	if losses > 0 {
		s.Loss = lossSum / float64(losses)
	}
	switch {
	case s.OK > 0:
		s.Epochs = epochsOK / float64(s.OK)
	case trainedAll > 0:
		s.Epochs = epochsAll / float64(trainedAll)
	}

	switch {
	case s.OK == 0 && s.Diverged > 0, rule == RuleMin && s.Diverged > 0:
		s.Status = StatusDiverged
	case s.OK == 0:
		s.Status = StatusPending
	default:
		s.Status = StatusOK
		switch rule {
		case RuleMin:
			s.Figure = s.Min
		case RuleMeanSD:
			s.Figure = s.Mean - s.SD
		default:
			s.Figure = s.Mean
		}
	}
	return s
}

// resolve returns p as the analyses see it under rule: unchanged when it
// has no Runs, otherwise with Accuracy, Loss, Epochs, TrainSeconds and
// Status taken from Aggregate (Runs are kept).
func resolve(p Point, rule string) Point {
	if len(p.Runs) == 0 {
		return p
	}
	s := Aggregate(p.Runs, rule)
	p.Accuracy, p.Loss, p.Status = s.Figure, s.Loss, s.Status
	p.Epochs = int(math.Round(s.Epochs))
	p.TrainSeconds = s.TrainSeconds
	return p
}

// resolveModel returns m with every point resolved under rule. It shares
// no Points slice with m.
func resolveModel(m Model, rule string) Model {
	pts := make([]Point, len(m.Points))
	for i, p := range m.Points {
		pts[i] = resolve(p, rule)
	}
	m.Points = pts
	return m
}

// resolveModels resolves every model under rule.
func resolveModels(models []Model, rule string) []Model {
	out := make([]Model, len(models))
	for i, m := range models {
		out[i] = resolveModel(m, rule)
	}
	return out
}

// hasRuns reports whether some point of models was trained with seeds.
func hasRuns(models []Model) bool {
	for _, m := range models {
		if modelHasRuns(m) {
			return true
		}
	}
	return false
}

// modelHasRuns reports whether some point of m was trained with seeds.
func modelHasRuns(m Model) bool {
	for _, p := range m.Points {
		if len(p.Runs) > 0 {
			return true
		}
	}
	return false
}

// ruleName is rule with "" spelled out as RuleMean.
func ruleName(rule string) string {
	if rule == "" {
		return RuleMean
	}
	return rule
}

// ruleFigure names the rule's figure in prose: "mean", "min", "mean − sd".
func ruleFigure(rule string) string {
	if rule == RuleMeanSD {
		return "mean − sd"
	}
	return ruleName(rule)
}
