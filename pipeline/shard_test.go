package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/4", Shard{0, 4, "--shard"}, ""},
		{"3/4", Shard{3, 4, "--shard"}, ""},
		{" 1 / 2 ", Shard{1, 2, "--shard"}, ""},
		{"0/1", Shard{0, 1, "--shard"}, ""},
		{"4/4", Shard{}, "--shard 4/4: shards are numbered from 0 to 3"},
		{"-1/4", Shard{}, "--shard -1/4: shards are numbered from 0 to 3"},
		{"0/0", Shard{}, "--shard 0/0: the number of shards must be at least 1"},
		{"3", Shard{}, `--shard "3": write the shard as I/N, numbered from 0, e.g. --shard 0/4`},
		{"a/4", Shard{}, `--shard "a/4": write the shard as I/N`},
		{"1/4/5", Shard{}, `--shard "1/4/5": write the shard as I/N`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseShard(tt.in)
			checkShard(t, got, err, tt.want, tt.err)
		})
	}
}

func checkShard(t *testing.T, got Shard, err error, want Shard, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil || got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
		return
	}
	var usage *UsageError
	if !errors.As(err, &usage) || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("err = %v, want a usage error containing %q", err, wantErr)
	}
}

func TestResolveShard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want Shard
		err  string
	}{
		{"nothing", "", nil, Shard{}, ""},
		{"unrelated Slurm job", "", map[string]string{"SLURM_JOB_ID": "12"}, Shard{}, ""},
		{"flag", "1/3", nil, Shard{1, 3, "--shard"}, ""},
		{"flag wins over env", "1/3", map[string]string{EnvJobIndex: "0", EnvShards: "8"}, Shard{1, 3, "--shard"}, ""},
		{"0/1 trains the whole sweep in an array task", "0/1", map[string]string{EnvSlurmTaskID: "2", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "0"}, Shard{0, 1, "--shard"}, ""},
		{"kubernetes", "", map[string]string{EnvJobIndex: "2", EnvShards: "4"}, Shard{2, 4, EnvJobIndex}, ""},
		{"kubernetes one shard", "", map[string]string{EnvJobIndex: "0", EnvShards: "1"}, Shard{0, 1, EnvJobIndex}, ""},
		{"kubernetes without count", "", map[string]string{EnvJobIndex: "2"},
			Shard{}, "JOB_COMPLETION_INDEX=2 is set (a Kubernetes Indexed Job) but NNSWEEP_SHARDS is not: set NNSWEEP_SHARDS in the container's env to the Job's spec.completions"},
		{"kubernetes empty count", "", map[string]string{EnvJobIndex: "2", EnvShards: ""},
			Shard{}, "but NNSWEEP_SHARDS is not"},
		{"kubernetes index too big", "", map[string]string{EnvJobIndex: "4", EnvShards: "4"},
			Shard{}, "JOB_COMPLETION_INDEX=4 is not below NNSWEEP_SHARDS=4: set NNSWEEP_SHARDS to the Job's spec.completions"},
		{"kubernetes index not a number", "", map[string]string{EnvJobIndex: "two", EnvShards: "4"},
			Shard{}, `JOB_COMPLETION_INDEX="two" is not a non-negative integer`},
		{"kubernetes count zero", "", map[string]string{EnvJobIndex: "0", EnvShards: "0"},
			Shard{}, `NNSWEEP_SHARDS="0" is not an integer of at least 1: set it to the Job's spec.completions`},
		{"count without index", "", map[string]string{EnvShards: "4"},
			Shard{}, "NNSWEEP_SHARDS=4 is set but neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, completionMode: Indexed) nor SLURM_ARRAY_TASK_ID"},
		{"slurm", "", map[string]string{EnvSlurmTaskID: "5", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "3", EnvSlurmTaskMax: "6"}, Shard{2, 4, EnvSlurmTaskID}, ""},
		{"slurm without max", "", map[string]string{EnvSlurmTaskID: "0", EnvSlurmTaskCount: "2", EnvSlurmTaskMin: "0"}, Shard{0, 2, EnvSlurmTaskID}, ""},
		{"slurm with matching NNSWEEP_SHARDS", "", map[string]string{EnvSlurmTaskID: "1", EnvSlurmTaskCount: "2", EnvSlurmTaskMin: "0", EnvShards: "2"}, Shard{1, 2, EnvSlurmTaskID}, ""},
		{"kubernetes before slurm", "", map[string]string{EnvJobIndex: "1", EnvShards: "2", EnvSlurmTaskID: "0", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "0"}, Shard{1, 2, EnvJobIndex}, ""},
		{"slurm without count", "", map[string]string{EnvSlurmTaskID: "3", EnvSlurmTaskMin: "0"},
			Shard{}, "SLURM_ARRAY_TASK_ID=3 is set but SLURM_ARRAY_TASK_COUNT is not: run nnsweep inside a job array (sbatch --array=0-N), or pass --shard I/N"},
		{"slurm without min", "", map[string]string{EnvSlurmTaskID: "3", EnvSlurmTaskCount: "4"},
			Shard{}, "SLURM_ARRAY_TASK_ID=3 is set but SLURM_ARRAY_TASK_MIN is not"},
		{"slurm stepped array", "", map[string]string{EnvSlurmTaskID: "4", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "0", EnvSlurmTaskMax: "6"},
			Shard{}, "the job array runs tasks 0 to 6 (SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX) but has SLURM_ARRAY_TASK_COUNT=4 tasks: nnsweep needs a contiguous array without a step or a list, e.g. #SBATCH --array=0-3"},
		{"slurm index too big", "", map[string]string{EnvSlurmTaskID: "9", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "1"},
			Shard{}, "SLURM_ARRAY_TASK_ID=9 − SLURM_ARRAY_TASK_MIN=1 = 8 is not in [0, SLURM_ARRAY_TASK_COUNT=4)"},
		{"slurm id below min", "", map[string]string{EnvSlurmTaskID: "0", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "1"},
			Shard{}, "= -1 is not in [0, SLURM_ARRAY_TASK_COUNT=4)"},
		{"slurm count not a number", "", map[string]string{EnvSlurmTaskID: "0", EnvSlurmTaskCount: "many", EnvSlurmTaskMin: "0"},
			Shard{}, `SLURM_ARRAY_TASK_COUNT="many" is not an integer of at least 1`},
		{"slurm disagrees with NNSWEEP_SHARDS", "", map[string]string{EnvSlurmTaskID: "0", EnvSlurmTaskCount: "4", EnvSlurmTaskMin: "0", EnvShards: "8"},
			Shard{}, "NNSWEEP_SHARDS=8 disagrees with SLURM_ARRAY_TASK_COUNT=4: unset NNSWEEP_SHARDS in a Slurm job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			got, err := ResolveShard(tt.flag, lookup)
			checkShard(t, got, err, tt.want, tt.err)
		})
	}
}

