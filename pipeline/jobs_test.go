package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Under AutoJobs the seeds of a point train at once, one per core, fewer where they do not fit
// in memory together; an explicit --jobs, or one core, decides otherwise.
func TestSeedsAtOnce(t *testing.T) {
	t.Parallel()
	e, err := Load("../examples/mnist-seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var largest float64 // one training of the MLP's largest point, n=512
	for _, j := range (&runState{e: e}).plan() {
		if j.model.Name == "mlp" {
			largest = max(largest, pointBytes(j))
		}
	}
	if largest <= 0 {
		t.Fatal("the MLP's points have no size")
	}
	tight := int64(1.5 * largest) // n=512 fits once, the smaller points twice
	for _, tt := range []struct {
		name   string
		opts   RunOptions
		cpus   int
		memory int64
		want   map[string]int // point → seeds at once, for the MLP
	}{
		{"auto, 2 cores", RunOptions{AutoJobs: true}, 2, 0, map[string]int{"n=512": 2, "n=128": 2, "n=64": 2, "n=16": 2}},
		{"auto, 4 cores", RunOptions{AutoJobs: true}, 4, 0, map[string]int{"n=512": 3, "n=64": 3, "n=16": 3}},
		{"auto, 2 cores, memory for one n=512", RunOptions{AutoJobs: true}, 2, tight, map[string]int{"n=512": 1, "n=256": 2, "n=16": 2}},
		{"auto, 1 core", RunOptions{AutoJobs: true}, 1, 0, map[string]int{"n=64": 1, "n=16": 1}},
		{"--jobs 1", RunOptions{AutoJobs: true, Jobs: 1}, 2, 0, map[string]int{"n=64": 1, "n=16": 1}},
		{"--jobs 2", RunOptions{AutoJobs: true, Jobs: 2}, 1, 0, map[string]int{"n=512": 2, "n=16": 2}},
		{"--jobs 8", RunOptions{Jobs: 8}, 2, 0, map[string]int{"n=512": 3, "n=16": 3}},
		{"library default", RunOptions{}, 2, 0, map[string]int{"n=16": 1}},
		{"--dump-steps", RunOptions{AutoJobs: true, DumpSteps: "dump"}, 2, 0, map[string]int{"n=16": 1}},
	} {
		r := &runState{e: e, opts: tt.opts, cpus: tt.cpus, memoryBytes: tt.memory}
		got := map[string]int{}
		for _, j := range r.plan() {
			if j.model.Name == "mlp" {
				got[j.point.String()] = r.seedsAtOnce(j)
			}
		}
		for p, want := range tt.want {
			if got[p] != want {
				t.Errorf("%s: %s trains %d seeds at once, want %d", tt.name, p, got[p], want)
			}
		}
	}
	r := &runState{e: e, opts: RunOptions{AutoJobs: true}, cpus: 2}
	line := r.jobsChoice(r.plan())
	if want := "jobs: the seeds of a point train at once, up to 2 (one per core): two trainings side by side"; !strings.HasPrefix(line, want) {
		t.Errorf("jobs line:\n%s\nwant it to start\n%s", line, want)
	}
	if strings.Contains(line, "fewer") {
		t.Errorf("jobs line names points apart when all fit: %s", line)
	}
	r.memoryBytes = tight
	var mlp []job
	for _, j := range r.plan() {
		if j.model.Name == "mlp" {
			mlp = append(mlp, j)
		}
	}
	if line := r.jobsChoice(mlp); !strings.Contains(line, "fewer where they do not fit in memory together (at once: mlp n=512 1)") {
		t.Errorf("jobs line with memory for one n=512: %s", line)
	}
	r.memoryBytes = 0
	r.slots = make(chan struct{}, 2)
	if line := r.jobsChoice(r.plan()); !strings.Contains(line, "jobs: the models train at once, up to 2 trainings (one per core); the seeds of a point train at once") {
		t.Errorf("jobs line with the models at once: %s", line)
	}
	r.slots = nil
	r.cpus = 1
	if line := r.jobsChoice(r.plan()); !strings.Contains(line, "one core") {
		t.Errorf("jobs line on one core: %s", line)
	}
}

// With --jobs left out the seeds of a point train at once, with the same results as one
// at a time, each stored once; the run says what it chose.
func TestRunAutoJobs(t *testing.T) {
	t.Parallel()
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	spec := filepath.Join(t.TempDir(), "repeats.yaml")
	src = bytes.Replace(src, []byte("target: {min: 0.8}"), []byte("target: {min: 0.5}\nrepeats: 2"), 1)
	os.WriteFile(spec, src, 0o644)
	one, auto := t.TempDir(), t.TempDir()
	runTiny(t, spec, one, RunOptions{Jobs: 1})
	log := runTiny(t, spec, auto, RunOptions{AutoJobs: true})
	if !strings.Contains(log, "jobs: ") {
		t.Fatalf("the run does not say what it chose:\n%s", log)
	}
	if n := sameResults(t, one, auto); n != 4 {
		t.Fatalf("%d records, want 4", n)
	}
	t.Log(log)
}

// sameResults checks that the folder at holds exactly the records of the folder one (trained one
// at a time), each once and with the same test loss, and returns how many there are.
func sameResults(t *testing.T, one, at string) int {
	t.Helper()
	a, b := openStore(t, one).Records(), openStore(t, at).Records()
	if len(a) != len(b) {
		t.Fatalf("%d records one at a time, %d at once", len(a), len(b))
	}
	loss := map[string]float64{}
	for _, r := range a {
		loss[r.Key] = r.TestLoss
	}
	seen := map[string]bool{}
	for _, r := range b {
		if seen[r.Key] {
			t.Errorf("%s %s seed %d stored twice", r.Model, r.Point, r.Seed)
		}
		seen[r.Key] = true
		if l, ok := loss[r.Key]; !ok || l != r.TestLoss {
			t.Errorf("%s %s seed %d: loss %v at once, %v (found %v) one at a time", r.Model, r.Point, r.Seed, r.TestLoss, l, ok)
		}
	}
	return len(b)
}

// With --jobs left out on two cores, the models of a run train at once: the first two trainings
// run side by side (each waits, up to a minute, for the other to start), never more than two at
// a time, and every result is the one a run of one training at a time stores, each stored once.
func TestRunModelsAtOnce(t *testing.T) {
	t.Parallel()
	spec := filepath.Join(t.TempDir(), "two.yaml")
	os.WriteFile(spec, []byte(`name: two-models
dataset: mnist
target: {min: 0.6}
search: bisect
train: {epochs: 1, batch_size: 32, optimizer: {name: adam, learning_rate: 0.01}, seed: 3}
models:
  - name: wide
    sweep: {n: [2, 4, 8, 16]}
    layers: [{maxpool2d: {pool: 2}}, {flatten: {}}, {dense: {units: n, activation: tanh}}, {dense: {units: 10, activation: softmax}}]
  - name: deep
    sweep: {n: [2, 4, 8, 16]}
    layers: [{maxpool2d: {pool: 2}}, {flatten: {}}, {dense: {units: n, activation: tanh}}, {dense: {units: n, activation: tanh}}, {dense: {units: 10, activation: softmax}}]
`), 0o644)
	one, auto := t.TempDir(), t.TempDir()
	runTiny(t, spec, one, RunOptions{Jobs: 1})
	var mu sync.Mutex
	running, most, started := 0, 0, 0
	both := make(chan struct{})
	onTrain := func(start bool) {
		mu.Lock()
		if !start {
			running--
			mu.Unlock()
			return
		}
		running++
		most = max(most, running)
		started++
		if started == 2 {
			close(both)
		}
		first := started <= 2
		mu.Unlock()
		if first {
			select {
			case <-both:
			case <-time.After(time.Minute):
				t.Error("the first training waited a minute for a second one to start beside it")
			}
		}
	}
	log := runTiny(t, spec, auto, RunOptions{AutoJobs: true, cpus: 2, onTrain: onTrain})
	if !strings.Contains(log, "the models train at once, up to 2 trainings") {
		t.Fatalf("the run does not say the models train at once:\n%s", log)
	}
	if most != 2 {
		t.Fatalf("at most %d trainings ran at once, want 2:\n%s", most, log)
	}
	if n := sameResults(t, one, auto); n < 4 {
		t.Fatalf("%d records, want 4 or more", n)
	}
}
