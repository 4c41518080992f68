package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/spec"
)

// ReportFormats are the output formats of Report.
var ReportFormats = []string{"markdown", "json", "csv"}

// ReportOptions adjust `nnsweep report`.
type ReportOptions struct {
	// Out is where the Markdown report goes (with its charts beside it); default: the single
	// folder's report.md, or report.md in the current folder when several folders are merged.
	// For json and csv, Out is the file to write ("" or "-": standard output).
	Out string
	// Format is "markdown" (default), "json" or "csv" (the results table).
	Format string
}

// Report renders the stored results of one or more output folders: a Markdown report with
// charts, or the results table as JSON or CSV. Each folder's results files are merged (those of
// all its shards, one result per key; see Store); folders are merged in the order given, their
// models keeping their names, suffixed with the folder when two folders hold a model of the same
// name. The points still without a result are listed on stderr and in the report's note, with
// their shards when the run was split; warnings go to stderr too.
func Report(dirs []string, opts ReportOptions, stdout, stderr io.Writer) error {
	if opts.Format == "" {
		opts.Format = "markdown"
	}
	if !slices.Contains(ReportFormats, opts.Format) {
		return &UsageError{fmt.Sprintf("--format %q: use one of %s", opts.Format, strings.Join(ReportFormats, ", "))}
	}
	var merged report.Experiment
	var trained []Record
	var firstData string
	seen := map[string]bool{}
	for i, dir := range dirs {
		if err := checkFolderArg(dir); err != nil {
			return err
		}
		f, err := loadFolder(dir, stderr)
		if err != nil {
			return err
		}
		e, missing := f.report, f.missing
		trained = append(trained, f.records...)
		if i == 0 {
			firstData = f.dataset
		} else if f.dataset != "" && firstData != "" && f.dataset != firstData {
			fmt.Fprintf(stderr, "warning: %s was trained on %s but %s on %s: the comparison ranks models trained on different data\n", dir, f.dataset, dirs[0], firstData)
			merged.Note = strings.TrimSpace(merged.Note + fmt.Sprintf(" %s was trained on %s, %s on %s.", dir, f.dataset, dirs[0], firstData))
		}
		if i > 0 && e.Target != merged.Target {
			fmt.Fprintf(stderr, "warning: %s targets %s but %s targets %s: the comparison judges every model against %s\n",
				dir, percentOf(e.Target), dirs[0], percentOf(merged.Target), percentOf(merged.Target))
		}
		if missing != "" {
			fmt.Fprintf(stderr, "%s: %s The same `nnsweep run` command (with the same --shard) trains only what is missing.\n", dir, missing)
		}
		if i == 0 {
			merged = e
			merged.Models = nil
		} else {
			merged.Title = "Comparison: " + strings.Join(dirNames(dirs), ", ")
			if e.Target != merged.Target {
				merged.Note = strings.TrimSpace(merged.Note + fmt.Sprintf(" %s targets %.4g; this report uses %.4g.", dir, e.Target, merged.Target))
			}
			if e.Note != "" {
				merged.Note = strings.TrimSpace(merged.Note + " " + dir + ": " + e.Note)
			}
		}
		for _, m := range e.Models {
			if seen[m.Name] {
				m.Name = fmt.Sprintf("%s (%s)", m.Name, filepath.Base(dir))
			}
			seen[m.Name] = true
			merged.Models = append(merged.Models, m)
		}
	}
	if len(dirs) > 1 {
		merged.Env.Version, merged.Env.GoVersion = Version, runtime.Version()
		setMachines(&merged.Env, trained)
	}
	out, err := reportPath(opts.Out, opts.Format, dirs)
	if err != nil {
		return err
	}
	if opts.Format != "markdown" {
		w := stdout
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return report.WriteTable(w, merged, opts.Format)
	}
	if err := writeReportTo(out, merged); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return nil
}

