package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// allKindsDir trains testdata/all-kinds.yaml (every layer kind, both paddings, two seeds per
// point) once for the tests of this package, on the first 1,000 training examples.
var allKindsDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "nnsweep-all-kinds-")
	if err != nil {
		return "", err
	}
	allKindsTemp = dir
	opts := RunOptions{Out: dir, LimitTrain: 1000, Progress: "none"}
	return dir, Run(context.Background(), "testdata/all-kinds.yaml", opts, &bytes.Buffer{}, &bytes.Buffer{})
})

// allKindsTemp is the folder allKindsDir made, removed by TestMain.
var allKindsTemp string

func TestMain(m *testing.M) {
	code := m.Run()
	if allKindsTemp != "" {
		os.RemoveAll(allKindsTemp)
	}
	os.Exit(code)
}

func trainedAllKinds(t *testing.T) string {
	t.Helper()
	dir, err := allKindsDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every training's stored weights, reloaded into the evaluation graph, give back exactly the test
// accuracy and loss stored in its record.
func TestStoredWeightsReproduceTestMetrics(t *testing.T) {
	t.Parallel()
	dir := trainedAllKinds(t)
	st, _, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Records()) != 4 {
		t.Fatalf("%d records, want 4", len(st.Records()))
	}
	for _, rec := range st.Records() {
		seed := rec.Seed
		sm, err := OpenStoredModel(dir, StoredRequest{Model: rec.Model, Point: rec.Point, Seed: &seed})
		if err != nil {
			t.Fatal(err)
		}
		test, err := sm.TestData()
		if err != nil {
			t.Fatal(err)
		}
		var probs []float32
		m, err := sm.Evaluate(test, &probs)
		if err != nil {
			t.Fatal(err)
		}
		if m.Accuracy != rec.TestAccuracy || m.Loss != rec.TestLoss {
			t.Errorf("%s seed %d: reloaded weights give accuracy %v, loss %v; stored %v, %v", rec.Point, rec.Seed, m.Accuracy, m.Loss, rec.TestAccuracy, rec.TestLoss)
		}
		if len(probs) != test.N*10 {
			t.Errorf("%d probabilities for %d examples", len(probs), test.N)
		}
	}
}

// Leaving the point and the seed out picks the turning point (by the mean rule) and its best seed.
func TestOpenStoredModelDefaultsToTurningPoint(t *testing.T) {
	t.Parallel()
	dir := trainedAllKinds(t)
	sm, err := OpenStoredModel(dir, StoredRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := OpenStore(dir)
	best := -1.0
	for _, r := range st.Records() {
		if r.Point == "n=2" && r.TestAccuracy > best {
			best = r.TestAccuracy
		}
	}
	if sm.Record.Point != "n=2" || sm.Record.TestAccuracy != best || !strings.HasPrefix(sm.Chosen, "the turning point n=2 (mean rule), the best of its 2 seeds (") {
		t.Errorf("chose %s seed %d (%v): %q", sm.Record.Point, sm.Record.Seed, sm.Record.TestAccuracy, sm.Chosen)
	}
}

func TestOpenStoredModelErrors(t *testing.T) {
	t.Parallel()
	dir := trainedAllKinds(t)
	// A copy whose records name no weights, as an older build wrote them, without n=2's records.
	old := t.TempDir()
	for _, name := range []string{ManifestFile, ResultsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == ResultsFile {
			var lines []string
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var m map[string]any
				json.Unmarshal([]byte(line), &m)
				delete(m, "weights")
				if m["point"] == "n=2" {
					continue
				}
				out, _ := json.Marshal(m)
				lines = append(lines, string(out))
			}
			b = []byte(strings.Join(lines, "\n") + "\n")
		}
		os.WriteFile(filepath.Join(old, name), b, 0o644)
	}
	seed := int64(99)
	tests := []struct {
		name string
		dir  string
		req  StoredRequest
		code int
		want string
	}{
		{"no such model", dir, StoredRequest{Model: "cnn"}, ExitUsage, `--model "cnn": ` + dir + ` has no model of that name; it has all-kinds`},
		{"no such point", dir, StoredRequest{Model: "all-kinds", Point: "n=3"}, ExitUsage, `--point "n=3": model all-kinds in ` + dir + ` has no such point; its points are n=4; n=2`},
		{"no such variable", dir, StoredRequest{Point: "m=2"}, ExitUsage, "has no such point"},
		{"bad point", dir, StoredRequest{Point: "n"}, ExitUsage, "--point"},
		{"no such seed", dir, StoredRequest{Point: "n=4", Seed: &seed}, ExitUsage, "--seed 99: all-kinds n=4 in " + dir + " was trained with the seeds 3, 4 only"},
		{"no weights", old, StoredRequest{Point: "n=4"}, ExitFailure, "before weights were kept; train it again with --force: `nnsweep run testdata/all-kinds.yaml --out " + old + " --only all-kinds --points n=4 --force`"},
		{"never trained", old, StoredRequest{Point: "n=2"}, ExitFailure, "all-kinds n=2 was never trained in " + old + ": train it with `nnsweep run testdata/all-kinds.yaml --out " + old + " --only all-kinds --points n=2`"},
		{"not a folder of results", t.TempDir(), StoredRequest{}, ExitFailure, "is not an nnsweep output folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := OpenStoredModel(tt.dir, tt.req)
			if err == nil || ExitCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v (exit %d), want exit %d and %q", err, ExitCode(err), tt.code, tt.want)
			}
		})
	}
}

// Under early stopping the stored weights are the restored best epoch's, which the test set was
// evaluated with, not the last epoch's.
func TestStoredWeightsAreTheRestoredBestEpoch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Run(context.Background(), "testdata/tiny-earlystop.yaml", RunOptions{Out: dir, LimitTrain: 400, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	sm, err := OpenStoredModel(dir, StoredRequest{Point: "n=4"})
	if err != nil {
		t.Fatal(err)
	}
	if r := sm.Record; r.BestEpoch == 0 || r.BestEpoch == r.Epochs {
		t.Fatalf("best epoch %d of %d: the test wants a best epoch before the last", r.BestEpoch, r.Epochs)
	}
	test, err := sm.TestData()
	if err != nil {
		t.Fatal(err)
	}
	m, err := sm.Evaluate(test, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accuracy != sm.Record.TestAccuracy || m.Loss != sm.Record.TestLoss {
		t.Errorf("reloaded weights give accuracy %v, loss %v; stored %v, %v", m.Accuracy, m.Loss, sm.Record.TestAccuracy, sm.Record.TestLoss)
	}
}
