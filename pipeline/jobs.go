package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/nnsweep/nnsweep/runner"
)

// Choosing how many trainings run at once when --jobs is left out (RunOptions.AutoJobs).
//
// A training alone on the machine splits its passes and its larger matrix products over the
// cores (kernels.Pass, kernels.SgemmParallel), but not all of its work splits, and what splits
// pays a hand-off per pass; two trainings side by side, one per core, each run their passes
// whole. Measured here (2 cores, two seeds of a point, `--jobs 2` against `--jobs 1`): side by
// side is never slower, 5–8% faster at CNN2 n=32 and n=8, 13–18% at CNN1 n=16 and n=4 and MLP
// n=512 and n=32, and 34% at CNN2 n=2, whose products are too small to split at all. So the seeds of a repeated point train at once, one per core (at most
// the point's repeats), where that many trainings of the point fit in this machine's memory
// together; and a run of several models trains them at once, one training per core, where the two
// largest trainings fit together. A seed left over (three seeds on two cores) trains alone and
// splits its passes over the idle cores, so the run never has more trainings than cores. Each
// training's result is the same either way: it has its own weights, data order and buffers.

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

// memory is this machine's memory in bytes (r.memoryBytes when set, for tests); 0 when unknown.
func (r *runState) memory() int64 {
	if r.memoryBytes > 0 {
		return r.memoryBytes
	}
	memory, _ := machineMemory()
	return memory
}

// pointBytes is trainingBytes for one training of j's point; 0 when the point cannot be counted.
func pointBytes(j job) float64 {
	pc, err := j.model.Count.At(j.point)
	if err != nil {
		return 0
	}
	return trainingBytes(j.model, pc.Params, pc.Activations)
}

// seedsAtOnce is how many seeds of j's point train at once: up to --jobs when given (a grid's
// workers take its jobs; a search trains a point's seeds with them); under AutoJobs one per core,
// at most the point's repeats and as many as fit in memory together; else 1.
func (r *runState) seedsAtOnce(j job) int {
	if r.opts.Jobs > 1 {
		return min(r.opts.Jobs, max(j.model.Repeats, 1))
	}
	if !r.autoJobs() || j.model.Repeats < 2 || r.cores() < 2 {
		return 1
	}
	return min(r.cores(), r.seedsFit(j))
}

// seedsFit is how many of the seeds of j's point fit in this machine's memory together (at least
// 1, at most the point's repeats).
func (r *runState) seedsFit(j job) int {
	k := max(j.model.Repeats, 1)
	if memory, need := r.memory(), pointBytes(j); memory > 0 && need > 0 {
		k = min(k, max(1, int(float64(memory)/need)))
	}
	return k
}

// modelsAtOnce says whether the models of a run under AutoJobs train at once, one training per
// core: on a machine of two or more cores, when two or more models have points to train and the
// two largest of their trainings fit in this machine's memory together (checkMemory has checked
// each alone). A model's own trainings still come one after another (its search needs each
// point's result before it picks the next), or its point's seeds together (seedsAtOnce).
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
			most = max(most, pointBytes(j))
		}
		largest = append(largest, most)
	}
	if len(largest) < 2 {
		return false
	}
	slices.Sort(largest)
	n := len(largest)
	memory := r.memory()
	return memory <= 0 || largest[n-1]+largest[n-2] <= float64(memory)
}

// jobsChoice is the run's line saying what AutoJobs chose for jobs, and why.
func (r *runState) jobsChoice(jobs []job) string {
	const how = "give --jobs N to choose yourself"
	if r.cores() < 2 {
		return fmt.Sprintf("jobs: one training at a time: this machine has one core (%s)", how)
	}
	var apart []string // points whose seeds do not all fit in memory together
	repeated := false
	for _, group := range byModel(jobs) {
		m := group[0].model
		if m.Repeats < 2 {
			continue
		}
		repeated = true
		for _, seeds := range bySeeds(group) {
			if k := r.seedsAtOnce(seeds[0]); k < min(r.cores(), m.Repeats) {
				apart = append(apart, fmt.Sprintf("%s %s %d", m.Name, seeds[0].point, k))
			}
		}
	}
	var parts []string
	if r.slots != nil {
		parts = append(parts, fmt.Sprintf("the models train at once, up to %d trainings (one per core)", r.cores()))
	}
	if repeated {
		seeds := fmt.Sprintf("the seeds of a point train at once, up to %d (one per core)", r.cores())
		if len(apart) > 0 {
			seeds += fmt.Sprintf(", fewer where they do not fit in memory together (at once: %s)", strings.Join(apart, ", "))
		}
		parts = append(parts, seeds)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("jobs: one training at a time: no model repeats its points, and a training alone on the machine splits its passes over the cores (%s)", how)
	}
	return fmt.Sprintf("jobs: %s: two trainings side by side get more from the cores than one split over them; a training alone on the machine splits its passes over the idle cores (%s)",
		strings.Join(parts, "; "), how)
}

// ensurePoint returns the stored results of a point's seeds (in seed order), training those not
// stored; under AutoJobs its seeds train at once, one per core (seedsAtOnce). The first error
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