// reportPath resolves report --out for format: "" for standard output (json and csv without
// --out, or "-"); the folder's report.md by default for markdown; report.md (report.json,
// report.csv) inside out when out is a folder or ends with a slash. It refuses a path where the
// report or its charts would replace a manifest, results file or lock file of one of the dirs.
func reportPath(out, format string, dirs []string) (string, error) {
	ext := map[string]string{"markdown": ".md", "json": ".json", "csv": ".csv"}[format]
	switch {
	case format != "markdown" && (out == "" || out == "-"):
		return "", nil
	case out == "":
		out = "report.md"
		if len(dirs) == 1 {
			out = filepath.Join(dirs[0], "report.md")
		}
	case strings.HasSuffix(out, "/") || isDir(out):
		out = filepath.Join(out, "report"+ext)
	}
	written := []string{out}
	if format == "markdown" {
		base := strings.TrimSuffix(out, filepath.Ext(out))
		if filepath.Base(out) == "report.md" {
			base = filepath.Join(filepath.Dir(out), "chart")
		}
		written = append(written, base+".png", base+".svg")
	}
	for _, dir := range dirs {
		kept := []string{ManifestFile}
		files, _ := ResultsFiles(dir)
		for _, f := range files {
			kept = append(kept, f, lockName(f))
		}
		for _, name := range kept {
			for _, w := range written {
				if samePath(w, filepath.Join(dir, name)) {
					return "", &UsageError{fmt.Sprintf("--out %s: the report would overwrite %s, which the report is made from; write it elsewhere, e.g. --out %s",
						out, filepath.Join(dir, name), filepath.Join(dir, "report"+ext))}
				}
			}
		}
	}
	return out, nil
}

