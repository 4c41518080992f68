package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/runner"
)

// runTiny trains testdata/tiny-mlp.yaml (or the spec at path) on the first 2,000 MNIST images
// into dir and returns stderr.
func runTiny(t *testing.T, path, dir string, opts RunOptions) string {
	t.Helper()
	opts.Out = dir
	opts.LimitTrain = 2000
	opts.Progress = "lines"
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), path, opts, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, bad, err := OpenStore(dir)
	if err != nil || len(bad) > 0 {
		t.Fatalf("open store: %v %v", err, bad)
	}
	return s
}

// One epoch on 2,000 images lifts a seeded MLP far above chance (10%): this seed reaches 79.9%
// here; the floor of 75% leaves room for differences in float rounding between machines.
func TestRunTrainsAboveFloor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: map[string][]int64{"n": {32}}})
	recs := openStore(t, dir).Records()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Status != "ok" || r.TestAccuracy < 0.75 {
		t.Fatalf("n=32 after one epoch on 2,000 images: status %s, test accuracy %.4f, want ok and ≥ 0.75", r.Status, r.TestAccuracy)
	}
	if r.Params != 784*32+32+32*10+10 || r.Point != "n=32" || r.TrainExamples != 2000 || len(r.History) != 1 {
		t.Errorf("record: params %d, point %s, examples %d, history %d", r.Params, r.Point, r.TrainExamples, len(r.History))
	}
	for _, f := range []string{"report.md", "chart.png", "chart.svg", ManifestFile, ResultsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// The same spec and seed give identical metrics and history; another seed does not.
func TestRunDeterministic(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", a, RunOptions{Points: map[string][]int64{"n": {8}}})
	runTiny(t, "testdata/tiny-mlp.yaml", b, RunOptions{Points: map[string][]int64{"n": {8}}})
	ra, rb := openStore(t, a).Records()[0], openStore(t, b).Records()[0]
	if ra.TestAccuracy != rb.TestAccuracy || ra.TestLoss != rb.TestLoss || !reflect.DeepEqual(stripTimes(ra.History), stripTimes(rb.History)) {
		t.Fatalf("two runs differ: %v/%v vs %v/%v", ra.TestAccuracy, ra.TestLoss, rb.TestAccuracy, rb.TestLoss)
	}
	if ra.Key != rb.Key {
		t.Fatalf("keys differ: %s %s", ra.Key, rb.Key)
	}
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	other := filepath.Join(t.TempDir(), "seed8.yaml")
	os.WriteFile(other, bytes.Replace(src, []byte("seed: 7"), []byte("seed: 8"), 1), 0o644)
	c := t.TempDir()
	runTiny(t, other, c, RunOptions{Points: map[string][]int64{"n": {8}}})
	rc := openStore(t, c).Records()[0]
	if rc.TestLoss == ra.TestLoss || rc.Key == ra.Key {
		t.Fatalf("seed 8 gives the same loss %v or key as seed 7", rc.TestLoss)
	}
}

func stripTimes(h []runner.Epoch) []runner.Epoch {
	out := append([]runner.Epoch(nil), h...)
	for i := range out {
		out[i].Seconds = 0
	}
	return out
}

// A second run skips stored points; a changed setting retrains only the points it affects;
// --force retrains.
func TestRunResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(t.TempDir(), "tiny.yaml")
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	os.WriteFile(spec, src, 0o644)
	runTiny(t, spec, dir, RunOptions{})
	if n := len(openStore(t, dir).Records()); n != 2 {
		t.Fatalf("%d records after the first run, want 2", n)
	}
	log := runTiny(t, spec, dir, RunOptions{})
	if !strings.Contains(log, "0 points to train, 2 already stored") || strings.Contains(log, ": training 1 epoch\n") {
		t.Fatalf("second run trained again:\n%s", log)
	}
	// Only n=8 changes: the first hidden layer becomes n+1 wide for n=8 and stays 32 for n=32.
	os.WriteFile(spec, bytes.Replace(src, []byte("units: n,"), []byte("units: \"n + (32-n)*0\","), 1), 0o644)
	log = runTiny(t, spec, dir, RunOptions{})
	if !strings.Contains(log, "0 points to train, 2 already stored") {
		t.Fatalf("an equivalent width expression retrained:\n%s", log)
	}
	os.WriteFile(spec, bytes.Replace(src, []byte("sweep:\n  n: [32, 8]"), []byte("sweep:\n  n: [32, 8, 4]"), 1), 0o644)
	log = runTiny(t, spec, dir, RunOptions{})
	if !strings.Contains(log, "1 point to train, 2 already stored") {
		t.Fatalf("adding n=4 should train one point:\n%s", log)
	}
	log = runTiny(t, spec, dir, RunOptions{Force: true, Points: map[string][]int64{"n": {4}}})
	if !strings.Contains(log, "n=4 (") || len(openStore(t, dir).Records()) != 3 {
		t.Fatalf("--force did not retrain n=4 in place:\n%s", log)
	}
}