func TestShardResultsFile(t *testing.T) {
	t.Parallel()
	for s, want := range map[Shard]string{
		{}:                       "results.jsonl",
		{Index: 0, Count: 1}:     "results.jsonl",
		{Index: 3, Count: 8}:     "results-shard-003-of-008.jsonl",
		{Index: 12, Count: 1000}: "results-shard-012-of-1000.jsonl",
	} {
		if got := ShardResultsFile(s); got != want || !(got == ResultsFile || shardFileName.MatchString(got)) {
			t.Errorf("ShardResultsFile(%v) = %s, want %s", s, got, want)
		}
	}
}

func loads(costs []int64, shard []int, n int) []int64 {
	l := make([]int64, n)
	for i, s := range shard {
		l[s] += costs[i]
	}
	return l
}

func TestAssignShardsExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		costs []int64
		n     int
		want  []int
	}{
		// Longest first, each to the least loaded shard: 8→0, 7→1, 6→2, 5→2 (6 is least), 4→1, 1→0.
		{"greedy", []int64{1, 5, 8, 4, 7, 6}, 3, []int{0, 2, 0, 1, 1, 2}},
		{"equal costs go round in plan order", []int64{1, 1, 1, 1, 1}, 2, []int{0, 1, 0, 1, 0}},
		{"one shard", []int64{3, 1, 2}, 1, []int{0, 0, 0}},
		{"more shards than points", []int64{2, 9, 4}, 5, []int{2, 0, 1}},
		{"no points", nil, 3, []int{}},
		{"saturated costs do not overflow", []int64{math.MaxInt64, math.MaxInt64, 1}, 2, []int{0, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := AssignShards(tt.costs, tt.n); !slices.Equal(got, tt.want) {
				t.Fatalf("AssignShards(%v, %d) = %v, want %v", tt.costs, tt.n, got, tt.want)
			}
		})
	}
}

