package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// writeSearch says how a model's points were chosen and what that saved,
// e.g. "bisect trained 6 of 32 points (19%) in 4m10s; the full grid would
// take about 1h02m (est.), 93% saved.", followed by the search's notes. The
// grid's time is the measured one when known, else the estimate, marked so.
func writeSearch(b *strings.Builder, s SearchInfo) {
	method := oneLine(s.Method)
	if method == "" {
		method = "the search"
	}
	verb := "trained"
	if s.GridSeconds > 0 && s.Method != "grid" {
		verb = "needed" // the grid trained every point; the search used the results it needed
	}
	fmt.Fprintf(b, "**Search:** %s %s ", method, verb)
	if s.GridPoints > 0 {
		fmt.Fprintf(b, "%d of %s (%.0f%%", s.Trained, numfmt.Plural(s.GridPoints, "point", "points"),
			100*float64(s.Trained)/float64(s.GridPoints))
		if s.GridTrainings > s.GridPoints && s.Trainings > 0 {
			fmt.Fprintf(b, "; %d of %d trainings", s.Trainings, s.GridTrainings)
		}
		b.WriteString(")")
	} else {
		b.WriteString(numfmt.Plural(s.Trained, "point", "points"))
	}
	if t := duration(s.TrainSeconds); t != "—" {
		fmt.Fprintf(b, " in %s", t)
	}
	if s.Guided > 0 {
		fmt.Fprintf(b, ", %d of them proposed by the power-law fit", s.Guided)
	}
	grid := 0.0
	switch {
	case s.Method == "grid":
	case s.GridSeconds > 0 && !math.IsInf(s.GridSeconds, 0):
		grid = s.GridSeconds
		fmt.Fprintf(b, "; the full grid took %s (measured: its results are in this folder)", duration(grid))
	case s.GridSecondsEstimate > 0 && !math.IsInf(s.GridSecondsEstimate, 0):
		grid = s.GridSecondsEstimate
		fmt.Fprintf(b, "; the full grid would take about %s (est.)", duration(grid))
	}
	if grid > 0 {
		if saved := 1 - s.TrainSeconds/grid; s.TrainSeconds > 0 && saved > 0 {
			fmt.Fprintf(b, ", %.0f%% saved", 100*saved)
		} else if s.TrainSeconds > 0 {
			b.WriteString(", no time saved")
		}
	}
	b.WriteString(".\n\n")
	if len(s.Notes) > 0 {
		for _, n := range s.Notes {
			fmt.Fprintf(b, "- %s\n", oneLine(n))
		}
		b.WriteString("\n")
	}
}

// writeRepeatsTable writes the points of a model trained with several
// seeds: mean, sd and min as columns (and mean − sd under RuleMeanSD), the
// rule's column in bold. m's points are resolved.
func writeRepeatsTable(b *strings.Builder, rule string, mi int, m Model, tp TurningResult, pareto map[[2]int]bool) {
	bold := func(col, r string) string {
		if ruleName(rule) == r {
			return "**" + col + "**"
		}
		return col
	}
	fmt.Fprintf(b, "| point | params | %s | sd | %s |", bold("mean", RuleMean), bold("min", RuleMin))
	align := "|:--|--:|--:|--:|--:|"
	if rule == RuleMeanSD {
		b.WriteString(" **mean − sd** |")
		align += "--:|"
	}
	b.WriteString(" seeds | test loss | epochs | train time | × smaller | Pareto |\n")
	b.WriteString(align + "--:|--:|--:|--:|--:|:-:|\n")
	for pi, p := range m.Points {
		if n := skippedRun(m.Points, pi); n != 0 {
			if n >= minSkippedRow {
				writeSkippedRow(b, m, pi, n, 3+b2i(rule == RuleMeanSD))
			}
			continue
		}
		label := cell(p.Label)
		if tp.Found && pi == tp.Index {
			label = "**" + label + "**"
		}
		mean, sd, low, figure, seeds := cell(statusLabel(m, p)), "—", "—", "—", "—"
		switch {
		case len(p.Runs) > 0:
			s := Aggregate(p.Runs, rule)
			seeds = seedsText(s)
			if s.OK == 0 {
				mean = accuracyText(m, p)
				break
			}
			mean, low, figure = percent(s.Mean), percent(s.Min), percent(s.Mean-s.SD)
			if s.OK >= 2 {
				sd = spread(s.SD)
			}
		case p.ok(): // a point trained once, without Runs
			mean, low, figure, seeds = percent(p.Accuracy), percent(p.Accuracy), percent(p.Accuracy), "1"
		}
		lossText, mark := lossCell(p), paretoMark(pareto, mi, pi)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |", label, numfmt.GroupDigits(p.Params), mean, sd, low)
		if rule == RuleMeanSD {
			fmt.Fprintf(b, " %s |", figure)
		}
		fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s |\n", seeds, lossText, epochsText(p),
			duration(p.TrainSeconds), numfmt.TimesSmaller(tp.Largest.Params, p.Params), mark)
	}
	b.WriteString("\n")
}

