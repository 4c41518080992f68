package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
)

// Engines are the values of RunOptions.Engine.
var Engines = runner.Engines

// ProgressModes are the values of RunOptions.Progress ("" is "auto").
var ProgressModes = []string{"auto", "bar", "lines", "none"}

// RunOptions adjust `nnsweep run`.
type RunOptions struct {
	// Out is the output folder; default runs/<spec name>.
	Out string
	// Only keeps the named models (all when empty).
	Only []string
	// Points keeps the points whose variables take one of the listed values, e.g. {"n": {2, 4}}.
	Points map[string][]int64
	// Epochs, when positive, replaces every model's epochs.
	Epochs int
	// LimitTrain, when positive, trains on the first LimitTrain training examples only.
	LimitTrain int
	// Force trains points again even when their results are stored.
	Force bool
	// Progress selects the progress display: "auto" (a bar on a terminal, else one line per
	// epoch), "bar", "lines" or "none".
	Progress string
	// Search, when set, replaces every model's search: "grid" or "bisect".
	Search string
	// Jobs is how many points of a grid (or seeds of a point a search evaluates) train at once
	// (default 1). Two trainings side by side get more from two cores than one training split
	// over both (see seedsAtOnce).
	Jobs int
	// AutoJobs, when set and Jobs is 0 (the command line's default, --jobs left out), lets the run
	// choose: the seeds of a repeated point train at once, one per core (see seedsAtOnce), and
	// the models of a run of several train at once, one training per core (see modelsAtOnce). An
	// explicit Jobs wins.
	AutoJobs bool
	// Engine builds the layers: "fast" (default) or "stock" (gorgonia's own operations).
	Engine string
	// Shard, when Sharded, trains only that shard's points (see AssignShards) and stores them in
	// the shard's own results file; every shard of a sweep must be given the same other options.
	Shard Shard
	// AllowOtherSpec lets the run write into a folder that holds another spec's results (by name):
	// its results are added to the folder's, and its manifest replaces the other's. Without it,
	// such a folder is an error.
	AllowOtherSpec bool
	// DumpSteps, when set, is a folder into which every training of the run writes its initial
	// weights and its first DumpCount steps (batches, losses, gradients, weights after each
	// update), one subfolder per training, for bench/fidelity to replay in PyTorch.
	DumpSteps string
	DumpCount int
	// cpus, when positive, replaces the machine's core count for AutoJobs, in tests.
	cpus int
	// onTrain, when set (in tests), is called as each training starts (true) and ends (false).
	onTrain func(start bool)
}

// ParsePoints parses --points values such as "n=2,4" into variable → values.
func ParsePoints(flags []string) (map[string][]int64, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string][]int64{}
	for _, f := range flags {
		name, vals, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || vals == "" {
			return nil, &UsageError{fmt.Sprintf("--points %q: write a variable and its values, e.g. --points n=2,4", f)}
		}
		for _, v := range strings.Split(vals, ",") {
			x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, &UsageError{fmt.Sprintf("--points %q: %q is not an integer", f, v)}
			}
			out[name] = append(out[name], x)
		}
	}
	return out, nil
}

// job is one training: a point of a model with one seed.
type job struct {
	model      *Model
	point      spec.Point
	pointIndex int   // the point's position among all the run's points, in plan order
	repeat     int   // 0 … Repeats-1
	seed       int64 // the model's seed + repeat
	key        string
}