// Random sweeps: every point goes to exactly one valid shard, the same input gives the same
// answer, and the split is within LPT's bounds: the largest shard is at most the mean plus the
// largest point, and (checked against the best split, found by brute force on small sweeps) at
// most 4/3 − 1/(3N) of the best split's largest shard.
func TestAssignShardsProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 600 {
		p, n := rng.IntN(40), 1+rng.IntN(9)
		if trial%2 == 0 {
			p, n = rng.IntN(9), 1+rng.IntN(3)
		}
		costs := make([]int64, p)
		var sum, largest int64
		for i := range costs {
			costs[i] = 1 + rng.Int64N(1_000_000)
			if rng.IntN(4) == 0 && i > 0 {
				costs[i] = costs[rng.IntN(i)] // ties
			}
			sum += costs[i]
			largest = max(largest, costs[i])
		}
		shard := AssignShards(costs, n)
		if len(shard) != p {
			t.Fatalf("trial %d: %d shards for %d points", trial, len(shard), p)
		}
		for i, s := range shard {
			if s < 0 || s >= n {
				t.Fatalf("trial %d: point %d on shard %d of %d", trial, i, s, n)
			}
		}
		if again := AssignShards(slices.Clone(costs), n); !slices.Equal(again, shard) {
			t.Fatalf("trial %d: not deterministic: %v then %v", trial, shard, again)
		}
		top := slices.Max(loads(costs, shard, n))
		if mean := float64(sum) / float64(n); float64(top) > mean+float64(largest) {
			t.Fatalf("trial %d: largest shard %d > mean %.0f + largest point %d (costs %v)", trial, top, mean, largest, costs)
		}
		if trial%2 == 0 && p > 0 {
			best := bestSplit(costs, n)
			if bound := (4.0/3.0 - 1.0/(3.0*float64(n))) * float64(best); float64(top) > bound*(1+1e-12) {
				t.Fatalf("trial %d: largest shard %d > (4/3 − 1/3N) × best %d (costs %v on %d shards)", trial, top, best, costs, n)
			}
		}
	}
}

// bestSplit is the smallest possible largest shard of costs on n shards, by trying every split.
func bestSplit(costs []int64, n int) int64 {
	best := int64(math.MaxInt64)
	shard := make([]int, len(costs))
	var try func(i int)
	try = func(i int) {
		if i == len(costs) {
			best = min(best, slices.Max(loads(costs, shard, n)))
			return
		}
		for s := range n {
			shard[i] = s
			try(i + 1)
		}
	}
	try(0)
	return best
}

// A stable assignment: a point keeps its shard when the spec is loaded again, and the shards'
// costs of a real spec are close to even.
func TestPlanIsStableAndBalanced(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	for _, w := range []*bytes.Buffer{&a, &b} {
		if err := Plan("../examples/mnist-compare.yaml", PlanOptions{Shards: 4, Format: "json", Epochs: 1}, w); err != nil {
			t.Fatal(err)
		}
	}
	if a.String() != b.String() {
		t.Fatal("two plans of one spec differ")
	}
	var plan PlanJSON
	if err := json.Unmarshal(a.Bytes(), &plan); err != nil {
		t.Fatal(err)
	}
	counted := 0
	for _, s := range plan.Totals {
		counted += s.Points
	}
	if len(plan.Points) != 12 || counted != 12 || plan.Shards != 4 || len(plan.Totals) != 4 {
		t.Fatalf("plan: %d points, %d in totals, %d shards", len(plan.Points), counted, len(plan.Totals))
	}
	// cnn2 n=32 alone is more than a quarter of the work: it gets a shard to itself.
	if plan.Points[6].Point != "n=32" || plan.Totals[plan.Points[6].Shard].Points != 1 {
		t.Errorf("cnn2 n=32 shares its shard: %+v", plan.Totals)
	}
}

func TestPlanUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts PlanOptions
		want string
	}{
		{"no shards", PlanOptions{}, "--shards 0: split the sweep into at least 1 shard"},
		{"bad format", PlanOptions{Shards: 2, Format: "yaml"}, `--format "yaml": use one of table, markdown, json`},
		{"unknown model", PlanOptions{Shards: 2, Only: []string{"cnn"}}, `--only cnn: testdata/tiny-mlp.yaml has no model "cnn"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Plan("testdata/tiny-mlp.yaml", tt.opts, &bytes.Buffer{})
			if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

func TestFormatSI(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1.00 k", 1234: "1.23 k", 45_600_000_000: "45.6 G",
		789_000_000_000_000: "789 T", 999_999: "1.00 M", math.MaxInt64: "9.22 E"} {
		if got := formatSI(n); got != want {
			t.Errorf("formatSI(%d) = %q, want %q", n, got, want)
		}
	}
}

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func recordLine(t *testing.T, key, point string, acc float64, finished time.Time) string {
	t.Helper()
	b, err := json.Marshal(Record{Key: key, Model: "m", Point: point, Status: "ok", TestAccuracy: acc, FinishedAt: finished})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A folder's results files merge: one record per key, the later finished_at wins (ties: the file
// read last), unrelated files are ignored, and a shard appends to its own file only.
func TestStoreMergesShardFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	writeLines(t, filepath.Join(dir, "results.jsonl"),
		recordLine(t, "a", "n=1", 0.1, t1), recordLine(t, "b", "n=2", 0.2, t1), recordLine(t, "e", "n=5", 0.5, t1))
	writeLines(t, filepath.Join(dir, "results-shard-000-of-002.jsonl"),
		recordLine(t, "a", "n=1", 0.11, t2), recordLine(t, "c", "n=3", 0.3, t0), recordLine(t, "e", "n=5", 0.55, t1))
	shard1 := filepath.Join(dir, "results-shard-001-of-002.jsonl")
	writeLines(t, shard1, recordLine(t, "b", "n=2", 0.22, t0), `{"key": "torn`, recordLine(t, "d", "n=4", 0.4, t0))
	writeLines(t, filepath.Join(dir, "results-old.jsonl"), recordLine(t, "x", "n=9", 0.9, t2))
	os.Mkdir(filepath.Join(dir, "results-shard-009-of-010.jsonl"), 0o755) // a folder, not a file

	s, bad, err := OpenShardStore(dir, Shard{Index: 1, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].File != shard1 || bad[0].Line != 2 {
		t.Fatalf("corrupt lines: %+v, want line 2 of %s", bad, shard1)
	}
	var got []string
	for _, r := range s.Records() {
		got = append(got, fmt.Sprintf("%s=%g", r.Key, r.TestAccuracy))
	}
	// a: shard 0's is later; b: results.jsonl's is later; e: equal times, shard 0 is read last.
	if want := []string{"a=0.11", "b=0.2", "e=0.55", "c=0.3", "d=0.4"}; !slices.Equal(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	before := map[string][]byte{}
	for _, f := range []string{"results.jsonl", "results-shard-000-of-002.jsonl"} {
		before[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	if err := s.Append(Record{Key: "f", Model: "m", Point: "n=6", Status: "ok", FinishedAt: t2}); err != nil {
		t.Fatal(err)
	}
	for f, b := range before {
		if after, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(after, b) {
			t.Errorf("shard 1's append changed %s", f)
		}
	}
	own, _ := os.ReadFile(shard1)
	if lines := strings.Split(strings.TrimSpace(string(own)), "\n"); len(lines) != 4 || !strings.Contains(lines[3], `"key":"f"`) || lines[1] != `{"key": "torn` {
		t.Fatalf("shard 1's file after the append:\n%s", own)
	}
	all, _, err := OpenStore(dir)
	if err != nil || len(all.Records()) != 6 || all.File != ResultsFile {
		t.Fatalf("reopened: %d records, file %s, %v; want 6, results.jsonl", len(all.Records()), all.File, err)
	}
	if files, _ := ResultsFiles(dir); !slices.Equal(files, []string{"results.jsonl", "results-shard-000-of-002.jsonl", "results-shard-001-of-002.jsonl"}) {
		t.Errorf("results files %v", files)
	}
}

func TestMissingSummary(t *testing.T) {
	t.Parallel()
	one, two := 1, 2
	tests := []struct {
		name    string
		missing []missingPoint
		total   int
		shards  int
		want    string
	}{
		{"none", nil, 4, 0, ""},
		{"whole sweep", []missingPoint{{"cnn2", "n=4", nil}, {"cnn2", "n=2", nil}, {"mlp", "n=8", nil}}, 7, 0,
			"Not trained yet: 3 of 7 points: cnn2 n=4, n=2; mlp n=8."},
		{"shards", []missingPoint{{"cnn2", "n=4", &two}, {"cnn2", "n=2", &one}, {"mlp", "n=8", &one}, {"mlp", "n=4", &two}}, 9, 3,
			"Not trained yet: 4 of 9 points: shard 1/3 (cnn2 n=2; mlp n=8), shard 2/3 (cnn2 n=4; mlp n=4)."},
	}
	var many []missingPoint
	for i := range 15 {
		many = append(many, missingPoint{"m", "n=" + string(rune('a'+i)), nil})
	}
	tests = append(tests, struct {
		name    string
		missing []missingPoint
		total   int
		shards  int
		want    string
	}{"many", many, 15, 0, "Not trained yet: 15 of 15 points: m n=a, n=b, n=c, n=d, n=e, n=f, n=g, n=h, n=i, n=j, n=k, n=l and 3 more."})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := missingSummary(tt.missing, tt.total, tt.shards); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Every shard writes the same manifest, listing all points with the shards that `nnsweep plan`
// gives them; a shard's first line says which points it holds.
func TestShardManifestMatchesPlan(t *testing.T) {
	t.Parallel()
	var planOut bytes.Buffer
	if err := Plan("testdata/tiny-mlp.yaml", PlanOptions{Shards: 2, Format: "json", LimitTrain: 2000}, &planOut); err != nil {
		t.Fatal(err)
	}
	var plan PlanJSON
	json.Unmarshal(planOut.Bytes(), &plan)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // write the manifest, train nothing
	var manifests [2][]byte
	for i := range manifests {
		dir := t.TempDir()
		var stderr bytes.Buffer
		err := Run(ctx, "testdata/tiny-mlp.yaml", RunOptions{Out: dir, LimitTrain: 2000, Progress: "none", Shard: Shard{i, 2, "--shard"}}, &bytes.Buffer{}, &stderr)
		if ExitCode(err) != ExitInterrupted {
			t.Fatalf("shard %d: %v", i, err)
		}
		if want := fmt.Sprintf("shard %d/2 (from --shard) holds 1 of 2 points; 1 point to train", i); !strings.Contains(stderr.String(), want) {
			t.Errorf("shard %d's log lacks %q:\n%s", i, want, stderr.String())
		}
		manifests[i], _ = os.ReadFile(filepath.Join(dir, ManifestFile))
	}
	if !bytes.Equal(manifests[0], manifests[1]) {
		t.Fatalf("the shards' manifests differ:\n%s\n%s", manifests[0], manifests[1])
	}
	var mf Manifest
	json.Unmarshal(manifests[0], &mf)
	if mf.Shards != 2 || len(mf.Models) != 1 || len(mf.Models[0].Points) != len(plan.Points) {
		t.Fatalf("manifest: %d shards, %+v", mf.Shards, mf.Models)
	}
	for i, p := range mf.Models[0].Points {
		if p.Shard == nil || *p.Shard != plan.Points[i].Shard || p.Cost != plan.Points[i].Cost || p.Label != plan.Points[i].Point {
			t.Errorf("point %s: manifest shard %v cost %d, plan shard %d cost %d", p.Label, p.Shard, p.Cost, plan.Points[i].Shard, plan.Points[i].Cost)
		}
	}
}
