package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

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
	// Shard, when Sharded, trains only that shard's points (see AssignShards) and stores them in
	// the shard's own results file; every shard of a sweep must be given the same other options.
	Shard Shard
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

// job is one point to train.
type job struct {
	model *Model
	point spec.Point
	key   string
}

// Run trains every selected point of the spec at path that is not stored yet, storing each
// result and refreshing the report as soon as the point finishes. Progress goes to stderr; the
// results table goes to stdout at the end. When ctx is cancelled, training stops after the current
// batch and Run returns an error for which ExitCode gives ExitInterrupted.
func Run(ctx context.Context, path string, opts RunOptions, stdout, stderr io.Writer) error {
	e, err := Load(path)
	if err != nil {
		return err
	}
	if err := e.applyOverrides(opts); err != nil {
		return err
	}
	if opts.Out == "" {
		opts.Out = filepath.Join("runs", e.Spec.Name)
	}
	store, corrupt, err := OpenShardStore(opts.Out, opts.Shard)
	if err != nil {
		return err
	}
	for _, c := range corrupt {
		fmt.Fprintf(stderr, "warning: %s line %d is not a readable result and is ignored: %v\n", c.File, c.Line, c.Err)
	}
	started := time.Now()
	data, err := loadData(e.Spec)
	if err != nil {
		return fmt.Errorf("%s: dataset: %w", e.Spec.File, err)
	}
	r := &runState{e: e, opts: opts, store: store, data: data, stderr: stderr}
	jobs := r.plan()
	shards, err := r.assignShards(jobs)
	if err != nil {
		return err
	}
	if err := r.writeManifest(jobs, shards); err != nil {
		return err
	}
	jobs, shardNote := r.shardJobs(jobs, shards)
	todo := 0
	for _, j := range jobs {
		if _, done := store.Lookup(j.key); !done || opts.Force {
			todo++
		}
	}
	fmt.Fprintf(stderr, "%s: %s%s to train, %d already stored, data %s (%d training examples) loaded in %s; writing to %s\n",
		path, shardNote, plural(todo, "point"), len(jobs)-todo, data.Name, min(data.Train.N, limitOr(opts.LimitTrain, data.Train.N)),
		time.Since(started).Round(time.Millisecond), opts.Out)
	progress := newProgress(opts.Progress, stderr)
	var runErr error
	for _, j := range jobs {
		if _, done := store.Lookup(j.key); done && !opts.Force {
			continue
		}
		if runErr = r.train(ctx, j, progress); runErr != nil {
			break
		}
		if _, err := writeReport(opts.Out); err != nil {
			fmt.Fprintf(stderr, "warning: report not refreshed: %v\n", err)
		}
	}
	if runErr != nil && !errors.Is(runErr, runner.ErrInterrupted) {
		return runErr
	}
	rep, err := writeReport(opts.Out)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := report.WriteTable(stdout, rep, "text"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(opts.Out, "report.md"))
	return runErr
}

func limitOr(limit, n int) int {
	if limit > 0 {
		return limit
	}
	return n
}

// applyOverrides narrows the experiment to --only and --points and applies --epochs.
func (e *Experiment) applyOverrides(opts RunOptions) error {
	if len(opts.Only) > 0 {
		var kept []Model
		var names []string
		for _, m := range e.Models {
			names = append(names, m.Name)
			if slices.Contains(opts.Only, m.Name) {
				kept = append(kept, m)
			}
		}
		for _, o := range opts.Only {
			if !slices.Contains(names, o) {
				return &UsageError{fmt.Sprintf("--only %s: %s has no model %q (it has %s)", o, e.Spec.File, o, strings.Join(names, ", "))}
			}
		}
		e.Models = kept
	}
	for name, vals := range opts.Points {
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
	if total == 0 && len(opts.Points) > 0 {
		return &UsageError{"--points selects no point of the sweep; `nnsweep params " + e.Spec.File + "` lists them"}
	}
	if opts.Epochs < 0 || opts.LimitTrain < 0 {
		return &UsageError{"--epochs and --limit-train must be positive"}
	}
	if opts.Epochs > 0 {
		for i := range e.Models {
			e.Models[i].Train.Epochs = opts.Epochs
		}
	}
	return nil
}

// runState is one Run in progress.
type runState struct {
	e      *Experiment
	opts   RunOptions
	store  *Store
	data   *dataset.Data
	stderr io.Writer
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

func (r *runState) plan() []job {
	var jobs []job
	for i := range r.e.Models {
		m := &r.e.Models[i]
		for _, p := range m.Points {
			jobs = append(jobs, job{model: m, point: p, key: pointKey(m.ResolvedModel, p, r.opts.LimitTrain, r.data.Checksum)})
		}
	}
	return jobs
}

func (r *runState) train(ctx context.Context, j job, progress progressDisplay) error {
	m := j.model
	pc, err := m.Count.At(j.point)
	if err != nil {
		return err
	}
	label := fmt.Sprintf("%s %s (%s params)", m.Name, j.point, formatInt(pc.Params))
	progress.start(label, m.Train.Epochs)
	res, err := runner.Train(ctx, m.ResolvedModel, j.point, r.data, runner.Options{
		LimitTrain: r.opts.LimitTrain,
		Progress:   progress.update,
	})
	progress.finish(res, err)
	if err != nil {
		return err
	}
	rec := Record{
		Key: j.key, Spec: r.e.Spec.Name, Model: m.Name, Vars: j.point.Map(), Point: j.point.String(),
		Polynomial: m.Count.Params.String(), Params: pc.Params, MACs: pc.MACs,
		Seed: m.Train.Seed, Epochs: res.Epochs, SpecEpochs: r.specEpochs(m), BatchSize: m.Train.BatchSize,
		Optimizer: m.Train.Optimizer, LimitTrain: r.opts.LimitTrain,
		Status: res.Status, TestAccuracy: res.Test.Accuracy, TestLoss: res.Test.Loss,
		TrainSeconds: res.TrainSeconds, TrainExamples: res.TrainExamples, History: res.History,
		Dataset: r.data.Name, DatasetChecksum: r.data.Checksum, Version: Version, FinishedAt: time.Now().UTC(),
	}
	for _, l := range pc.Layers {
		rec.Layers = append(rec.Layers, LayerParams{Name: l.Name, Kind: l.Kind, Params: l.Params})
	}
	return r.store.Append(rec)
}
