package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// percent formats a fraction as a percentage with two decimals: 0.971 → "97.10%".
func percent(frac float64) string {
	return fmt.Sprintf("%.2f%%", 100*frac)
}

// targetPercent formats a target fraction as a short percentage:
// 0.97 → "97%", 0.975 → "97.5%".
func targetPercent(frac float64) string {
	return strconv.FormatFloat(math.Round(frac*1e6)/1e4, 'f', -1, 64) + "%"
}

// preciseRatio formats a ratio with three significant digits (18.72 →
// "18.7", 2.531 → "2.53", 187.2 → "187"), for comparisons between models.
func preciseRatio(r float64) string {
	switch {
	case r >= 100:
		return strconv.FormatFloat(math.Round(r), 'f', -1, 64)
	case r >= 10:
		return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64)
	default:
		return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
	}
}

// duration formats a training time in seconds: "0.8 s", "42.0 s",
// "4m05s", "2h03m"; "—" when unknown (zero, negative or not a number).
func duration(seconds float64) string {
	if !(seconds > 0) || math.IsInf(seconds, 0) {
		return "—"
	}
	if seconds < 59.95 {
		return fmt.Sprintf("%.1f s", seconds)
	}
	s := int64(math.Round(seconds))
	if s < 3600 {
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	m := (s + 30) / 60
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// loss formats a test loss with four decimals, "—" when not finite.
func loss(l float64) string {
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return "—"
	}
	return fmt.Sprintf("%.4f", l)
}

// prettyLabel spaces the assignments of a point label for prose:
// "n=2, m=4" → "n = 2, m = 4".
func prettyLabel(label string) string {
	if label == "" {
		return "(unlabelled point)"
	}
	parts := strings.Split(label, ",")
	for i, p := range parts {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			parts[i] = strings.TrimSpace(k) + " = " + strings.TrimSpace(v)
		} else {
			parts[i] = strings.TrimSpace(p)
		}
	}
	return strings.Join(parts, ", ")
}

// compactCount formats a tick value for a log axis: 10, 200, 1k, 2.5k,
// 10k, 1M, 1B.
func compactCount(v float64) string {
	type unit struct {
		size   float64
		suffix string
	}
	for _, u := range []unit{{1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.size {
			return strconv.FormatFloat(math.Round(v/u.size*100)/100, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// cell makes text safe inside a Markdown table cell: pipes are escaped,
// line breaks become spaces and control characters are removed. (HTML is
// escaped before: see markdownSafe.)
func cell(s string) string {
	s = strings.ReplaceAll(stripControl(s), "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// statusText is how a point's status or accuracy appears in tables: the
// accuracy as a percentage when ok, otherwise the status ("diverged",
// "pending", or whatever unknown status was given).
func statusText(p Point) string {
	switch {
	case p.ok():
		return percent(p.Accuracy)
	case p.Status == StatusOK: // ok but the accuracy is NaN
		return "—"
	case p.Status == "":
		return string(StatusPending)
	}
	return string(p.Status)
}

// statusLabel is statusText with skipped points named by the search that
// skipped them: "skipped by bisect".
func statusLabel(m Model, p Point) string {
	if p.Status == StatusSkipped && !p.ok() {
		if m.Search != nil && m.Search.Method != "" {
			return "skipped by " + oneLine(m.Search.Method)
		}
		return string(StatusSkipped)
	}
	return statusText(p)
}

// epochsText is how a resolved point's epochs appear in tables: "12";
// "7/12 (early stop)" for an ok point that stopped before MaxEpochs;
// "1/12" for one that diverged or has not finished; "—" when it trained
// none. A point with Runs shows the mean over its ok runs, to one decimal.
func epochsText(p Point) string {
	ep, trained := float64(p.Epochs), p.Epochs > 0 || p.ok()
	if len(p.Runs) > 0 {
		s := Aggregate(p.Runs, RuleMean) // epochs do not depend on the rule
		ep, trained = s.Epochs, s.Epochs > 0 || p.ok()
	}
	if !trained {
		return "—"
	}
	text := strconv.FormatFloat(math.Round(ep*10)/10, 'f', -1, 64)
	if p.MaxEpochs > 0 && ep < float64(p.MaxEpochs) {
		text += "/" + strconv.Itoa(p.MaxEpochs)
		if p.ok() {
			text += " (early stop)"
		}
	}
	return text
}

// spread formats a standard deviation of accuracies (a fraction) in
// percentage points with two decimals: 0.00081 → "± 0.08".
func spread(sd float64) string {
	return fmt.Sprintf("± %.2f", 100*sd)
}

// seedsText says how many of a point's runs count: "3", "2 of 3
// (1 diverged)", "1 of 3 (1 diverged, 1 pending)".
func seedsText(s Summary) string {
	if s.OK == s.Runs {
		return strconv.Itoa(s.Runs)
	}
	var parts []string
	if s.Diverged > 0 {
		parts = append(parts, fmt.Sprintf("%d diverged", s.Diverged))
	}
	if s.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d pending", s.Pending))
	}
	return fmt.Sprintf("%d of %d (%s)", s.OK, s.Runs, strings.Join(parts, ", "))
}

// accuracyText is a resolved point's accuracy in one table cell. Without
// Runs it is statusLabel; with Runs it is "97.12% ± 0.08 (min 97.01%,
// 3 seeds)", "97.05% ± 0.10 (min 96.98%, 2 of 3 seeds, 1 diverged; fails
// under min)" for a point the min rule fails for a diverged seed, or the
// status with a seed count when no run is ok: "diverged (3 of 3 seeds)".
func accuracyText(m Model, p Point) string {
	if len(p.Runs) == 0 {
		return statusLabel(m, p)
	}
	s := Aggregate(p.Runs, RuleMean) // mean, sd and min do not depend on the rule
	if s.OK == 0 {
		if s.Diverged > 0 {
			return fmt.Sprintf("diverged (%d of %s)", s.Diverged, numfmt.Plural(s.Runs, "seed", "seeds"))
		}
		return string(StatusPending)
	}
	seeds := numfmt.Plural(s.Runs, "seed", "seeds")
	if s.OK != s.Runs {
		seeds = strings.TrimSuffix(seedsText(s), ")")
		seeds = strings.Replace(seeds, " (", " seeds, ", 1)
	}
	if p.Status == StatusDiverged { // ok seeds, but the rule (min) fails the point
		seeds += "; fails under min"
	}
	if s.OK == 1 {
		return fmt.Sprintf("%s (%s)", percent(s.Mean), seeds)
	}
	return fmt.Sprintf("%s %s (min %s, %s)", percent(s.Mean), spread(s.SD), percent(s.Min), seeds)
}
