package pipeline

import (
	"context"
	"fmt"
)

// shardPlan is the split of a run's points among its shards; the zero shardPlan is no split.
type shardPlan struct {
	// Count is the number of shards.
	Count int
	// Shard and Cost are each point's 0-based shard and estimated cost, in plan order.
	Shard []int
	Cost  []int64
}

// assignShards splits the run's jobs (in plan order) among the shards of r.opts.Shard, by
// estimated cost; it returns the zero shardPlan when the run is not split.
func (r *runState) assignShards(jobs []job) (shardPlan, error) {
	if !r.opts.Shard.Sharded() {
		return shardPlan{}, nil
	}
	info, err := describeCounts(context.Background(), r.e.Spec)
	if err != nil {
		return shardPlan{}, fmt.Errorf("%s: dataset: %w", r.e.Spec.File, err)
	}
	costs, err := planCosts(r.e, info, r.opts.LimitTrain)
	if err != nil {
		return shardPlan{}, err
	}
	sp := shardPlan{Count: r.opts.Shard.Count, Cost: make([]int64, len(jobs))}
	for i, j := range jobs {
		if j.pointIndex >= len(costs) {
			panic("pipeline: the shard plan and the run's jobs differ")
		}
		sp.Cost[i] = costs[j.pointIndex].Cost // each seed of a repeated point costs the same
	}
	sp.Shard = AssignShards(sp.Cost, sp.Count)
	return sp, nil
}

// shardJobs keeps the jobs of this run's shard and says which shard that is, e.g.
// "shard 1/3 (from JOB_COMPLETION_INDEX) holds 2 of 7 points; ", for the run's first line.
func (r *runState) shardJobs(jobs []job, sp shardPlan) ([]job, string) {
	if sp.Count == 0 {
		return jobs, ""
	}
	sh := r.opts.Shard
	var kept []job
	for i, j := range jobs {
		if sp.Shard[i] == sh.Index {
			kept = append(kept, j)
		}
	}
	return kept, fmt.Sprintf("shard %s (from %s) holds %d of %s; ", sh, sh.Source, len(kept), plural(len(jobs), "point"))
}