// isDir reports whether path is an existing folder.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// samePath reports whether a and b name the same file: the same cleaned absolute path, or, for
// files that exist, the same file through links.
func samePath(a, b string) bool {
	aa, errA := filepath.Abs(a)
	ab, errB := filepath.Abs(b)
	if errA == nil && errB == nil && aa == ab {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

func dirNames(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Base(filepath.Clean(d))
	}
	return out
}

// loadReport builds the report of one output folder from its manifest and results.
func loadReport(dir string, warnings io.Writer) (report.Experiment, error) {
	f, err := loadFolder(dir, warnings)
	return f.report, err
}

// checkFolderArg refuses a report argument that is a file, such as the spec itself, naming the
// folder that `nnsweep run` writes for a spec.
func checkFolderArg(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || fi.IsDir() {
		return nil // a missing folder is reported as such when its manifest is read
	}
	fix := "give the folder `nnsweep run` wrote (runs/<spec name> unless --out said otherwise)"
	if src, err := os.ReadFile(dir); err == nil && len(src) <= spec.MaxFileBytes {
		if s, _ := spec.Parse(dir, src); s != nil && s.Name != "" {
			fix = fmt.Sprintf("for this spec, give the folder `nnsweep run %s` wrote: %s (unless --out said otherwise)", dir, filepath.Join("runs", s.Name))
		}
	}
	return &UsageError{fmt.Sprintf("report %s: it is a file, not an output folder; %s", dir, fix)}
}

// folderReport is what loadFolder reads of an output folder.
type folderReport struct {
	report report.Experiment
	// missing says which points have no result yet ("" when none), as the report's note does.
	missing string
	// dataset names the data the folder's points were trained on, e.g. "mnist (sha256 1a2b3c4d…)";
	// "" when unknown.
	dataset string
	// records are the results the report shows.
	records []Record
}

// loadFolder builds the report of one output folder from its manifest and all its results files.
func loadFolder(dir string, warnings io.Writer) (folderReport, error) {
	mf, err := readManifest(dir)
	if err != nil {
		return folderReport{}, err
	}
	store, corrupt, err := OpenStore(dir)
	if err != nil {
		return folderReport{}, err
	}
	warnCorrupt(warnings, corrupt)
	return folderFrom(dir, mf, store), nil
}

// folderFrom builds the report of the output folder dir from its manifest mf and the results
// held in store.
func folderFrom(dir string, mf Manifest, store *Store) folderReport {
	e := manifestExperiment(mf)
	var used []Record // the records the report shows, for the machines that trained them
	var missing []missingPoint
	total := 0
	for _, mm := range mf.Models {
		rm := report.Model{Name: mm.Name, Polynomial: mm.Polynomial, Recipe: mm.Recipe}
		for _, mp := range mm.Points {
			total++
			p, recs, miss := pointReport(dir, mm, mp, store)
			rm.Points = append(rm.Points, p)
			used = append(used, recs...)
			missing = append(missing, miss...)
		}
		if mm.Search == "bisect" {
			rm.Search = searchInfo(mm, store)
		}
		e.Models = append(e.Models, rm)
	}
	setMachines(&e.Env, used)
	summary := missingSummary(missing, total, mf.Shards)
	if summary != "" {
		e.Note = strings.TrimSpace(e.Note + " " + summary)
	}
	return folderReport{report: e, missing: summary, dataset: folderDataset(mf, used), records: used}
}

// manifestExperiment is the report of the folder whose manifest is mf, before its models: title,
// description, target, rule and note, and the environment of the report being made.
func manifestExperiment(mf Manifest) report.Experiment {
	return report.Experiment{
		Title:       mf.Spec,
		Description: mf.Description,
		Target:      mf.Target,
		Note:        mf.Note,
		Env: report.Environment{
			Version: Version, GoVersion: runtime.Version(),
			Date: time.Now().UTC(), SpecFile: mf.SpecFile, SpecHash: mf.SpecHash, SpecText: mf.SpecText,
			Data: reportData(mf.Dataset),
		},
		Rule:    mf.Rule,
		Predict: true,
	}
}

// pointReport builds the report's point for the manifest's point mp of model mm from the records
// the store holds of its seeds. It returns those records too, and the seeds without one that
// are still to be trained (none once a bisect search is done).
func pointReport(dir string, mm ManifestModel, mp ManifestPoint, store *Store) (report.Point, []Record, []missingPoint) {
	p := report.Point{Label: mp.Label, Params: mp.Params, NonTrainable: mp.NonTrainable, Folded: mp.Folded,
		Status: report.StatusPending, Layers: reportLayers(mp.Layers)}
	searchDone := mm.Search == "bisect" && mm.SearchDone
	var runs []report.Run
	var used []Record
	var missing []missingPoint
	for _, seed := range mp.runs() {
		rec, ok := store.Lookup(seed.Key)
		if !ok {
			runs = append(runs, report.Run{Seed: seed.Seed, Status: report.StatusPending})
			if !searchDone {
				missing = append(missing, missingPoint{Model: mm.Name, Label: mp.Label, Shard: seed.Shard})
			}
			continue
		}
		used = append(used, rec)
		if rec.Weights != "" { // records of older builds kept no weights to export
			p.Export = exportCommand(dir, mm.Name, mp.Label)
		}
		if p.Layers == nil {
			p.Layers = reportLayers(rec.Layers)
		}
		runs = append(runs, reportRun(rec))
		p.MaxEpochs = rec.MaxEpochs
	}
	trained := len(used)
	switch {
	case len(mp.Seeds) > 0:
		p.Runs = runs
	case trained == 1:
		p.Status, p.Accuracy, p.Loss = runs[0].Status, runs[0].Accuracy, runs[0].Loss
		p.Epochs, p.TrainSeconds = runs[0].Epochs, runs[0].TrainSeconds
	case searchDone:
		p.Status = report.StatusSkipped
	}
	if trained == 0 && searchDone {
		p.Status, p.Runs = report.StatusSkipped, nil
	}
	return p, used, missing
}

// reportLayers is the report's form of per-layer parameter counts; nil when there are none.
func reportLayers(layers []LayerParams) []report.Layer {
	var out []report.Layer
	for _, l := range layers {
		out = append(out, report.Layer{Name: l.Name, Params: l.Params})
	}
	return out
}

// reportRun is the report's form of one training's record.
func reportRun(rec Record) report.Run {
	return report.Run{Seed: rec.Seed, Accuracy: rec.TestAccuracy, Loss: rec.TestLoss,
		Epochs: rec.Epochs, TrainSeconds: rec.TrainSeconds, Status: report.Status(rec.Status)}
}

// folderDataset names the data a folder's points were trained on, e.g. "mnist (sha256
// 1a2b3c4d…)": as its manifest says or, for manifests that do not, as its first record does; ""
// when unknown.
func folderDataset(mf Manifest, used []Record) string {
	var data, sum string
	if mf.Dataset != nil {
		data, sum = mf.Dataset.Name, mf.Dataset.Checksum
	}
	if (data == "" || sum == "") && len(used) > 0 {
		data, sum = used[0].Dataset, used[0].DatasetChecksum
	}
	if data != "" {
		data = fmt.Sprintf("%s (sha256 %.8s…)", data, sum)
	}
	return data
}

// percentOf writes a target fraction as a percentage: 0.97 is "97%".
func percentOf(f float64) string {
	return strconv.FormatFloat(100*f, 'g', 4, 64) + "%"
}

// setMachines puts into env the builds and machines that trained the records, as the records
// say (not the machine making the report), and when they finished: one machine fills env's own
// fields; several are listed, each with its number of trainings.
func setMachines(env *report.Environment, recs []Record) {
	if len(recs) == 0 {
		return // nothing trained yet: the report names only the nnsweep that made it
	}
	var machines []report.Machine
	for _, r := range recs {
		m := report.Machine{Version: r.Version, GoVersion: r.GoVersion, CPU: r.CPU, OS: r.OS, Cores: r.Cores}
		i := slices.IndexFunc(machines, func(o report.Machine) bool { o.Trainings = 0; return o == m })
		if i < 0 {
			i = len(machines)
			machines = append(machines, m)
		}
		machines[i].Trainings++
		if env.TrainedFirst.IsZero() || r.FinishedAt.Before(env.TrainedFirst) {
			env.TrainedFirst = r.FinishedAt
		}
		if r.FinishedAt.After(env.TrainedLast) {
			env.TrainedLast = r.FinishedAt
		}
	}
	if len(machines) > 1 {
		env.Machines = machines
		return
	}
	m := machines[0]
	env.Version, env.GoVersion, env.CPU, env.OS, env.Cores = m.Version, m.GoVersion, m.CPU, m.OS, m.Cores
}

// missingPoint is a point of a manifest without a stored result.
type missingPoint struct {
	Model, Label string
	Shard        *int // its shard, when the run was split
}

// maxListedMissing is how many missing points missingSummary names before it counts the rest.
const maxListedMissing = 12

// missingSummary says which of total points have no result, e.g. "Not trained yet: 3 of 7
// points: shard 1/3 (tiny n=8, n=2), shard 2/3 (tiny n=3)." It is "" when none is missing.
func missingSummary(missing []missingPoint, total, shards int) string {
	if len(missing) == 0 {
		return ""
	}
	// Group by shard (when split), then by model, keeping the manifest's order within a group.
	sorted := slices.Clone(missing)
	if shards > 0 {
		slices.SortStableFunc(sorted, func(a, b missingPoint) int { return shardOf(a) - shardOf(b) })
	}
	var groups []string
	var cur []string
	curShard, curModel := -2, ""
	listed := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		g := strings.Join(cur, "; ")
		if shards > 0 && curShard >= 0 {
			g = fmt.Sprintf("shard %d/%d (%s)", curShard, shards, g)
		}
		groups = append(groups, g)
		cur = nil
	}
	for _, m := range sorted[:min(len(sorted), maxListedMissing)] {
		sh := -1
		if shards > 0 {
			sh = shardOf(m)
		}
		if sh != curShard {
			flush()
			curShard, curModel = sh, ""
		}
		if m.Model != curModel {
			cur = append(cur, m.Model+" "+m.Label)
			curModel = m.Model
		} else {
			cur[len(cur)-1] += ", " + m.Label
		}
		listed++
	}
	flush()
	list := strings.Join(groups, ", ")
	if rest := len(missing) - listed; rest > 0 {
		list += fmt.Sprintf(" and %d more", rest)
	}
	return fmt.Sprintf("Not trained yet: %d of %s: %s.", len(missing), plural(total, "point"), list)
}

