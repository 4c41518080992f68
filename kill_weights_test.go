package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/pipeline"
	"github.com/nnsweep/nnsweep/safetensors"
)

// A run killed with SIGKILL at any moment leaves no result without its weights: the sweep of
// testdata/many-points.yaml (twenty points of a few tens of milliseconds each, much of it the
// writing of results and weights) is killed eight times, each time at a random moment up to 60 ms
// after its run stored a new result (whatever the machine's load, every run gets somewhere), and
// resumed; after every kill each stored record names a weights file that is whole and holds that
// record's key. The moment between a training's weights and its result is too short for a kill
// to be sure to land in it; pipeline's TestWeightsBeforeResult checks their order itself.
func TestKillLeavesNoResultWithoutWeights(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"run", "testdata/many-points.yaml", "--out", dir, "--limit-train", "64", "--progress", "none"}
	rng := rand.New(rand.NewPCG(16, 16))
	kills := 0
	for {
		before := stored(dir)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kills == 8 {
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
			checkWeights(t, dir)
			break
		}
		finished := false
		deadline := time.Now().Add(2 * time.Minute)
		for !finished && stored(dir) == before && time.Now().Before(deadline) {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				finished = true
			case <-time.After(5 * time.Millisecond):
			}
		}
		if !finished {
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
		checkWeights(t, dir)
		if finished {
			break
		}
	}
	if n := stored(dir); n != 20 || kills < 3 {
		t.Fatalf("%d results after %d kills; want all 20, after at least 3 kills", n, kills)
	}
	t.Logf("%d kills", kills)
}

// stored counts the results of dir.
func stored(dir string) int {
	st, _, err := pipeline.OpenStore(dir)
	if err != nil {
		return 0
	}
	return len(st.Records())
}

// checkWeights fails the test when a record of dir names no weights file, or one that is not
// whole or holds another key.
func checkWeights(t *testing.T, dir string) {
	t.Helper()
	st, _, err := pipeline.OpenStore(dir) // a torn last line is skipped, as every reader does
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Records() {
		if r.Weights == "" {
			t.Fatalf("%s: no weights named", r.Point)
		}
		b, err := os.ReadFile(filepath.Join(dir, r.Weights))
		if err != nil {
			t.Fatalf("%s: %v", r.Point, err)
		}
		f, err := safetensors.Decode(b)
		if err != nil {
			t.Fatalf("%s: %s: %v", r.Point, r.Weights, err)
		}
		if f.Metadata["key"] != r.Key {
			t.Fatalf("%s: %s holds the weights of %q, not %q", r.Point, r.Weights, f.Metadata["key"], r.Key)
		}
	}
}