// Run trains every selected point of the spec at path that is not stored yet, storing each
// result and refreshing the report as soon as the point finishes. Progress goes to stderr; the
// results table goes to stdout at the end. When ctx is cancelled, training stops after the current
// batch and Run returns an error for which ExitCode gives ExitInterrupted.
func Run(ctx context.Context, path string, opts RunOptions, stdout, stderr io.Writer) error {
	e, err := LoadContext(ctx, path)
	if err != nil {
		return err
	}
	if err := e.applyOverrides(opts); err != nil {
		return err
	}
	if opts.Out == "" {
		opts.Out = filepath.Join("runs", e.Spec.Name)
	}
	if err := checkRunFits(e, opts); err != nil {
		return err
	}
	store, err := openRunStore(opts, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	ops, _ := runner.EngineOps(opts.Engine) // checked by applyOverrides
	r := &runState{e: e, opts: opts, store: store, stderr: stderr, ops: ops, cpus: opts.cpus}
	if err := r.identifyData(ctx); err != nil {
		return err
	}
	all := r.plan()
	shards, err := r.assignShards(all)
	if err != nil {
		return err
	}
	if err := r.writeManifest(all, shards); err != nil {
		return err
	}
	jobs, shardNote := r.shardJobs(all, shards)
	todo := r.countTodo(jobs)
	if opts.DumpSteps != "" && todo == 0 {
		return &UsageError{fmt.Sprintf("--dump-steps: every selected point is stored in %s already; add --force to train them again", opts.Out)}
	}
	unit, searched := trainingUnit(e.Models)
	loaded, err := r.loadDataFor(ctx, todo)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s%s to train%s, %d already stored, data %s %s; writing to %s\n",
		path, shardNote, plural(todo, unit), searched, len(jobs)-todo, r.dataName, loaded, opts.Out)
	if opts.Jobs > 1 || r.autoJobs() {
		r.stderr = &lockedWriter{w: stderr}
	}
	if todo > 0 && r.autoJobs() {
		if r.modelsAtOnce(jobs) {
			r.slots = make(chan struct{}, r.cores())
		}
		fmt.Fprintln(r.stderr, r.jobsChoice(jobs))
	}
	r.progress = newProgress(r.progressMode(), stderr)
	runErr := r.trainGroups(ctx, jobs, all, shards)
	return finishRun(opts.Out, runErr, stdout, stderr)
}

// checkRunFits refuses a run that would not fit this machine's memory, or whose output folder
// holds another spec's results (unless --allow-other-spec).
func checkRunFits(e *Experiment, opts RunOptions) error {
	if memory, what := machineMemory(); memory > 0 {
		if err := checkMemory(e, memory, what); err != nil {
			return err
		}
	}
	return checkFolderSpec(opts.Out, e.Spec, opts.AllowOtherSpec)
}

// openRunStore opens the results store of the run's folder (its shard's, when sharded), warning on
// stderr about a lock it could not take, lines it skips and the temporary files it removes.
func openRunStore(opts RunOptions, stderr io.Writer) (*Store, error) {
	store, corrupt, err := OpenShardStore(opts.Out, opts.Shard)
	if err != nil {
		return nil, err
	}
	if store.Unlocked != "" {
		fmt.Fprintf(stderr, "warning: %s\n", store.Unlocked)
	}
	warnCorrupt(stderr, corrupt)
	for _, name := range removeStaleTemps(opts.Out, time.Now()) {
		fmt.Fprintf(stderr, "removed %s, a temporary file left by a process killed while writing it\n", filepath.Join(opts.Out, name))
	}
	return store, nil
}

// identifyData sets the dataset's name and checksum (and the data itself, when identifying it
// loaded it). An error that is not the spec's or the context's is put under the spec's name.
func (r *runState) identifyData(ctx context.Context) error {
	var err error
	if r.dataName, r.dataChecksum, r.data, err = dataIdentity(ctx, r.e.Spec); err != nil {
		var invalid *InvalidError
		if errors.As(err, &invalid) || errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("%s: dataset: %w", r.e.Spec.File, err)
	}
	return nil
}

// countTodo counts the jobs to train: those not stored yet, or all of them under --force.
func (r *runState) countTodo(jobs []job) int {
	todo := 0
	for _, j := range jobs {
		if _, done := r.store.Lookup(j.key); !done || r.opts.Force {
			todo++
		}
	}
	return todo
}

// trainingUnit names what the run's opening line counts ("point", or "training" when a model
// repeats its points with several seeds) and, when a model bisects, a remark saying so.
func trainingUnit(models []Model) (unit, searched string) {
	unit = "point"
	for _, m := range models {
		if m.Repeats > 1 {
			unit = "training"
		}
		if m.Search == "bisect" {
			searched = " (bisect trains only those it needs)"
		}
	}
	return unit, searched
}