// minSkippedRow is the least number of consecutive skipped points that a
// Markdown model table shows as one row.
const minSkippedRow = 3

// skippedRun returns, when the points from i on start a run of at least
// minSkippedRow skipped points, the run's length if i is its first point
// and -1 if i is inside it; otherwise 0 (the point gets its own row).
func skippedRun(points []Point, i int) int {
	if points[i].Status != StatusSkipped {
		return 0
	}
	first := i
	for first > 0 && points[first-1].Status == StatusSkipped {
		first--
	}
	last := i
	for last+1 < len(points) && points[last+1].Status == StatusSkipped {
		last++
	}
	if last-first+1 < minSkippedRow {
		return 0
	}
	if i != first {
		return -1
	}
	return last - first + 1
}

// writeSkippedRow writes n consecutive skipped points from index i as one
// table row, "n=8 … n=32 | 6,722 … 75,242 | skipped by bisect (25 points)",
// with extra empty statistics columns after the status.
func writeSkippedRow(b *strings.Builder, m Model, i, n, extra int) {
	first, last := m.Points[i], m.Points[i+n-1]
	fmt.Fprintf(b, "| %s … %s | %s … %s | %s (%d points) |", cell(first.Label), cell(last.Label),
		numfmt.GroupDigits(first.Params), numfmt.GroupDigits(last.Params), cell(statusLabel(m, first)), n)
	b.WriteString(strings.Repeat(" — |", extra))
	b.WriteString(" — | — | — | — |  |\n")
}

// b2i is 1 for true and 0 for false.
func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// writeDivergedSeeds lists the points of m with a diverged seed among
// finished ones, and what that means under rule.
func writeDivergedSeeds(b *strings.Builder, rule string, m Model) {
	var which []string
	for _, p := range m.Points {
		if len(p.Runs) == 0 {
			continue
		}
		if s := Aggregate(p.Runs, rule); s.Diverged > 0 && s.OK > 0 {
			which = append(which, fmt.Sprintf("%s (%d of %d)", code(p.Label), s.Diverged, s.Runs))
		}
	}
	if len(which) == 0 {
		return
	}
	list := which[0]
	if len(which) > 1 {
		list = strings.Join(which[:len(which)-1], ", ") + " and " + which[len(which)-1]
	}
	if rule == RuleMin {
		fmt.Fprintf(b, "Diverged seeds: %s. Under the min rule a diverged seed fails its point.\n\n", list)
		return
	}
	fmt.Fprintf(b, "Diverged seeds: %s, left out of mean and sd; the point is judged on its other seeds.\n\n", list)
}

// figureOf names the figure a resolved point's accuracy is and the seeds it is over, e.g.
// " (min of 3 seeds: 1–3)"; empty for a point without Runs.
func figureOf(p Point, rule string) string {
	if len(p.Runs) == 0 {
		return ""
	}
	s := Aggregate(p.Runs, rule)
	var seeds []int64
	for _, r := range p.Runs {
		if r.Status == StatusOK && !math.IsNaN(r.Accuracy) {
			seeds = append(seeds, r.Seed)
		}
	}
	return fmt.Sprintf(" (%s of %s: %s)", ruleFigure(rule), numfmt.Plural(s.OK, "seed", "seeds"), seedList(seeds))
}

