package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/spec"
)

// Shard is one of Count parts of a sweep's points, numbered from 0: shard Index of Count trains
// the points AssignShards gives it and stores them in its own results file (ShardResultsFile), so
// the shards of one sweep can write into one shared folder at once without locking. The zero
// Shard, and any Shard with Count 1, is the whole sweep.
type Shard struct {
	// Index is the shard's 0-based number, in [0, Count).
	Index int
	// Count is the number of shards the sweep is split into; 0 or 1 means not split.
	Count int
	// Source says where the shard came from, for messages: "--shard", or the environment
	// variable that gave the index (EnvJobIndex or EnvSlurmTaskID).
	Source string
}

// Sharded reports whether s is a part of the sweep rather than the whole of it.
func (s Shard) Sharded() bool { return s.Count > 1 }

// String writes s as --shard takes it: "3/8".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// The environment variables a shard is read from when --shard is not given.
const (
	// EnvJobIndex is set by Kubernetes in every pod of an Indexed Job (completionMode: Indexed):
	// the pod's 0-based completion index.
	EnvJobIndex = "JOB_COMPLETION_INDEX"
	// EnvShards is the number of shards for a Kubernetes Indexed Job, which Kubernetes does not
	// pass to the pod: set it in the Job's env to the Job's completions.
	EnvShards = "NNSWEEP_SHARDS"
	// EnvSlurmTaskID, EnvSlurmTaskCount, EnvSlurmTaskMin and EnvSlurmTaskMax are set by Slurm in
	// every task of a job array (sbatch --array): the shard's index is ID − MIN.
	EnvSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
	EnvSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmTaskMax   = "SLURM_ARRAY_TASK_MAX"
)

// ParseShard parses the value of --shard, "I/N" with 0 ≤ I < N.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(strings.TrimSpace(is))
	n, nerr := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || ierr != nil || nerr != nil {
		return Shard{}, &UsageError{fmt.Sprintf("--shard %q: write the shard as I/N, numbered from 0, e.g. --shard 0/4 for the first of 4 shards", s)}
	}
	if n < 1 {
		return Shard{}, &UsageError{fmt.Sprintf("--shard %s: the number of shards must be at least 1", s)}
	}
	if i < 0 || i >= n {
		return Shard{}, &UsageError{fmt.Sprintf("--shard %s: shards are numbered from 0 to %d; the index must be below the number of shards", s, n-1)}
	}
	return Shard{Index: i, Count: n, Source: "--shard"}, nil
}

// ResolveShard returns the shard a run trains: the --shard value flag when it is not empty, else
// the shard the environment gives through lookup (os.LookupEnv): a Kubernetes Indexed Job
// (EnvJobIndex, with the count in EnvShards) or a Slurm job array (EnvSlurmTaskID,
// EnvSlurmTaskCount, EnvSlurmTaskMin), Kubernetes first when both are set. Without any, it
// returns the zero Shard: the whole sweep. Variables set to the empty string count as unset.
// Inconsistent values are a *UsageError naming the variable and the fix.
func ResolveShard(flag string, lookup func(string) (string, bool)) (Shard, error) {
	if flag != "" {
		return ParseShard(flag)
	}
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	count, hasCount := get(EnvShards)
	if index, ok := get(EnvJobIndex); ok {
		if !hasCount {
			return Shard{}, &UsageError{fmt.Sprintf("%s=%s is set (a Kubernetes Indexed Job) but %s is not: set %s in the container's env to the Job's spec.completions (see deploy/kubernetes/job.yaml), or pass --shard I/N",
				EnvJobIndex, index, EnvShards, EnvShards)}
		}
		i, err := envInt(EnvJobIndex, index, 0, "Kubernetes sets it to the pod's completion index")
		if err != nil {
			return Shard{}, err
		}
		n, err := envInt(EnvShards, count, 1, "set it to the Job's spec.completions")
		if err != nil {
			return Shard{}, err
		}
		if i >= n {
			return Shard{}, &UsageError{fmt.Sprintf("%s=%d is not below %s=%d: set %s to the Job's spec.completions (indexes run from 0 to completions−1)",
				EnvJobIndex, i, EnvShards, n, EnvShards)}
		}
		return Shard{Index: i, Count: n, Source: EnvJobIndex}, nil
	}
	if id, ok := get(EnvSlurmTaskID); ok {
		return slurmShard(id, get, count, hasCount)
	}
	if hasCount {
		return Shard{}, &UsageError{fmt.Sprintf("%s=%s is set but neither %s (a Kubernetes Indexed Job, completionMode: Indexed) nor %s (a Slurm job array) is: run nnsweep as an array task, pass --shard I/N, or unset %s to train the whole sweep",
			EnvShards, count, EnvJobIndex, EnvSlurmTaskID, EnvShards)}
	}
	return Shard{}, nil
}

