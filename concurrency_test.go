package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nnsweep/nnsweep/pipeline"
)

// ended is how one of the processes of a concurrency test ended.
type ended struct {
	log  string
	code int
}

// startTogether runs the commands at once and waits for all of them.
func startTogether(t *testing.T, cmds []*exec.Cmd) []ended {
	t.Helper()
	out := make([]ended, len(cmds))
	bufs := make([]bytes.Buffer, len(cmds))
	for i, c := range cmds {
		c.Stdout, c.Stderr = &bufs[i], &bufs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Go(func() {
			err := c.Wait()
			out[i].code = 0
			if x, ok := err.(*exec.ExitError); ok {
				out[i].code = x.ExitCode()
			} else if err != nil {
				out[i].code = -1
			}
		})
	}
	wg.Wait()
	for i := range out {
		out[i].log = bufs[i].String()
	}
	return out
}

func logs(ends []ended) []string {
	var out []string
	for _, e := range ends {
		out = append(out, e.log)
	}
	return out
}

// storedOnce checks that every point of dir's manifest is stored exactly once in the folder's
// results files, and returns how many points it has.
func storedOnce(t *testing.T, dir string) int {
	t.Helper()
	var mf pipeline.Manifest
	if b, err := os.ReadFile(filepath.Join(dir, pipeline.ManifestFile)); err != nil || json.Unmarshal(b, &mf) != nil || len(mf.Models) != 1 {
		t.Fatalf("manifest: %v", err)
	}
	for _, p := range mf.Models[0].Points {
		total := 0
		for _, n := range countKey(t, dir, p.Key) {
			total += n
		}
		if total != 1 {
			t.Errorf("%s is stored %d times, want once", p.Label, total)
		}
	}
	return len(mf.Models[0].Points)
}

// Two and four `nnsweep run` processes started at once into one folder: the shards of one sweep
// all finish and store every point exactly once; processes that would write the same results
// file are refused with the PID that holds it (or find the points already stored), and no result
// is lost or stored twice; a different spec is refused.
func TestConcurrentRunsIntoOneFolder(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	args := func(dir string, more ...string) []string {
		return append([]string{"run", "testdata/shards.yaml", "--out", dir, "--limit-train", "500", "--progress", "lines"}, more...)
	}
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) { runShardsTogether(t, bin, args, n) })
		t.Run(fmt.Sprintf("%d runs of one spec", n), func(t *testing.T) { runSpecTogether(t, bin, args, n) })
		t.Run(fmt.Sprintf("%d runs of parts of a sweep", n), func(t *testing.T) { runPartsTogether(t, bin, args, n) })
	}
	t.Run("two specs", func(t *testing.T) { runTwoSpecs(t, bin, args) })
}

// runShardsTogether checks that n shards of one sweep run at once store every point once.
func runShardsTogether(t *testing.T, bin string, args func(dir string, more ...string) []string, n int) {
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := range n {
		cmds = append(cmds, exec.Command(bin, args(dir, "--shard", fmt.Sprintf("%d/%d", i, n))...))
	}
	for i, e := range startTogether(t, cmds) {
		if e.code != 0 {
			t.Fatalf("shard %d/%d: exit %d\n%s", i, n, e.code, e.log)
		}
	}
	if got := storedOnce(t, dir); got != 6 {
		t.Fatalf("%d points in the manifest, want 6", got)
	}
}

// runSpecTogether checks that of n runs of one spec started at once, each point is trained once
// and the runs that find the results file in use are refused.
func runSpecTogether(t *testing.T, bin string, args func(dir string, more ...string) []string, n int) {
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for range n {
		cmds = append(cmds, exec.Command(bin, args(dir)...))
	}
	trained := 0
	ends := startTogether(t, cmds)
	for i, e := range ends {
		switch {
		case e.code == 0:
			trained++
		case e.code == pipeline.ExitFailure && strings.Contains(e.log, "results.jsonl is already in use by PID "):
		default:
			t.Fatalf("run %d: exit %d, neither a success nor a refusal:\n%s", i, e.code, e.log)
		}
	}
	if trained == 0 {
		t.Fatal("every run was refused")
	}
	storedOnce(t, dir)
	if n := strings.Count(strings.Join(logs(ends), ""), " params): test accuracy "); n != 6 {
		t.Errorf("%d trainings of 6 points: a point was trained twice", n)
	}
}

// runPartsTogether checks that n runs of parts of a sweep started at once keep what each stored.
func runPartsTogether(t *testing.T, bin string, args func(dir string, more ...string) []string, n int) {
	// The values of n, split into parts: --points n=24,16,12 and n=8,6,4 for two runs.
	values := []string{"24", "16", "12", "8", "6", "4"}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var parts []string
	for i := range n {
		part := strings.Join(values[i*len(values)/n:(i+1)*len(values)/n], ",")
		parts = append(parts, part)
		cmds = append(cmds, exec.Command(bin, args(dir, "--points", "n="+part)...))
	}
	for i, e := range startTogether(t, cmds) {
		refused := e.code == pipeline.ExitFailure && strings.Contains(e.log, "results.jsonl is already in use by PID ")
		if e.code != 0 && !refused {
			t.Fatalf("run %d: exit %d, neither a success nor a refusal:\n%s", i, e.code, e.log)
		}
		if e.code != 0 {
			continue
		}
		// What a run stored is still there: run again, it has nothing to train.
		want := fmt.Sprintf("0 points to train, %d already stored", strings.Count(parts[i], ",")+1)
		if out, err := exec.Command(bin, args(dir, "--points", "n="+parts[i])...).CombinedOutput(); err != nil || !strings.Contains(string(out), want) {
			t.Errorf("the points n=%s of run %d are not all stored (%v):\n%s", parts[i], i, err, out)
		}
	}
}

// runTwoSpecs checks that of two specs run into one folder at once, one runs and the other is
// refused.
func runTwoSpecs(t *testing.T, bin string, args func(dir string, more ...string) []string) {
	dir := t.TempDir()
	ends := startTogether(t, []*exec.Cmd{exec.Command(bin, args(dir)...),
		exec.Command(bin, "run", "testdata/three-points.yaml", "--out", dir, "--limit-train", "500", "--epochs", "1", "--progress", "lines")})
	ok := 0
	for i, e := range ends {
		refused := strings.Contains(e.log, "already in use by PID") || strings.Contains(e.log, "--allow-other-spec")
		switch {
		case e.code == 0:
			ok++
		case !refused:
			t.Fatalf("run %d: exit %d, neither a success nor a refusal:\n%s", i, e.code, e.log)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of the two specs ran, want one", ok)
	}
	if out, err := exec.Command(bin, "report", dir).CombinedOutput(); err != nil || strings.Contains(string(out), "Not trained yet") {
		t.Fatalf("report of the spec that ran: %v\n%s", err, out)
	}
}
