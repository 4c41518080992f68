package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// checkTarget returns an error unless target is a fraction in (0,1].
func checkTarget(target float64) error {
	if !(target > 0 && target <= 1) {
		return fmt.Errorf("report: target accuracy %v is not a fraction in (0,1]; write 97%% as 0.97", target)
	}
	return nil
}

// WriteMarkdown writes e as a GitHub-flavoured Markdown report to w.
//
// The report links the chart written by WriteChart with relative links to
// chartBase+".png" and chartBase+".svg" (e.g. chartBase "chart"); an empty
// chartBase leaves the chart out. For the same Experiment the output is
// byte-identical except for the line that shows Env.Date.
//
// Points trained with several seeds are judged by e.Rule, which the report
// names; their models' tables show mean, sd, min and seeds. A model's
// Search adds a line on what the search trained and saved, and its notes;
// runs of three or more consecutive skipped points share one table row.
// e.Predict adds each model's power-law fit and predicted turning point.
func WriteMarkdown(w io.Writer, e Experiment, chartBase string) error {
	if err := checkExperiment(e); err != nil {
		return err
	}
	var b strings.Builder
	writeMarkdown(&b, e, chartBase)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdown(b *strings.Builder, e Experiment, chartBase string) {
	e = markdownSafe(e)
	// From here on, points with Runs carry their rule's figure as Accuracy.
	e.Models = resolveModels(e.Models, e.Rule)
	title := e.Title
	if title == "" {
		title = "nnsweep report"
	}
	fmt.Fprintf(b, "# %s\n\n", oneLine(title))
	if d := strings.TrimSpace(e.Description); d != "" {
		fmt.Fprintf(b, "%s\n\n", d)
	}
	if n := strings.TrimSpace(e.Note); n != "" {
		fmt.Fprintf(b, "> **Note:** %s\n\n", strings.ReplaceAll(n, "\n", "\n> "))
	}
	fmt.Fprintf(b, "Target: **%s** test accuracy. A model's *turning point* is its smallest point at or above the target.\n\n",
		targetPercent(e.Target))
	if hasRuns(e.Models) {
		writeRule(b, e)
	}

	writeEnvironment(b, e.Env)

	if chartBase != "" {
		link := strings.ReplaceAll(chartBase, " ", "%20")
		b.WriteString("## Accuracy vs parameters\n\n")
		fmt.Fprintf(b, "![accuracy vs parameters](%s.png)\n\n", link)
		fmt.Fprintf(b, "[Chart as SVG](%s.svg)\n\n", link)
	}

	if len(e.Models) == 0 {
		b.WriteString("This experiment has no models.\n\n")
	}
	pareto := paretoSet(e.Models)
	results := make([]TurningResult, len(e.Models))
	for i, m := range e.Models {
		results[i] = turningPoint(m, e.Target)
		writeModel(b, e, i, results[i], pareto)
	}
	if len(e.Models) >= 2 {
		writeComparison(b, e, results)
	}
	writePareto(b, e)
}

// writeRule says how points trained with several seeds are judged.
func writeRule(b *strings.Builder, e Experiment) {
	lo, hi := math.MaxInt, 0
	for _, m := range e.Models {
		for _, p := range m.Points {
			if n := len(p.Runs); n > 0 {
				lo, hi = min(lo, n), max(hi, n)
			}
		}
	}
	seeds := fmt.Sprintf("Points were trained with %s each", numfmt.Plural(hi, "seed", "seeds"))
	if lo != hi {
		seeds = fmt.Sprintf("Points were trained with %d to %d seeds each", lo, hi)
	}
	var judged, diverged string
	switch e.Rule {
	case RuleMin:
		judged = "a point meets the target when its worst seed does"
		diverged = "a diverged seed is counted apart, and under min it fails its point"
	case RuleMeanSD:
		judged = "a point meets the target when the mean accuracy of its seeds minus one standard deviation does"
		diverged = "a diverged seed is counted apart, and the point is judged on its other seeds"
	default:
		judged = "a point meets the target when the mean accuracy of its seeds does"
		diverged = "a diverged seed is counted apart, and the point is judged on its other seeds"
	}
	fmt.Fprintf(b, "%s. Rule **%s**: %s. Mean, sd (sample standard deviation, in percentage points) and min are over the seeds that finished; %s.\n\n",
		seeds, ruleName(e.Rule), judged, diverged)
}

func writeEnvironment(b *strings.Builder, env Environment) {
	b.WriteString("## Environment\n\n")
	if len(env.Machines) > 0 {
		fmt.Fprintf(b, "- Trained by %d builds or machines:\n", len(env.Machines))
		for _, m := range env.Machines {
			fmt.Fprintf(b, "  - %s: %s\n", machineText(m.Version, m.GoVersion, m.CPU, m.OS, m.Cores), numfmt.Plural(m.Trainings, "training", "trainings"))
		}
	} else {
		version := env.Version
		if version == "" {
			version = "(unknown version)"
		}
		if env.GoVersion != "" {
			fmt.Fprintf(b, "- nnsweep %s, built with %s\n", oneLine(version), oneLine(env.GoVersion))
		} else {
			fmt.Fprintf(b, "- nnsweep %s\n", oneLine(version))
		}
		os := ""
		if env.OS != "" {
			os = " (" + oneLine(env.OS) + ")"
		}
		switch {
		case env.CPU != "" && env.Cores > 0:
			fmt.Fprintf(b, "- CPU: %s, %d cores%s\n", oneLine(env.CPU), env.Cores, os)
		case env.CPU != "":
			fmt.Fprintf(b, "- CPU: %s%s\n", oneLine(env.CPU), os)
		case env.Cores > 0:
			fmt.Fprintf(b, "- CPU: %d cores%s\n", env.Cores, os)
		}
	}
	if !env.TrainedFirst.IsZero() {
		first, last := env.TrainedFirst.UTC().Format(time.DateTime+" MST"), env.TrainedLast.UTC().Format(time.DateTime+" MST")
		if first == last {
			fmt.Fprintf(b, "- Trained: %s\n", first)
		} else {
			fmt.Fprintf(b, "- Trained: %s to %s\n", first, last)
		}
	}
	if !env.Date.IsZero() {
		fmt.Fprintf(b, "- Date: %s\n", env.Date.UTC().Format(time.DateTime+" MST"))
	}
	if d := env.Data; d != nil {
		writeData(b, *d)
	}
	if env.SpecFile != "" || env.SpecHash != "" {
		b.WriteString("- Spec:")
		if env.SpecFile != "" {
			fmt.Fprintf(b, " %s", code(env.SpecFile))
		}
		if env.SpecHash != "" {
			if env.SpecFile != "" {
				b.WriteString(",")
			}
			fmt.Fprintf(b, " sha256 %s", code(env.SpecHash))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if env.SpecText != "" {
		fence := strings.Repeat("`", max(3, longestRun(env.SpecText, '`')+1))
		b.WriteString("<details><summary>spec</summary>\n\n")
		fmt.Fprintf(b, "%syaml\n%s", fence, env.SpecText)
		if !strings.HasSuffix(env.SpecText, "\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%s\n\n</details>\n\n", fence)
	}
}

// writeModel writes the section of model mi of e, whose points are resolved.
func writeModel(b *strings.Builder, e Experiment, mi int, tp TurningResult, pareto map[[2]int]bool) {
	m := e.Models[mi]
	name := m.Name
	if name == "" {
		name = fmt.Sprintf("model %d", mi+1)
	}
	fmt.Fprintf(b, "## %s\n\n", oneLine(name))
	if m.Polynomial != "" {
		fmt.Fprintf(b, "Parameters: %s\n\n", code(m.Polynomial))
	}
	if m.Recipe != "" {
		fmt.Fprintf(b, "Training recipe: %s\n\n", oneLine(m.Recipe))
	}
	if m.Search != nil {
		writeSearch(b, *m.Search)
	}
	if len(m.Points) == 0 {
		b.WriteString("This model has no points.\n\n")
		return
	}

	if modelHasRuns(m) {
		writeRepeatsTable(b, e.Rule, mi, m, tp, pareto)
	} else {
		writePointsTable(b, mi, m, tp, pareto)
	}
	writeParamKinds(b, m)
	writeModelNotes(b, e, m, tp)
}

// writeParamKinds writes, for a model with batch norm (points with Folded set), each point's
// total, trainable, non-trainable and folded parameters; nothing for other models.
func writeParamKinds(b *strings.Builder, m Model) {
	split := false
	for _, p := range m.Points {
		split = split || p.Folded != 0
	}
	if !split {
		return
	}
	b.WriteString("Params counts every parameter, trainable and non-trainable (batch norm's moving mean and variance), " +
		"and the turning point is judged on it; folded is what a deployed model carries, each batch norm folded into the layer before it.\n\n")
	b.WriteString("| point | params | trainable | non-trainable | folded |\n|:--|--:|--:|--:|--:|\n")
	for _, p := range m.Points {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(p.Label), numfmt.GroupDigits(p.Params),
			numfmt.GroupDigits(p.Params-p.NonTrainable), numfmt.GroupDigits(p.NonTrainable), numfmt.GroupDigits(p.Folded))
	}
	b.WriteString("\n")
}

// writeModelNotes writes what follows a model's table: the points without a result, the
// turning point, a warning when accuracy is not monotone, the prediction and the layers of the
// turning (or closest) point.
func writeModelNotes(b *strings.Builder, e Experiment, m Model, tp TurningResult) {
	target := e.Target
	if n := countNotOK(m.Points); n > 0 {
		fmt.Fprintf(b, "%s without a test result (diverged or pending).\n\n", numfmt.Plural(n, "point", "points"))
	}
	if n := countStatus(m.Points, StatusSkipped); n > 0 {
		by := "the search"
		if m.Search != nil && m.Search.Method != "" {
			by = oneLine(m.Search.Method)
		}
		fmt.Fprintf(b, "%s skipped by %s: not needed to find the turning point, and not failures.\n\n", numfmt.Plural(n, "point", "points"), by)
	}
	writeDivergedSeeds(b, e.Rule, m)

	if n := pendingBelow(m, tp); n > 0 {
		fmt.Fprintf(b, "**Turning point so far:** %s %s not trained yet: one of them may meet the target too.\n\n",
			turningSentence(m, tp, target, e.Rule), numfmt.Plural(n, "smaller point is", "smaller points are"))
	} else {
		fmt.Fprintf(b, "**Turning point:** %s\n\n", turningSentence(m, tp, target, e.Rule))
	}
	if tp.Found && tp.Export != "" {
		fmt.Fprintf(b, "Export it as ONNX (add `--format safetensors` for its weights): %s\n\n", code(tp.Export))
	}
	if len(tp.NonMonotone) > 0 {
		fmt.Fprintf(b, "> **Warning:** accuracy is not monotone in size: %s %s larger than the turning point but below %s.\n\n",
			joinLabels(tp.NonMonotone), pluralVerb(len(tp.NonMonotone)), targetPercent(target))
	}
	if e.Predict {
		fmt.Fprintf(b, "**Prediction:** %s\n\n", predictionSentence(m, tp, target))
	}

	ref, refIndex := tp.Point, tp.Index
	if !tp.Found {
		ref, refIndex = tp.Closest, tp.ClosestIndex
	}
	if refIndex >= 0 && len(ref.Layers) > 0 {
		role := "the turning point"
		if !tp.Found {
			role = "the closest point"
		}
		writeLayers(b, ref, role)
	}
}

// writePointsTable writes the table of a model trained with one seed per point.
func writePointsTable(b *strings.Builder, mi int, m Model, tp TurningResult, pareto map[[2]int]bool) {
	b.WriteString("| point | params | test accuracy | test loss | epochs | train time | × smaller | Pareto |\n")
	b.WriteString("|:--|--:|--:|--:|--:|--:|--:|:-:|\n")
	for pi, p := range m.Points {
		if n := skippedRun(m.Points, pi); n != 0 {
			if n >= minSkippedRow {
				writeSkippedRow(b, m, pi, n, 0)
			}
			continue
		}
		label := cell(p.Label)
		if tp.Found && pi == tp.Index {
			label = "**" + label + "**"
		}
		lossText, mark := lossCell(p), paretoMark(pareto, mi, pi)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			label, numfmt.GroupDigits(p.Params), cell(statusLabel(m, p)), lossText, epochsText(p),
			duration(p.TrainSeconds), numfmt.TimesSmaller(tp.Largest.Params, p.Params), mark)
	}
	b.WriteString("\n")
}

// lossCell is a point's test loss for a table, or "—" without a result.
func lossCell(p Point) string {
	if p.ok() {
		return loss(p.Loss)
	}
	return "—"
}

// paretoMark is the Pareto column's cell of point pi of model mi.
func paretoMark(pareto map[[2]int]bool, mi, pi int) string {
	if pareto[[2]int{mi, pi}] {
		return "✓"
	}
	return ""
}

// pendingBelow counts the points of m smaller than its turning point that
// have no result yet (pending, or a status the report does not know), so
// the turning point may still move down; 0 without a turning point.
func pendingBelow(m Model, tp TurningResult) int {
	if !tp.Found {
		return 0
	}
	n := 0
	for _, p := range m.Points {
		if p.Params < tp.Params && p.Status != StatusOK && p.Status != StatusDiverged && p.Status != StatusSkipped {
			n++
		}
	}
	return n
}

// turningSentence is the turning point of a model as one sentence, e.g.
// "n = 2: 932 parameters at 97.10% test accuracy, 1/81 of the largest
// point (75,242 parameters)."
func turningSentence(m Model, tp TurningResult, target float64, rule string) string {
	if tp.Found {
		s := fmt.Sprintf("%s: %s parameters at %s test accuracy%s, ",
			prettyLabel(tp.Label), numfmt.GroupDigits(tp.Params), percent(tp.Accuracy), figureOf(tp.Point, rule))
		switch r := tp.TimesSmaller(); {
		case tp.Index == tp.LargestIndex:
			s += "the largest point itself"
		case r == 0:
			s += "its size relative to the largest point is unknown"
		case r <= 1:
			s += fmt.Sprintf("as large as the largest point (%s parameters)", numfmt.GroupDigits(tp.Largest.Params))
		default:
			s += fmt.Sprintf("1/%s of the largest point (%s parameters)", numfmt.SizeRatio(r), numfmt.GroupDigits(tp.Largest.Params))
		}
		return s + "."
	}
	if tp.ClosestIndex < 0 {
		return fmt.Sprintf("none: no point has a test result yet (%s).", summarizeStatuses(m.Points))
	}
	c := tp.Closest
	return fmt.Sprintf("none: no point reaches %s. The closest is %s: %s parameters at %s test accuracy%s.",
		targetPercent(target), prettyLabel(c.Label), numfmt.GroupDigits(c.Params), percent(c.Accuracy), figureOf(c, rule))
}

// summarizeStatuses says what the points' statuses are, e.g. "3 pending,
// 1 diverged", in the order ok, diverged, pending, then others by name.
func summarizeStatuses(points []Point) string {
	counts := map[Status]int{}
	for _, p := range points {
		s := p.Status
		if s == "" {
			s = StatusPending
		}
		counts[s]++
	}
	var others []string
	for s := range counts {
		if s != StatusOK && s != StatusDiverged && s != StatusPending && s != StatusSkipped {
			others = append(others, string(s))
		}
	}
	sort.Strings(others)
	order := append([]string{string(StatusOK), string(StatusDiverged), string(StatusPending), string(StatusSkipped)}, others...)
	var parts []string
	for _, s := range order {
		if n := counts[Status(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// writeLayers writes where the parameters of p are; role names p in prose,
// e.g. "the turning point".
func writeLayers(b *strings.Builder, p Point, role string) {
	var total int64
	big := 0
	for i, l := range p.Layers {
		total += l.Params
		if l.Params > p.Layers[big].Params {
			big = i
		}
	}
	b.WriteString("### Where the parameters are\n\n")
	if total <= 0 {
		fmt.Fprintf(b, "The layers of %s (%s) hold no parameters.\n\n", role, prettyLabel(p.Label))
		return
	}
	l := p.Layers[big]
	fmt.Fprintf(b, "In %s (%s), %s holds %s of the weights (%s of %s).\n\n",
		role, prettyLabel(p.Label), code(l.Name), share(l.Params, total, 0), numfmt.GroupDigits(l.Params), numfmt.GroupDigits(total))
	b.WriteString("| layer | params | share |\n|:--|--:|--:|\n")
	for _, l := range p.Layers {
		fmt.Fprintf(b, "| %s | %s | %s |\n", cell(l.Name), numfmt.GroupDigits(l.Params), share(l.Params, total, 1))
	}
	b.WriteString("\n")
}

// share formats part/total as a percentage with the given decimals; a
// non-zero share that would round to zero is shown as "<1%" (or "<0.1%").
func share(part, total int64, decimals int) string {
	v := 100 * float64(part) / float64(total)
	s := fmt.Sprintf("%.*f%%", decimals, v)
	if part > 0 && v < math.Pow(10, -float64(decimals))/2 {
		s = fmt.Sprintf("<%s%%", fmt.Sprintf("%.*f", decimals, math.Pow(10, -float64(decimals))))
	}
	return s
}

func writeComparison(b *strings.Builder, e Experiment, results []TurningResult) {
	b.WriteString("## Across models\n\n")
	order := make([]int, len(e.Models))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, c := results[order[i]], results[order[j]]
		if a.Found != c.Found {
			return a.Found
		}
		return a.Found && a.Params < c.Params
	})
	best := -1
	if results[order[0]].Found {
		best = order[0]
	}

	writeComparisonTable(b, e, results, order, best)
	if best < 0 {
		fmt.Fprintf(b, "No model reaches %s yet.\n\n", targetPercent(e.Target))
		return
	}
	writeComparisonNotes(b, e, results, order, best)
}

// writeComparisonTable writes each model's turning point, in order, against the best model's
// (best < 0: none has one).
func writeComparisonTable(b *strings.Builder, e Experiment, results []TurningResult, order []int, best int) {
	fmt.Fprintf(b, "Each model's turning point for %s, smallest first.\n\n", targetPercent(e.Target))
	fmt.Fprintf(b, "| model | turning point | params | %s | × the smallest |\n", accuracyHeader(e))
	b.WriteString("|:--|:--|--:|--:|--:|\n")
	for _, i := range order {
		tp := results[i]
		name := cell(modelName(e.Models, i))
		if !tp.Found {
			acc := "—"
			if tp.ClosestIndex >= 0 {
				acc = "best " + percent(tp.Closest.Accuracy)
			}
			fmt.Fprintf(b, "| %s | none | — | %s | — |\n", name, acc)
			continue
		}
		ratio := "—"
		if bp := results[best].Params; bp > 0 && tp.Params > 0 {
			ratio = preciseRatio(float64(tp.Params)/float64(bp)) + "×"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n",
			name, cell(tp.Label), numfmt.GroupDigits(tp.Params), percent(tp.Accuracy), ratio)
	}
	b.WriteString("\n")
}

// writeComparisonNotes writes how many times smaller the best model is than each other, and why
// the models without a turning point have none.
func writeComparisonNotes(b *strings.Builder, e Experiment, results []TurningResult, order []int, best int) {
	bestName, bp := modelName(e.Models, best), results[best].Params
	wrote := false
	for _, i := range order {
		tp := results[i]
		if i == best || !tp.Found {
			continue
		}
		other := modelName(e.Models, i)
		switch {
		case bp <= 0 || tp.Params <= 0:
			continue
		case tp.Params == bp:
			fmt.Fprintf(b, "- %s needs as many parameters as %s for the same target.\n", bestName, other)
		default:
			fmt.Fprintf(b, "- %s needs 1/%s of the parameters of %s for the same target.\n",
				bestName, preciseRatio(float64(tp.Params)/float64(bp)), other)
		}
		wrote = true
	}
	for _, i := range order {
		tp, name := results[i], modelName(e.Models, i)
		switch {
		case tp.Found:
			continue
		case len(e.Models[i].Points) == 0:
			fmt.Fprintf(b, "- %s has no points.\n", name)
		case tp.ClosestIndex < 0:
			fmt.Fprintf(b, "- %s has no test result yet (%s).\n", name, summarizeStatuses(e.Models[i].Points))
		default:
			fmt.Fprintf(b, "- %s does not reach %s (best: %s at %s).\n",
				name, targetPercent(e.Target), code(tp.Closest.Label), percent(tp.Closest.Accuracy))
		}
		wrote = true
	}
	if wrote {
		b.WriteString("\n")
	}
}

// writePareto writes the Pareto front of e, whose points are resolved.
func writePareto(b *strings.Builder, e Experiment) {
	models := e.Models
	b.WriteString("## Pareto front\n\n")
	front := paretoFront(models)
	if len(front) == 0 {
		b.WriteString("No point has a test result yet.\n")
		return
	}
	b.WriteString("Points that no other point beats on both size and accuracy (✓ in the tables above), smallest first.\n\n")
	fmt.Fprintf(b, "| model | point | params | %s |\n|:--|:--|--:|--:|\n", accuracyHeader(e))
	for _, r := range front {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n",
			cell(modelName(models, r.ModelIndex)), cell(r.Point.Label), numfmt.GroupDigits(r.Point.Params), percent(r.Point.Accuracy))
	}
}

// machineText describes a build and machine in one line, e.g. "nnsweep 0.1.0
// (go1.26.8) on AMD EPYC 9B14, 2 cores, linux/amd64"; what is unknown is
// left out.
func machineText(version, goVersion, cpu, os string, cores int) string {
	s := "nnsweep " + oneLine(version)
	if version == "" {
		s = "nnsweep (unknown version)"
	}
	if goVersion != "" {
		s += " (" + oneLine(goVersion) + ")"
	}
	var on []string
	if cpu != "" {
		on = append(on, oneLine(cpu))
	}
	if cores > 0 {
		on = append(on, numfmt.Plural(cores, "core", "cores"))
	}
	if os != "" {
		on = append(on, oneLine(os))
	}
	if len(on) == 0 {
		return s + " on an unrecorded machine"
	}
	return s + " on " + strings.Join(on, ", ")
}

// modelName is the model's name, or "model N" (1-based) when it has none.
func modelName(models []Model, i int) string {
	if models[i].Name != "" {
		return oneLine(models[i].Name)
	}
	return fmt.Sprintf("model %d", i+1)
}

// countNotOK counts the points without a result that a search did not skip.
func countNotOK(points []Point) int {
	n := 0
	for _, p := range points {
		if !p.ok() && p.Status != StatusSkipped {
			n++
		}
	}
	return n
}

// countStatus counts the points with status s.
func countStatus(points []Point, s Status) int {
	n := 0
	for _, p := range points {
		if p.Status == s {
			n++
		}
	}
	return n
}

func pluralVerb(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// joinLabels lists labels in prose: "n=8", "n=8 and n=16", "n=4, n=8 and n=16".
func joinLabels(labels []string) string {
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = code(l)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// writeData writes the data line: the set, its sizes and shape, its classes by name.
func writeData(b *strings.Builder, d Data) {
	fmt.Fprintf(b, "- Data: %s, %s training and %s test images of %d×%d×%d", code(d.Name), numfmt.GroupDigits(int64(d.Train)), numfmt.GroupDigits(int64(d.Test)), d.H, d.W, d.C)
	if d.Normalize != "" {
		fmt.Fprintf(b, " normalised %s", code(d.Normalize))
	}
	fmt.Fprintf(b, "; %d classes", d.Classes)
	if len(d.ClassNames) > 0 {
		names := make([]string, len(d.ClassNames))
		for i, n := range d.ClassNames {
			names[i] = fmt.Sprintf("%d %s", i, markdownLiteral.Replace(stripControl(oneLine(n))))
		}
		fmt.Fprintf(b, ": %s", strings.Join(names, ", "))
	}
	b.WriteString("\n")
}

// code wraps s in a Markdown code span that survives backticks inside s.
func code(s string) string {
	s = oneLine(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// oneLine replaces line breaks with spaces and removes control characters.
func oneLine(s string) string {
	return strings.Join(strings.Fields(stripControl(strings.ReplaceAll(s, "\r", " "))), " ")
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
