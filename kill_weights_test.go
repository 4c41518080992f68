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
// testdata/many-points.yaml (twenty points of a few tens of milliseconds each, most of it the
// writing of results and weights) is killed again and again at random moments, resumed each
// time, and after every kill each stored record names a weights file that is whole and holds
// that record's key.
func TestKillLeavesNoResultWithoutWeights(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"run", "testdata/many-points.yaml", "--out", dir, "--limit-train", "64", "--progress", "none"}
	rng := rand.New(rand.NewPCG(16, 16))
	kills, midway := 0, 0
	for try := 0; try < 40; try++ {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var finished bool
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			finished = true
		case <-time.After(time.Duration(200+rng.IntN(500)) * time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			if n := stored(dir); n > 0 && n < 20 {
				midway++
			}
		}
		checkWeights(t, dir)
		if finished {
			break
		}
	}
	st, _, err := pipeline.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Records()); n != 20 || kills < 3 {
		t.Fatalf("%d results after %d kills; want all 20, after at least 3 kills", n, kills)
	}
	t.Logf("%d kills, %d of them mid-sweep", kills, midway)
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
