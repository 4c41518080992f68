package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
)

// Choosing how many trainings run at once when --jobs is left out (RunOptions.AutoJobs).
//
// A training splits a matrix product over the cores only when the product has at least
// kernels.ParallelMinFlops operations; a training whose largest product is smaller runs on one
// core and leaves the others idle. The seeds of such a point are independent trainings of the
// same size, so they train at once, one per core (at most the point's repeats). Larger points
// train one seed at a time, each splitting its products over every core. A run of several models
// trains them at once, one training per core: a training splits its passes over the cores only
// when a core is idle (see kernels.Pass), and on small and middling models two trainings side by
// side get more from two cores than one training split over both. Each training's result is the
// same either way: it has its own weights, data order and buffers.

// autoJobs says whether the run chooses how many trainings run at once: not under --dump-steps,
// whose recordings are made one training at a time.
func (r *runState) autoJobs() bool {
	return r.opts.AutoJobs && r.opts.Jobs == 0 && r.opts.DumpSteps == ""
}

// cores is how many trainings can run at once on this machine (r.cpus when set, for tests).
func (r *runState) cores() int {
	if r.cpus > 0 {
		return r.cpus
	}
	return min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
}

// smallTraining says whether one training of m at its point p runs on one core: its largest
// product, 2·batch·(the largest layer's multiply-adds per example) operations, is below
// kernels.ParallelMinFlops. A point that cannot be counted is not small.
func smallTraining(m *Model, p spec.Point) bool {
	pc, err := m.Count.At(p)
	if err != nil {
		return false
	}
	var largest int64
	for _, l := range pc.Layers {
		largest = max(largest, l.MACs)
	}
	return 2*float64(m.Train.BatchSize)*float64(largest) < kernels.ParallelMinFlops
}

// seedsAtOnce is how many seeds of j's point train at once: up to --jobs when given (a grid's
// workers take its jobs; a search trains a point's seeds with them), up to one per core for a
// small repeated point under AutoJobs, else 1.
func (r *runState) seedsAtOnce(j job) int {
	if r.opts.Jobs > 1 {
		return min(r.opts.Jobs, max(j.model.Repeats, 1))
	}
	if !r.autoJobs() || j.model.Repeats < 2 || r.cores() < 2 {
		return 1
	}
	if !smallTraining(j.model, j.point) {
		return 1
	}
	return min(r.cores(), j.model.Repeats)
}

// modelsAtOnce says whether the models of a run under AutoJobs train at once, one training per
// core: on a machine of two or more cores, when two or more models have points to train and the
// two largest of their trainings fit in this machine's memory together (checkMemory has checked
// each alone). A model's own trainings still come one after another (its search needs each
// point's result before it picks the next), or a small point's seeds together (seedsAtOnce).
func (r *runState) modelsAtOnce(jobs []job) bool {
	if !r.autoJobs() || r.cores() < 2 {
		return false
	}
	var largest []float64 // per model with work left
	for _, group := range byModel(jobs) {
		if r.countTodo(group) == 0 {
			continue
		}
		most := 0.0
		for _, j := range group {
			if pc, err := j.model.Count.At(j.point); err == nil {
				most = max(most, trainingBytes(j.model, pc.Params, pc.Activations))
			}
		}
		largest = append(largest, most)
	}
	if len(largest) < 2 {
		return false
	}
	slices.Sort(largest)
	n := len(largest)
	memory, _ := machineMemory()
	return memory <= 0 || largest[n-1]+largest[n-2] <= float64(memory)
}

// jobsChoice is the run's line saying what AutoJobs chose for jobs, and why.
func (r *runState) jobsChoice(jobs []job) string {
	const how = "give --jobs N to choose yourself"
	if r.cores() < 2 {
		return fmt.Sprintf("jobs: one training at a time: this machine has one core (%s)", how)
	}
	var parts []string
	repeated := false
	for _, group := range byModel(jobs) {
		m := group[0].model
		if m.Repeats < 2 {
			continue
		}
		repeated = true
		points := bySeeds(group)
		small := 0
		for _, seeds := range points {
			if r.seedsAtOnce(seeds[0]) > 1 {
				small++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d of %d", m.Name, small, len(points)))
	}
	models := ""
	if r.slots != nil {
		models = fmt.Sprintf("the models train at once, up to %d trainings (one per core); ", r.cores())
	}
	if !repeated {
		if models != "" {
			return fmt.Sprintf("jobs: %sa training alone on the machine splits its larger products over the cores (%s)", models, how)
		}
		return fmt.Sprintf("jobs: one training at a time: no model repeats its points, and a point's trainings split their larger products over the cores (%s)", how)
	}
	return fmt.Sprintf("jobs: %sthe seeds of a point train at once, up to %d (one per core), where one training's largest product is under %.0f million operations, too small to split, and would leave a core idle (points: %s); the others train one seed at a time (%s)",
		models, r.cores(), kernels.ParallelMinFlops/1e6, strings.Join(parts, ", "), how)
}

// ensurePoint returns the stored results of a point's seeds (in seed order), training those not
// stored; under AutoJobs the seeds of a small point train at once (seedsAtOnce). The first error
// stops the others.
func (r *runState) ensurePoint(ctx context.Context, seeds []job) ([]Record, error) {
	recs := make([]Record, len(seeds))
	k := r.seedsAtOnce(seeds[0])
	if k <= 1 || len(seeds) == 1 {
		for i, j := range seeds {
			rec, err := r.ensure(ctx, j)
			if err != nil {
				return nil, err
			}
			recs[i] = rec
		}
		return recs, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, k)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for i, j := range seeds {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			if ctx.Err() != nil {
				return
			}
			rec, err := r.ensure(ctx, j)
			if err != nil {
				once.Do(func() { firstErr = err; cancel() })
				return
			}
			recs[i] = rec
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = runner.ErrInterrupted
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return recs, nil
}