// seedList writes seeds in increasing order, a run of consecutive ones as a range: "1–3", "1, 4, 7".
func seedList(seeds []int64) string {
	seeds = slices.Clone(seeds)
	slices.Sort(seeds)
	var parts []string
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, fmt.Sprintf("%d–%d", seeds[i], seeds[j]))
		case j > i:
			parts = append(parts, fmt.Sprintf("%d, %d", seeds[i], seeds[j]))
		default:
			parts = append(parts, fmt.Sprint(seeds[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// accuracyHeader is the header of accuracy columns that hold a turning
// point's or front point's figure: "test accuracy", or "test accuracy
// (min)" when some point has Runs.
func accuracyHeader(e Experiment) string {
	if hasRuns(e.Models) {
		return "test accuracy (" + ruleFigure(e.Rule) + ")"
	}
	return "test accuracy"
}

// predictionSentence fits a power law to a model's ok points (resolved)
// and compares the parameter count it predicts for target with the
// measured turning point, e.g. "fit accuracy ≈ 0.994 − 1.8·P^(−0.41) to 6
// points (RMSE 0.12 points, R² 0.998); predicted turning point ≈ 870
// parameters; measured: 932 (n=2), 7% above the prediction."
func predictionSentence(m Model, tp TurningResult, target float64) string {
	f, err := fitResolved(m)
	switch {
	case errors.Is(err, ErrFlatAccuracy):
		return "no power-law fit: accuracy does not rise with size."
	case err != nil:
		sizes := map[int64]bool{}
		for _, p := range m.Points {
			if p.ok() && p.Params > 0 {
				sizes[p.Params] = true
			}
		}
		return fmt.Sprintf("no power-law fit: it needs results at 3 sizes or more (has %d).", len(sizes))
	}
	s := fmt.Sprintf("fit accuracy ≈ %s to %s (RMSE %.2f points, R² %.3f); ",
		f, numfmt.Plural(f.N, "point", "points"), 100*f.RMSE, f.R2)
	pred, ok := f.ParamsAt(target)
	if !ok {
		return s + fmt.Sprintf("the fit levels off at %s, below the target: no size is predicted to reach %s.",
			percent(f.A), targetPercent(target))
	}
	s += "predicted turning point ≈ " + approxCount(pred) + " parameters"
	switch {
	case pred < f.MinParams:
		s += fmt.Sprintf(", below the smallest point with a result (%s)", numfmt.GroupDigits(int64(f.MinParams)))
	case pred > f.MaxParams:
		s += fmt.Sprintf(", beyond the largest point with a result (%s): an extrapolation", numfmt.GroupDigits(int64(f.MaxParams)))
	}
	if !tp.Found {
		return s + "; measured: none yet."
	}
	return s + fmt.Sprintf("; measured: %s (%s), %s.", numfmt.GroupDigits(tp.Params), tp.Label, versusPrediction(float64(tp.Params), pred))
}

// approxCount formats an estimated count with three significant digits:
// 868.3 → "868", 17234 → "17,200", 0.4 → "<1".
func approxCount(v float64) string {
	if v < 1 {
		return "<1"
	}
	digits := math.Floor(math.Log10(v)) + 1
	scale := math.Pow(10, math.Max(digits-3, 0))
	return numfmt.GroupDigits(int64(math.Round(v/scale) * scale))
}

// versusPrediction compares a measured count with a predicted one:
// "7% above the prediction", "12% below the prediction", "2.3× the
// prediction", "within 0.5% of the prediction".
func versusPrediction(measured, predicted float64) string {
	r := measured / predicted
	switch {
	case math.Abs(r-1) < 0.005:
		return "within 0.5% of the prediction"
	case r > 2:
		return preciseRatio(r) + "× the prediction"
	case r < 0.5:
		return "1/" + preciseRatio(1/r) + " of the prediction"
	case r > 1:
		return strconv.FormatFloat(math.Round(100*(r-1)), 'f', -1, 64) + "% above the prediction"
	default:
		return strconv.FormatFloat(math.Round(100*(1-r)), 'f', -1, 64) + "% below the prediction"
	}
}