// shardOf is m's shard, or -1 when the manifest does not say.
func shardOf(m missingPoint) int {
	if m.Shard == nil {
		return -1
	}
	return *m.Shard
}

// writeReport refreshes dir/report.md and its charts from dir's manifest and results files.
func writeReport(dir string) (report.Experiment, error) {
	e, err := loadReport(dir, io.Discard)
	if err != nil {
		return e, err
	}
	return e, report.Write(dir, e)
}

// writeReport refreshes the report of the run's output folder while it trains, from the run's
// memory: the results its store holds, with what other shards appended to their files since
// (Store.Refresh reads only that), so a sweep of many points does not read its results again
// after each one.
func (r *runState) writeReport() error {
	mf, err := readManifest(r.opts.Out)
	if err != nil {
		return err
	}
	if err := r.store.Refresh(); err != nil {
		return err
	}
	return report.Write(r.opts.Out, folderFrom(r.opts.Out, mf, r.store).report)
}

// writeReportTo writes a report to the Markdown file path, charts beside it.
func writeReportTo(path string, e report.Experiment) error {
	dir := filepath.Dir(path)
	if filepath.Base(path) == "report.md" {
		return report.Write(dir, e)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if err := report.WriteChart(dir, base, e); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteMarkdown(f, e, base); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuModel reads the processor's model name from /proc/cpuinfo, or returns runtime.GOARCH.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// searchInfo summarises a bisect model: how many points (and trainings) it trained, in how long,
// and what the full grid cost: measured when every point of the grid has its results in the
// folder (a grid run there with the same keys), else estimated. Training time is fitted as
// a + b·MACs over the trained points (time proportional to MACs with one trained point) and
// extrapolated to the others. A finished search of this build names the points it evaluated
// (mm.SearchEvaluated), and those are what it counts; for a manifest without them, every point
// with a result is counted.
func searchInfo(mm ManifestModel, store *Store) *report.SearchInfo {
	info := &report.SearchInfo{Method: "bisect", GridPoints: len(mm.Points), Notes: mm.SearchNotes, Guided: mm.SearchGuided}
	evaluated := map[string]bool{}
	for _, l := range mm.SearchEvaluated {
		evaluated[l] = true
	}
	var xs, ys []float64
	complete, gridSeconds, gridTrainings := true, 0.0, 0
	for _, mp := range mm.Points {
		secs, n := 0.0, 0
		for _, seed := range mp.runs() {
			if rec, ok := store.Lookup(seed.Key); ok {
				secs += rec.TrainSeconds
				n++
			}
		}
		gridTrainings += len(mp.runs())
		gridSeconds += secs
		complete = complete && n == len(mp.runs())
		if n > 0 && (len(evaluated) == 0 || evaluated[mp.Label]) {
			info.Trained++
			info.Trainings += n
			info.TrainSeconds += secs
		}
		if n > 0 {
			xs = append(xs, float64(mp.MACs))
			ys = append(ys, secs/float64(n))
		}
	}
	if len(evaluated) > 0 {
		info.GridTrainings = gridTrainings
		if complete {
			info.GridSeconds = gridSeconds
		}
	} else {
		info.Trainings = 0 // a manifest of an earlier build: points only, as its report said
	}
	if len(xs) == 0 {
		return info
	}
	a, b := affineFit(xs, ys)
	for _, mp := range mm.Points {
		info.GridSecondsEstimate += float64(len(mp.runs())) * max(a+b*float64(mp.MACs), 0)
	}
	return info
}

// affineFit fits y ≈ a + b·x by least squares; with one distinct x it returns a proportional fit.
func affineFit(xs, ys []float64) (a, b float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den <= 0 || n < 2 {
		if sx == 0 {
			return sy / n, 0
		}
		return 0, sy / sx
	}
	b = (n*sxy - sx*sy) / den
	a = (sy - b*sx) / n
	if b < 0 { // time must not fall with size: fall back to proportional
		return 0, sy / sx
	}
	return a, b
}