// slurmShard reads the shard of a Slurm array task whose SLURM_ARRAY_TASK_ID is id.
func slurmShard(id string, get func(string) (string, bool), shards string, hasShards bool) (Shard, error) {
	count, ok := get(EnvSlurmTaskCount)
	if !ok {
		return Shard{}, &UsageError{fmt.Sprintf("%s=%s is set but %s is not: run nnsweep inside a job array (sbatch --array=0-N), or pass --shard I/N",
			EnvSlurmTaskID, id, EnvSlurmTaskCount)}
	}
	low, ok := get(EnvSlurmTaskMin)
	if !ok {
		return Shard{}, &UsageError{fmt.Sprintf("%s=%s is set but %s is not: run nnsweep inside a job array (sbatch --array=0-N), or pass --shard I/N",
			EnvSlurmTaskID, id, EnvSlurmTaskMin)}
	}
	t, err := envInt(EnvSlurmTaskID, id, 0, "Slurm sets it in every task of a job array")
	if err != nil {
		return Shard{}, err
	}
	n, err := envInt(EnvSlurmTaskCount, count, 1, "Slurm sets it in every task of a job array")
	if err != nil {
		return Shard{}, err
	}
	lo, err := envInt(EnvSlurmTaskMin, low, 0, "Slurm sets it in every task of a job array")
	if err != nil {
		return Shard{}, err
	}
	contiguous := fmt.Sprintf("nnsweep needs a contiguous array without a step or a list, e.g. #SBATCH --array=0-%d", n-1)
	if high, ok := get(EnvSlurmTaskMax); ok {
		hi, err := envInt(EnvSlurmTaskMax, high, 0, "Slurm sets it in every task of a job array")
		if err != nil {
			return Shard{}, err
		}
		if hi-lo+1 != n {
			return Shard{}, &UsageError{fmt.Sprintf("the job array runs tasks %d to %d (%s, %s) but has %s=%d tasks: %s",
				lo, hi, EnvSlurmTaskMin, EnvSlurmTaskMax, EnvSlurmTaskCount, n, contiguous)}
		}
	}
	i := t - lo
	if i < 0 || i >= n {
		return Shard{}, &UsageError{fmt.Sprintf("%s=%d − %s=%d = %d is not in [0, %s=%d): %s",
			EnvSlurmTaskID, t, EnvSlurmTaskMin, lo, i, EnvSlurmTaskCount, n, contiguous)}
	}
	if hasShards {
		s, err := envInt(EnvShards, shards, 1, "it is the number of shards")
		if err != nil {
			return Shard{}, err
		}
		if s != n {
			return Shard{}, &UsageError{fmt.Sprintf("%s=%d disagrees with %s=%d: unset %s in a Slurm job (the array gives the number of shards) or make them equal",
				EnvShards, s, EnvSlurmTaskCount, n, EnvShards)}
		}
	}
	return Shard{Index: i, Count: n, Source: EnvSlurmTaskID}, nil
}

