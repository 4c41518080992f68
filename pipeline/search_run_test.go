package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/report"
)

// bisect trains fewer points than the grid and finds the grid's turning point, or explains why
// accuracy did not let it; the grid run afterwards reuses every point the search trained.
func TestRunBisectMatchesGrid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := runTiny(t, "testdata/tiny-bisect.yaml", dir, RunOptions{})
	if !strings.Contains(log, "bisect trains only those it needs") || !strings.Contains(log, "tiny-bisect: bisect evaluated") {
		t.Fatalf("no bisect in the log:\n%s", log)
	}
	searched := len(openStore(t, dir).Records())
	bis, err := loadReport(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := bis.Models[0]
	if m.Search == nil || m.Search.Trained != searched || m.Search.GridPoints != 12 || searched >= 12 {
		t.Fatalf("search info %+v after %d trainings", m.Search, searched)
	}
	skipped := 0
	for _, p := range m.Points {
		if p.Status == report.StatusSkipped {
			skipped++
		}
	}
	if skipped != 12-searched {
		t.Fatalf("%d points marked skipped, want %d", skipped, 12-searched)
	}

	// The same sweep as a grid (--search grid), in the same folder: it trains only what the
	// search skipped.
	log = runTiny(t, "testdata/tiny-bisect.yaml", dir, RunOptions{Search: "grid"})
	if !strings.Contains(log, plural(12-searched, "point")+" to train") {
		t.Fatalf("the grid retrained points the search had trained:\n%s", log)
	}
	full, err := loadReport(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	g := full.Models[0]
	tpGrid, tpBis := report.TurningPoint(g, full.Target), report.TurningPoint(m, bis.Target)
	// Is accuracy monotone around the target (every point below the grid's turning point misses,
	// every point above meets)? Then the search must agree exactly.
	monotone := true
	for i, p := range g.Points {
		meets := p.Accuracy >= full.Target
		if tpGrid.Found {
			monotone = monotone && (meets == (i >= tpGrid.Index))
		}
	}
	switch {
	case monotone && (tpGrid.Found != tpBis.Found || tpGrid.Label != tpBis.Label):
		t.Fatalf("grid turning point %q (found %v), bisect %q (found %v)", tpGrid.Label, tpGrid.Found, tpBis.Label, tpBis.Found)
	case !monotone && tpBis.Found && tpBis.Accuracy < full.Target:
		t.Fatalf("bisect's turning point %s misses the target", tpBis.Label)
	}
	t.Logf("grid: %s; bisect: %s with %d of 12 trainings; monotone %v", tpGrid.Label, tpBis.Label, searched, monotone)

	// The search again over the grid's folder trains nothing, and its report measures what the
	// grid cost instead of estimating it.
	log = runTiny(t, "testdata/tiny-bisect.yaml", dir, RunOptions{Search: "bisect"})
	if !strings.Contains(log, "0 points to train (bisect trains only those it needs), 12 already stored") {
		t.Fatalf("the search over the grid's results trained:\n%s", log)
	}
	recs := openStore(t, dir).Records()
	if len(recs) != 12 {
		t.Fatalf("%d records after the search, the grid and the search again, want 12", len(recs))
	}
	again, err := loadReport(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s := again.Models[0].Search
	grid := 0.0
	for _, r := range recs {
		grid += r.TrainSeconds
	}
	if s == nil || s.Trained != searched || math.Abs(s.GridSeconds-grid) > 1e-9*grid || grid == 0 {
		t.Fatalf("search info %+v, want %d points trained and the grid's %v s measured", s, searched, grid)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "(measured: its results are in this folder)") {
		t.Fatalf("the report does not say the grid's time was measured:\n%s", md)
	}
}

// A search over repeated points trains each seed of a point it evaluates once and stores it once,
// the seeds of its small points at once (--jobs left out), and its report counts the trainings.
func TestRunBisectRepeats(t *testing.T) {
	t.Parallel()
	src, _ := os.ReadFile("testdata/tiny-bisect.yaml")
	spec := filepath.Join(t.TempDir(), "repeats.yaml")
	src = bytes.Replace(src, []byte("target: {min: 0.75}"), []byte("target: {min: 0.75}\nrepeats: 2"), 1)
	src = bytes.Replace(src, []byte("from: 1, to: 12"), []byte("from: 1, to: 8"), 1)
	os.WriteFile(spec, src, 0o644)
	dir := t.TempDir()
	log := runTiny(t, spec, dir, RunOptions{AutoJobs: true})
	recs := openStore(t, dir).Records()
	keys := map[string]bool{}
	points := map[string]int{}
	for _, r := range recs {
		if keys[r.Key] {
			t.Errorf("%s seed %d stored twice", r.Point, r.Seed)
		}
		keys[r.Key] = true
		points[r.Point]++
	}
	for p, n := range points {
		if n != 2 {
			t.Errorf("%s has %d seeds stored, want 2", p, n)
		}
	}
	e, err := loadReport(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.Models[0].Search
	if s == nil || s.Trained != len(points) || s.Trainings != len(recs) || s.GridTrainings != 16 || s.GridSeconds != 0 {
		t.Fatalf("search info %+v after %d points, %d trainings", s, len(points), len(recs))
	}
	if !strings.Contains(log, fmt.Sprintf("bisect evaluated %d of 8 points", len(points))) {
		t.Fatalf("log:\n%s", log)
	}
}

// repeats train each point with seed, seed+1, …; the report aggregates them by the rule.
func TestRunRepeats(t *testing.T) {
	t.Parallel()
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	spec := filepath.Join(t.TempDir(), "repeats.yaml")
	src = bytes.Replace(src, []byte("target: {min: 0.8}"), []byte("target: {min: 0.5, rule: min}\nrepeats: 2"), 1)
	os.WriteFile(spec, src, 0o644)
	dir := t.TempDir()
	log := runTiny(t, spec, dir, RunOptions{Points: map[string][]int64{"n": {8}}})
	if !strings.Contains(log, "2 trainings to train") || !strings.Contains(log, "seed 8 (2 of 2)") {
		t.Fatalf("log:\n%s", log)
	}
	recs := openStore(t, dir).Records()
	if len(recs) != 2 || recs[0].Seed != 7 || recs[1].Seed != 8 || recs[0].Key == recs[1].Key || recs[0].TestLoss == recs[1].TestLoss {
		t.Fatalf("records: %+v", recs)
	}
	var out bytes.Buffer
	if err := Report([]string{dir}, ReportOptions{Format: "json"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"runs": 2`) || !strings.Contains(out.String(), `"sd":`) {
		t.Fatalf("report rows lack the repeats:\n%s", out.String())
	}
	e, _ := loadReport(dir, &bytes.Buffer{})
	if e.Rule != "min" || len(e.Models[0].Points[0].Runs) != 2 {
		t.Fatalf("rule %q, runs %d", e.Rule, len(e.Models[0].Points[0].Runs))
	}
}

// early_stop records the epochs used and the best epoch; the validation set is carved from
// the training set, so the test set stays untouched until the end.
func TestRunEarlyStop(t *testing.T) {
	t.Parallel()
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	spec := filepath.Join(t.TempDir(), "early.yaml")
	src = bytes.Replace(src, []byte("  epochs: 1\n"), []byte("  epochs: 30\n  validation_split: 0.2\n  early_stop: {patience: 1, min_delta: 0.01}\n"), 1)
	os.WriteFile(spec, src, 0o644)
	dir := t.TempDir()
	opts := RunOptions{Points: map[string][]int64{"n": {8}}, Out: dir, LimitTrain: 500, Progress: "none"}
	if err := Run(context.Background(), spec, opts, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, dir).Records()[0]
	if !r.StoppedEarly || r.Epochs >= 30 || r.MaxEpochs != 30 || r.BestEpoch < 1 || r.BestEpoch >= r.Epochs || r.TrainExamples != 500 {
		t.Fatalf("stopped early %v after %d of %d epochs, best %d, %d examples", r.StoppedEarly, r.Epochs, r.MaxEpochs, r.BestEpoch, r.TrainExamples)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "/30 (early stop)") {
		t.Fatalf("report lacks the early stop:\n%s", md)
	}
}

func TestRunBisectRefusesShards(t *testing.T) {
	t.Parallel()
	err := Run(context.Background(), "testdata/tiny-bisect.yaml", RunOptions{Out: t.TempDir(), Shard: Shard{Index: 0, Count: 2}},
		&bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "cannot be split into shards") {
		t.Fatalf("err = %v", err)
	}
}