// loadDataFor loads the dataset when todo jobs are to be trained and identifyData did not load
// it already, and says so for the run's opening line: "(60000 training examples) loaded in 1.2s".
// Files that changed since identifyData read them are an error.
func (r *runState) loadDataFor(ctx context.Context, todo int) (string, error) {
	if r.data != nil {
		return fmt.Sprintf("(%d training examples) loaded", min(r.data.Train.N, limitOr(r.opts.LimitTrain, r.data.Train.N))), nil
	}
	if todo == 0 {
		return "not loaded: nothing to train", nil
	}
	started := time.Now()
	var err error
	if r.data, err = loadData(ctx, r.e.Spec); err != nil {
		return "", err
	}
	if r.data.Checksum != r.dataChecksum {
		return "", fmt.Errorf("%s: dataset: its files changed while nnsweep read them; run again", r.e.Spec.File)
	}
	return fmt.Sprintf("(%d training examples) loaded in %s", min(r.data.Train.N, limitOr(r.opts.LimitTrain, r.data.Train.N)),
		time.Since(started).Round(time.Millisecond)), nil
}

// trainGroups trains the jobs model by model, bisecting or training the grid as each model asks,
// and stops at the first error. Under modelsAtOnce the models train at once, each training taking
// one of the run's slots (one per core) while it runs, so a search waiting for its point's result
// leaves its core to another model's training; the first error cancels the others.
func (r *runState) trainGroups(ctx context.Context, jobs, all []job, shards shardPlan) error {
	groups := byModel(jobs)
	one := func(ctx context.Context, group []job) error {
		if group[0].model.Search == "bisect" {
			return r.search(ctx, group, all, shards)
		}
		return r.grid(ctx, group)
	}
	if r.slots == nil {
		for _, group := range groups {
			if err := one(ctx, group); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for _, group := range groups {
		wg.Go(func() {
			if err := one(ctx, group); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		})
	}
	wg.Wait()
	return firstErr
}

// finishRun writes the folder's report after the run and the results table to stdout, returning
// runErr, the error that ended the training (nil when it finished). After an error other than an
// interruption, a report that cannot be written is only a warning on stderr.
func finishRun(out string, runErr error, stdout, stderr io.Writer) error {
	rep, err := writeReport(out)
	if runErr != nil && !errors.Is(runErr, runner.ErrInterrupted) {
		if err != nil {
			fmt.Fprintf(stderr, "warning: report not refreshed: %v\n", err)
		}
		return runErr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := report.WriteTable(stdout, rep, "text"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(out, "report.md"))
	return runErr
}

func limitOr(limit, n int) int {
	if limit > 0 {
		return limit
	}
	return n
}

// applyOverrides checks the run's options, narrows the experiment to --only and --points and
// applies --epochs and --search. It reads no file, so bad options fail before any work.
func (e *Experiment) applyOverrides(opts RunOptions) error {
	if err := checkRunFlags(opts); err != nil {
		return err
	}
	if err := e.keepOnly(opts.Only); err != nil {
		return err
	}
	if err := e.keepPoints(opts.Points); err != nil {
		return err
	}
	if opts.DumpSteps != "" && opts.DumpCount < 1 {
		return &UsageError{fmt.Sprintf("--dump-count %d: record at least 1 step (default %d)", opts.DumpCount, DefaultDumpCount)}
	}
	if opts.Epochs < 0 || opts.LimitTrain < 0 {
		return &UsageError{"--epochs and --limit-train must be positive"}
	}
	if opts.Epochs > 0 {
		for i := range e.Models {
			e.Models[i].Train.Epochs = opts.Epochs
		}
	}
	return e.overrideSearch(opts.Search, opts.Shard)
}

// checkRunFlags checks the options that need no experiment: --jobs, --progress, --engine and the
// kernels variable (kernels.EnvImpl).
func checkRunFlags(opts RunOptions) error {
	if opts.Jobs < 0 {
		return &UsageError{"--jobs must be at least 1"}
	}
	if !slices.Contains(append([]string{""}, ProgressModes...), opts.Progress) {
		return &UsageError{fmt.Sprintf("--progress %q: use one of %s", opts.Progress, strings.Join(ProgressModes, ", "))}
	}
	if v, ok := os.LookupEnv(kernels.EnvImpl); ok {
		if _, err := kernels.UseImpl(v); err != nil {
			return &UsageError{fmt.Sprintf("%s=%s: use %s, %s, %s or auto, or unset it to use the best the CPU has", kernels.EnvImpl, v,
				kernels.ImplAVX512, kernels.ImplAVX2, kernels.ImplGeneric)}
		}
	}
	if _, err := runner.EngineOps(opts.Engine); err != nil {
		return &UsageError{"--engine: " + err.Error()}
	}
	return nil
}

// keepOnly narrows the experiment to the models named by --only (all when only is empty); a name
// the spec lacks is an error listing the models it has.
func (e *Experiment) keepOnly(only []string) error {
	if len(only) == 0 {
		return nil
	}
	var kept []Model
	var names []string
	for _, m := range e.Models {
		names = append(names, m.Name)
		if slices.Contains(only, m.Name) {
			kept = append(kept, m)
		}
	}
	for _, o := range only {
		if !slices.Contains(names, o) {
			return &UsageError{fmt.Sprintf("--only %s: %s has no model %q (it has %s)", o, e.Spec.File, o, strings.Join(names, ", "))}
		}
	}
	e.Models = kept
	return nil
}

// keepPoints narrows every model's points to those whose variables take one of the values
// --points lists (variable → values). A variable no selected model uses, or a selection that
// keeps no point at all, is an error.
func (e *Experiment) keepPoints(points map[string][]int64) error {
	for name, vals := range points {
		used := false
		for i := range e.Models {
			m := &e.Models[i]
			if !slices.Contains(m.Vars, name) {
				continue
			}
			used = true
			m.Points = slices.DeleteFunc(m.Points, func(p spec.Point) bool {
				return !slices.Contains(vals, p.Map()[name])
			})
		}
		if !used {
			return &UsageError{fmt.Sprintf("--points %s: no selected model uses a sweep variable %s", name, name)}
		}
	}
	total := 0
	for _, m := range e.Models {
		total += len(m.Points)
	}
	if total == 0 && len(points) > 0 {
		return &UsageError{"--points selects no point of the sweep; `nnsweep params " + e.Spec.File + "` lists them"}
	}
	return nil
}

// overrideSearch applies --search ("" keeps each model's own) and refuses to shard a bisect
// model, whose points are trained one after another.
func (e *Experiment) overrideSearch(search string, shard Shard) error {
	switch search {
	case "":
	case "grid", "bisect":
		for i := range e.Models {
			e.Models[i].Search = search
		}
	default:
		return &UsageError{fmt.Sprintf("--search %q: use grid or bisect", search)}
	}
	if shard.Sharded() {
		for _, m := range e.Models {
			if m.Search == "bisect" {
				return &UsageError{fmt.Sprintf("model %s uses search: bisect, which trains one point after another and cannot be split into shards; use search: grid to shard it", m.Name)}
			}
		}
	}
	return nil
}

// runState is one Run in progress.
type runState struct {
	e     *Experiment
	opts  RunOptions
	store *Store
	// dataName and dataChecksum identify the dataset (as dataset.Data's Name and Checksum) before
	// it is loaded; data is loaded only when some point is to be trained.
	dataName, dataChecksum string
	data                   *dataset.Data
	stderr                 io.Writer
	progress               progressDisplay
	ops                    builder.Ops
	mu                     sync.Mutex      // guards forced and the report's refresh when trainings run at once
	forced                 map[string]bool // keys retrained in this run under --force
	// searches holds each bisect model's search state, for the manifest.
	searches map[string]searchState
	// lastReport is when the report was last refreshed (guarded by mu); clock, when set, replaces
	// time.Now for reportDue in tests.
	lastReport time.Time
	clock      func() time.Time
	// cpus and memoryBytes, when positive, replace the machine's core count and memory for
	// AutoJobs, in tests.
	cpus        int
	memoryBytes int64
	// slots, when not nil, holds a token for each training running (one per core): the models of
	// the run then train at once (see modelsAtOnce).
	slots chan struct{}
}

// searchState is where a model's bisect search stands.
type searchState struct {
	done  bool
	notes []string
	// evaluated are the labels of the points the search evaluated, in order; guided counts those
	// the power-law fit proposed.
	evaluated []string
	guided    int
}

// progressMode is the --progress mode, with bars replaced by lines when trainings run at once.
func (r *runState) progressMode() string {
	if r.opts.Jobs > 1 && r.opts.Progress != "none" {
		return "lines"
	}
	return r.opts.Progress
}

// byModel splits plan-ordered jobs into runs of the same model.
func byModel(jobs []job) [][]job {
	var out [][]job
	for i, j := range jobs {
		if i == 0 || j.model != jobs[i-1].model {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], j)
	}
	return out
}

// grid trains every job not stored yet, refreshing the report after each.
func (r *runState) grid(ctx context.Context, jobs []job) error {
	if r.opts.Jobs <= 1 {
		for _, seeds := range bySeeds(jobs) {
			if _, err := r.ensurePoint(ctx, seeds); err != nil {
				return err
			}
		}
		return nil
	}
	// --jobs N: N workers take the jobs in plan order; the first error stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan job)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range r.opts.Jobs {
		wg.Go(func() {
			for j := range next {
				if _, err := r.ensure(ctx, j); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = runner.ErrInterrupted
	}
	return firstErr
}

// ensure returns the job's stored result, training it first when it is not stored (or when
// --force asks, once per run).
func (r *runState) ensure(ctx context.Context, j job) (Record, error) {
	r.mu.Lock()
	forced := r.forced[j.key]
	r.mu.Unlock()
	if rec, done := r.store.Lookup(j.key); done && (!r.opts.Force || forced) {
		return rec, nil
	}
	if r.slots != nil {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return Record{}, runner.ErrInterrupted
		}
	}
	if r.opts.onTrain != nil {
		r.opts.onTrain(true)
	}
	rec, err := r.train(ctx, j)
	if r.opts.onTrain != nil {
		r.opts.onTrain(false)
	}
	if r.slots != nil {
		<-r.slots
	}
	if err != nil {
		return rec, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forced == nil {
		r.forced = map[string]bool{}
	}
	r.forced[j.key] = true
	if r.reportDue() {
		if err := r.writeReport(); err != nil {
			fmt.Fprintf(r.stderr, "warning: report not refreshed: %v\n", err)
		}
	}
	return rec, nil
}

// reportEvery is the least time between two refreshes of the report while a run trains: a
// sweep of many small points would otherwise spend more time rendering reports than training.
// The report is always written when the run ends.
const reportEvery = 5 * time.Second

// reportDue says whether the report is to be refreshed now, at most every reportEvery.
func (r *runState) reportDue() bool {
	now := time.Now()
	if r.clock != nil {
		now = r.clock()
	}
	if !r.lastReport.IsZero() && now.Sub(r.lastReport) < reportEvery {
		return false
	}
	r.lastReport = now
	return true
}

// specEpochs returns the epochs the spec itself asks of the model (before --epochs).
func (r *runState) specEpochs(m *Model) int {
	if r.opts.Epochs > 0 {
		for _, me := range r.e.Spec.Models {
			if me.Name == m.Name && me.Train.Epochs != nil {
				return *me.Train.Epochs
			}
		}
		if r.e.Spec.Train.Epochs != nil {
			return *r.e.Spec.Train.Epochs
		}
		return spec.DefaultEpochs
	}
	return m.Train.Epochs
}

// plan lists the run's jobs: every model, every point, every seed (seed, seed+1, … with
// repeats), in spec order.
func (r *runState) plan() []job {
	var jobs []job
	pi := 0
	for i := range r.e.Models {
		m := &r.e.Models[i]
		for _, p := range m.Points {
			for rep := range max(m.Repeats, 1) {
				rm := m.ResolvedModel
				rm.Train.Seed += int64(rep)
				jobs = append(jobs, job{model: m, point: p, pointIndex: pi, repeat: rep, seed: rm.Train.Seed,
					key: pointKey(rm, p, r.opts.LimitTrain, r.dataChecksum, r.opts.Engine)})
			}
			pi++
		}
	}
	return jobs
}

// train trains one job and stores its result.
func (r *runState) train(ctx context.Context, j job) (Record, error) {
	m := j.model
	pc, err := m.Count.At(j.point)
	if err != nil {
		return Record{}, err
	}
	label := fmt.Sprintf("%s %s (%s params)", m.Name, j.point, formatInt(pc.Params))
	if m.Repeats > 1 {
		label += fmt.Sprintf(" seed %d (%d of %d)", j.seed, j.repeat+1, m.Repeats)
	}
	rm := m.ResolvedModel
	rm.Train.Seed = j.seed
	progress := r.progress
	if r.opts.Jobs > 1 || r.seedsAtOnce(j) > 1 || r.slots != nil {
		// Each training of a parallel run writes its own lines.
		mode := r.progressMode()
		if mode != "none" {
			mode = "lines"
		}
		progress = newProgress(mode, r.stderr)
	}
	progress.start(label, m.Train.Epochs)
	opts := runner.Options{LimitTrain: r.opts.LimitTrain, Progress: progress.update, Ops: r.ops}
	var dump *stepDumper
	if r.opts.DumpSteps != "" {
		if dump, err = r.newStepDumper(j); err != nil {
			return Record{}, err
		}
		opts.OnStep, opts.RecordSteps, opts.OnOrder = dump.step, r.opts.DumpCount, dump.order
	}
	res, err := runner.Train(ctx, rm, j.point, r.data, opts)
	progress.finish(res, err)
	if err != nil {
		return Record{}, err
	}
	if dump != nil {
		if err := dump.result(res); err != nil {
			return Record{}, fmt.Errorf("--dump-steps: %w", err)
		}
	}
	rec := Record{
		Key: j.key, Spec: r.e.Spec.Name, Model: m.Name, Vars: j.point.Map(), Point: j.point.String(),
		Polynomial: m.Count.Params.String(), Params: pc.Params, MACs: pc.MACs,
		Seed: j.seed, Epochs: res.Epochs, MaxEpochs: m.Train.Epochs, SpecEpochs: r.specEpochs(m),
		StoppedEarly: res.StoppedEarly, BestEpoch: res.BestEpoch, BatchSize: m.Train.BatchSize,
		Optimizer: m.Train.Optimizer, LimitTrain: r.opts.LimitTrain, Engine: cmp.Or(r.opts.Engine, "fast"),
		Status: res.Status, TestAccuracy: res.Test.Accuracy, TestLoss: res.Test.Loss,
		TrainSeconds: res.TrainSeconds, TrainExamples: res.TrainExamples, History: res.History,
		Dataset: r.dataName, DatasetChecksum: r.dataChecksum, Version: Version, Machine: thisMachine(),
		FinishedAt: time.Now().UTC(),
	}
	for _, l := range pc.Layers {
		if l.Depth == 0 { // a residual block's row counts its inner layers
			rec.Layers = append(rec.Layers, LayerParams{Name: l.Name, Kind: l.Kind, Params: l.Params})
		}
	}
	// The weights are on disk before the record that names them: a run killed in between leaves
	// weights without a record (trained again, and replaced, by the next run), never the reverse.
	rec.Weights = weightsFile(j.key)
	if err := writeWeights(r.opts.Out, rec, res.Weights); err != nil {
		return Record{}, err
	}
	return rec, r.store.Append(rec)
}

// warnCorrupt prints a warning for each line of a results file that is skipped.
func warnCorrupt(w io.Writer, corrupt []CorruptLine) {
	for _, c := range corrupt {
		fmt.Fprintf(w, "warning: %s line %d is not a readable result and is ignored: %v\n", c.File, c.Line, c.Err)
	}
}

// thisMachine is the Machine this process trains on.
var thisMachine = sync.OnceValue(func() Machine {
	return Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
})

// checkFolderSpec refuses, unless allow is set, an output folder whose manifest was written for a
// spec of another name: running it there would make the folder's report that spec's.
func checkFolderSpec(dir string, s *spec.Spec, allow bool) error {
	mf, err := readManifest(dir)
	if err != nil || mf.Spec == s.Name || allow {
		return nil // no manifest (or an unreadable one, which this run replaces)
	}
	return &UsageError{fmt.Sprintf("%s holds the results of the spec %q (%s), not of %s's %q: give this run its own --out, or pass --allow-other-spec to store its results there too (the folder's report then shows %q only)",
		dir, mf.Spec, mf.SpecFile, s.File, s.Name, s.Name)}
}