// envInt parses the value v of the environment variable name as an integer of at least low.
func envInt(name, v string, low int, about string) (int, error) {
	x, err := strconv.Atoi(v)
	if err != nil || x < low {
		kind := "a non-negative integer"
		if low > 0 {
			kind = fmt.Sprintf("an integer of at least %d", low)
		}
		return 0, &UsageError{fmt.Sprintf("%s=%q is not %s: %s (or pass --shard I/N)", name, v, kind, about)}
	}
	return x, nil
}

// ShardResultsFile is the results file of shard s inside an output folder:
// results-shard-003-of-008.jsonl for shard 3/8, and ResultsFile for the whole sweep.
func ShardResultsFile(s Shard) string {
	if !s.Sharded() {
		return ResultsFile
	}
	return fmt.Sprintf("results-shard-%03d-of-%03d.jsonl", s.Index, s.Count)
}

// PointCost is a point of the plan with its estimated cost.
type PointCost struct {
	Model *Model
	Point spec.Point
	// MACs are the forward multiply-adds per example.
	MACs int64
	// Epochs, TrainExamples, ValExamples and TestExamples are what training the point processes:
	// TrainExamples per epoch after the validation split and --limit-train, ValExamples evaluated
	// after every epoch, TestExamples once at the end.
	Epochs, TrainExamples, ValExamples, TestExamples int
	// Cost is the estimated multiply-adds of training and evaluating the point (see pointCost).
	Cost int64
}

// CostFormula says in words how PointCost.Cost is estimated.
const CostFormula = "MACs per example × (3 × epochs × training examples + epochs × validation examples + test examples)"

// planCosts lists every point of e in plan order (model by model, each model's points in order:
// the order Run trains them) with its estimated cost on data of the shape info, trained on at most
// limitTrain examples when limitTrain is positive.
func planCosts(e *Experiment, info dataset.Info, limitTrain int) ([]PointCost, error) {
	var out []PointCost
	for i := range e.Models {
		m := &e.Models[i]
		train, val := info.TrainN, 0
		if f := m.Train.ValidationSplit; f > 0 {
			val = int(math.Round(f * float64(train))) // as dataset.Set.Split
			train -= val
		}
		if limitTrain > 0 && limitTrain < train {
			train = limitTrain
		}
		for _, p := range m.Points {
			pc, err := m.Count.At(p)
			if err != nil {
				return nil, err
			}
			c := PointCost{Model: m, Point: p, MACs: pc.MACs, Epochs: m.Train.Epochs,
				TrainExamples: train, ValExamples: val, TestExamples: info.TestN}
			c.Cost = pointCost(c)
			out = append(out, c)
		}
	}
	return out, nil
}

// pointCost estimates the multiply-adds of training c: a training step costs about three forward
// passes (the forward pass, and the backward pass for activations and for weights), the
// validation set is evaluated after every epoch and the test set once. It saturates at
// math.MaxInt64 rather than overflow.
func pointCost(c PointCost) int64 {
	steps := satAdd(satMul(3*int64(c.TrainExamples)+int64(c.ValExamples), int64(c.Epochs)), int64(c.TestExamples))
	return satMul(c.MACs, steps)
}

func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// AssignShards splits points of the given estimated costs among n shards and returns the 0-based
// shard of each point. It is the longest-processing-time-first greedy: the points in decreasing
// cost, ties in their given order, each go to the shard with the least cost so far, ties to the
// lowest shard. The result depends only on costs and n, so every shard of a sweep computes the
// same assignment, and a shard run again trains the same points. The largest shard's cost is at
// most 4/3 of the best possible split's.
func AssignShards(costs []int64, n int) []int {
	if n < 1 {
		panic("pipeline: AssignShards needs at least one shard")
	}
	order := make([]int, len(costs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(costs[b], costs[a]) })
	loads := make([]int64, n)
	shard := make([]int, len(costs))
	for _, p := range order {
		best := 0
		for s := 1; s < n; s++ {
			if loads[s] < loads[best] {
				best = s
			}
		}
		shard[p] = best
		loads[best] = satAdd(loads[best], max(costs[p], 0))
	}
	return shard
}