// A corrupt line in results.jsonl is reported and skipped; the run and the report go on.
func TestRunCorruptLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: map[string][]int64{"n": {8}}})
	path := filepath.Join(dir, ResultsFile)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{\"key\": \"truncated by a cr\n")
	f.Close()
	log := runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{})
	if !strings.Contains(log, "results.jsonl line 2 is not a readable result and is ignored") {
		t.Fatalf("corrupt line not reported:\n%s", log)
	}
	s, bad, err := OpenStore(dir)
	if err != nil || len(bad) != 1 || len(s.Records()) != 2 {
		t.Fatalf("after the run: %d records, %d bad lines, %v; want 2, 1 (kept), nil", len(s.Records()), len(bad), err)
	}
	var out bytes.Buffer
	if err := Report([]string{dir}, ReportOptions{Format: "json"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"point": "n=32"`) {
		t.Fatalf("report lacks n=32:\n%s", out.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts RunOptions
		want string
	}{
		{"unknown model", RunOptions{Only: []string{"cnn"}}, `--only cnn: testdata/tiny-mlp.yaml has no model "cnn" (it has tiny-mlp)`},
		{"unknown variable", RunOptions{Points: map[string][]int64{"m": {2}}}, "--points m: no selected model uses a sweep variable m"},
		{"no point", RunOptions{Points: map[string][]int64{"n": {3}}}, "--points selects no point of the sweep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Out = t.TempDir()
			err := Run(context.Background(), "testdata/tiny-mlp.yaml", tt.opts, &bytes.Buffer{}, &bytes.Buffer{})
			var usage *UsageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) || ExitCode(err) != ExitUsage {
				t.Fatalf("err = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

// A cancelled context stops the run; what finished is stored and the error maps to exit 130.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, "testdata/tiny-mlp.yaml", RunOptions{Out: dir, LimitTrain: 2000, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitInterrupted {
		t.Fatalf("err = %v (exit %d), want an interruption", err, ExitCode(err))
	}
	e, err := loadReport(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range e.Models[0].Points {
		if p.Status != report.StatusPending {
			t.Fatalf("point %s is %s after an immediate interruption", p.Label, p.Status)
		}
	}
}

// --engine stock trains with gorgonia's own operations under its own key; an unknown engine is
// a usage error.
func TestRunEngines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: map[string][]int64{"n": {8}}})
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: map[string][]int64{"n": {8}}, Engine: "stock"})
	recs := openStore(t, dir).Records()
	if len(recs) != 2 || recs[0].Key == recs[1].Key {
		t.Fatalf("%d records; the stock engine must train under its own key", len(recs))
	}
	if d := recs[0].TestAccuracy - recs[1].TestAccuracy; d > 0.02 || d < -0.02 {
		t.Errorf("fast %.4f and stock %.4f differ by more than 2 points", recs[0].TestAccuracy, recs[1].TestAccuracy)
	}
	err := Run(context.Background(), "testdata/tiny-mlp.yaml", RunOptions{Out: t.TempDir(), Engine: "gpu"}, &bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), `unknown engine "gpu"`) {
		t.Fatalf("err = %v", err)
	}
}

// --jobs 2 trains two points at once with the same results as one at a time.
func TestRunJobs(t *testing.T) {
	t.Parallel()
	one, two := t.TempDir(), t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", one, RunOptions{})
	log := runTiny(t, "testdata/tiny-mlp.yaml", two, RunOptions{Jobs: 2})
	a, b := openStore(t, one).Records(), openStore(t, two).Records()
	if len(a) != 2 || len(b) != 2 || strings.Count(log, "test accuracy") != 2 {
		t.Fatalf("%d and %d records; log:\n%s", len(a), len(b), log)
	}
	byKey := map[string]float64{}
	for _, r := range a {
		byKey[r.Key] = r.TestLoss
	}
	for _, r := range b {
		if loss, ok := byKey[r.Key]; !ok || loss != r.TestLoss {
			t.Errorf("%s: loss %v with --jobs 2, %v (found %v) one at a time", r.Point, r.TestLoss, loss, ok)
		}
	}
}

// With every recipe setting, augmentation included, --jobs 2 gives the results of one point at
// a time, it learns (2,000 augmented images, one epoch), and the report lists the recipe.
func TestRunJobsRecipe(t *testing.T) {
	t.Parallel()
	one, two := t.TempDir(), t.TempDir()
	runTiny(t, "testdata/tiny-recipe.yaml", one, RunOptions{})
	runTiny(t, "testdata/tiny-recipe.yaml", two, RunOptions{Jobs: 2})
	a, b := openStore(t, one).Records(), openStore(t, two).Records()
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("%d and %d records", len(a), len(b))
	}
	byKey := map[string]float64{}
	for _, r := range a {
		byKey[r.Key] = r.TestLoss
	}
	for _, r := range b {
		if loss, ok := byKey[r.Key]; !ok || loss != r.TestLoss || r.TestAccuracy < 0.2 { // chance is 0.1
			t.Errorf("%s: loss %v (accuracy %v) with --jobs 2, %v (found %v) one at a time", r.Point, r.TestLoss, r.TestAccuracy, loss, ok)
		}
	}
	md, err := os.ReadFile(filepath.Join(two, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := "Training recipe: weight_decay 0.004; schedule onecycle (pct_start 0.3, div_factor 25, final_div_factor 10000, anneal_strategy cos, warmup_epochs 0.1); label_smoothing 0.1; augment shift ±2 px, rotate ±10°, zoom ±0.1\n"
	if !strings.Contains(string(md), want) {
		t.Errorf("the report lacks %q", want)
	}
}
