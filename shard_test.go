package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nnsweep/nnsweep/pipeline"
)

// TestMain clears the variables that make `nnsweep run` train one shard, so that the tests run the
// whole sweep (and set the variables themselves) even inside a Kubernetes Job or a Slurm array.
func TestMain(m *testing.M) {
	for _, v := range []string{pipeline.EnvJobIndex, pipeline.EnvShards, pipeline.EnvSlurmTaskID,
		pipeline.EnvSlurmTaskCount, pipeline.EnvSlurmTaskMin, pipeline.EnvSlurmTaskMax} {
		os.Unsetenv(v)
	}
	os.Exit(m.Run())
}

func TestPlanCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // golden file name, or "" to skip
		stderr string // substring expected in stderr
	}{
		{"plan", []string{"plan", "testdata/shards.yaml", "--shards", "3", "--limit-train", "1000"}, 0, "plan-shards", ""},
		{"plan json", []string{"plan", "testdata/shards.yaml", "--shards", "2", "--format", "json"}, 0, "plan-shards-json", ""},
		{"plan without shards", []string{"plan", "testdata/shards.yaml"}, pipeline.ExitUsage, "", "plan needs the number of shards: add --shards N"},
		{"plan bad format", []string{"plan", "testdata/shards.yaml", "--shards", "2", "--format", "csv"}, pipeline.ExitUsage, "", "use one of table, markdown, json"},
		{"run shard out of range", []string{"run", "testdata/shards.yaml", "--shard", "3/3"}, pipeline.ExitUsage, "", "--shard 3/3: shards are numbered from 0 to 2"},
		{"run shard malformed", []string{"run", "testdata/shards.yaml", "--shard", "2"}, pipeline.ExitUsage, "", `--shard "2": write the shard as I/N`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := cli(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" {
				golden(t, tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

// withEnv returns cmd with the variables added to the test's environment.
func withEnv(cmd *exec.Cmd, vars ...string) *exec.Cmd {
	cmd.Env = append(os.Environ(), vars...)
	return cmd
}

// Three shards started at once, one through --shard, one as a Kubernetes Indexed Job's pod and
// one as a Slurm array task, write one folder whose merged report is the report of one process
// that trained every point (the same seed on the same machine trains the same weights; the date
// line and the training times are the only differences).
func TestShardsMatchOneProcess(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	single, sharded := t.TempDir(), t.TempDir()
	args := []string{"run", "testdata/shards.yaml", "--limit-train", "1000", "--progress", "lines"}
	if out, err := exec.Command(bin, append(args, "--out", single)...).CombinedOutput(); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	shards := []*exec.Cmd{
		exec.Command(bin, append(args, "--out", sharded, "--shard", "0/3")...),
		withEnv(exec.Command(bin, append(args, "--out", sharded)...), "JOB_COMPLETION_INDEX=1", "NNSWEEP_SHARDS=3"),
		withEnv(exec.Command(bin, append(args, "--out", sharded)...),
			"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=3", "SLURM_ARRAY_TASK_COUNT=3"),
	}
	logs := make([][]byte, len(shards))
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, cmd := range shards {
		wg.Go(func() { logs[i], errs[i] = cmd.CombinedOutput() })
	}
	wg.Wait()
	for i := range shards {
		if errs[i] != nil {
			t.Fatalf("shard %d: %v\n%s", i, errs[i], logs[i])
		}
	}
	// Each shard trained exactly its own points and stored them in its own file.
	mf := readManifestFile(t, sharded)
	held := make([]int, len(shards))
	for _, p := range mf.Models[0].Points {
		held[*p.Shard]++
	}
	for i, source := range []string{"--shard", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"} {
		want := fmt.Sprintf("shard %d/3 (from %s) holds %d of 6 points; %d point", i, source, held[i], held[i])
		if !bytes.Contains(logs[i], []byte(want)) || !bytes.Contains(logs[i], []byte(" to train, 0 already stored")) {
			t.Errorf("shard %d's log lacks %q:\n%s", i, want, logs[i])
		}
	}
	for _, p := range mf.Models[0].Points {
		file := filepath.Join(sharded, pipeline.ShardResultsFile(pipeline.Shard{Index: *p.Shard, Count: 3}))
		if n := countKey(t, sharded, p.Key); n[file] != 1 || len(n) != 1 {
			t.Errorf("%s of shard %d is stored %v, want once in %s", p.Label, *p.Shard, n, filepath.Base(file))
		}
	}
	for _, dir := range []string{single, sharded} {
		if stdout, stderr, code := cli(t, "report", dir); code != 0 || stderr != "" {
			t.Fatalf("report %s: exit %d\n%s%s", dir, code, stdout, stderr)
		}
	}
	want := normalizeReport(t, filepath.Join(single, "report.md"))
	got := normalizeReport(t, filepath.Join(sharded, "report.md"))
	if got != want {
		t.Errorf("the merged report of 3 shards differs from one process's (dates and times normalised):\n--- one process\n%s\n--- shards\n%s", want, got)
	}
	if !strings.Contains(got, "| n=4 | 838 |") || strings.Contains(got, "pending") {
		t.Errorf("merged report lacks a point or has pending points:\n%s", got)
	}
	if a, b := reportJSON(t, single), reportJSON(t, sharded); a != b {
		t.Errorf("JSON tables differ:\n%s\n%s", a, b)
	}
}

// One shard of two, in a Kubernetes pod, is killed with SIGKILL while it trains its second point
// (its first is stored); the report lists the points it still owes, with its shard. Run again,
// it trains only those: every point is stored exactly once and the first keeps its result.
func TestShardKilledAndRerun(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"run", "testdata/shards.yaml", "--out", dir, "--limit-train", "3000", "--epochs", "2", "--progress", "lines"}
	pod := []string{"JOB_COMPLETION_INDEX=1", "NNSWEEP_SHARDS=2"}
	killShardAtSecondPoint(t, bin, args, pod)
	own := filepath.Join(dir, "results-shard-001-of-002.jsonl")
	first := records(t, dir)
	var killedFirst pipeline.Record
	b, _ := os.ReadFile(own)
	if n := strings.Count(string(b), "\n"); n != 1 || json.Unmarshal(b, &killedFirst) != nil {
		t.Fatalf("shard 1 stored %d points before the kill, want 1:\n%s", n, b)
	}
	if len(first) != 4 {
		t.Fatalf("%d results after shard 0 and the killed shard 1, want 3 + 1", len(first))
	}
	_, reportErr, code := cli(t, "report", dir)
	missing := regexp.MustCompile(`Not trained yet: 2 of 6 points: shard 1/2 \(shards n=\d+, n=\d+\)\.`)
	if code != 0 || !missing.MatchString(reportErr) {
		t.Fatalf("report after the kill: exit %d, stderr lacks the missing points of shard 1/2:\n%s", code, reportErr)
	}
	out, err := withEnv(exec.Command(bin, args...), pod...).CombinedOutput()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if want := "shard 1/2 (from JOB_COMPLETION_INDEX) holds 3 of 6 points; 2 points to train, 1 already stored"; !bytes.Contains(out, []byte(want)) {
		t.Fatalf("rerun output lacks %q:\n%s", want, out)
	}
	checkStoredOnce(t, dir, killedFirst)
	if _, stderr, code := cli(t, "report", dir); code != 0 || stderr != "" {
		t.Fatalf("report after the rerun: exit %d\n%s", code, stderr)
	}
}

// killShardAtSecondPoint runs shard 0/2 to its end and, at once, shard 1/2 as a pod with the
// environment pod, which it kills with SIGKILL when it starts its second point.
func killShardAtSecondPoint(t *testing.T, bin string, args, pod []string) {
	t.Helper()
	other := exec.Command(bin, append(args, "--shard", "0/2")...)
	var otherLog bytes.Buffer
	other.Stdout, other.Stderr = &otherLog, &otherLog
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	killed := withEnv(exec.Command(bin, args...), pod...)
	stderr, err := killed.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	started := 0
	for sc := bufio.NewScanner(stderr); sc.Scan(); {
		log.WriteString(sc.Text() + "\n")
		// A point's "training" line comes after the previous point is stored.
		if strings.HasSuffix(sc.Text(), ": training 2 epochs") {
			if started++; started == 2 {
				killed.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	killed.Wait()
	if started != 2 {
		t.Fatalf("shard 1 ended before its second point:\n%s", log.String())
	}
	if err := other.Wait(); err != nil {
		t.Fatalf("shard 0: %v\n%s", err, otherLog.String())
	}
}

// checkStoredOnce checks that every point of dir is stored once, in its shard's file, and that
// the result first stored by the killed shard was kept.
func checkStoredOnce(t *testing.T, dir string, killedFirst pipeline.Record) {
	t.Helper()
	mf := readManifestFile(t, dir)
	for _, p := range mf.Models[0].Points {
		if n := countKey(t, dir, p.Key); len(n) != 1 || n[filepath.Join(dir, pipeline.ShardResultsFile(pipeline.Shard{Index: *p.Shard, Count: 2}))] != 1 {
			t.Errorf("%s (shard %d) is stored %v, want once in its shard's file", p.Label, *p.Shard, n)
		}
	}
	all := records(t, dir)
	kept := false
	for _, r := range all {
		kept = kept || (r.Key == killedFirst.Key && r.FinishedAt.Equal(killedFirst.FinishedAt) && r.TestAccuracy == killedFirst.TestAccuracy)
	}
	if len(all) != 6 || !kept {
		t.Fatalf("after the rerun: %d results (want 6); the killed shard's first point kept: %v", len(all), kept)
	}
}

func readManifestFile(t *testing.T, dir string) pipeline.Manifest {
	t.Helper()
	var mf pipeline.Manifest
	b, err := os.ReadFile(filepath.Join(dir, pipeline.ManifestFile))
	if err == nil {
		err = json.Unmarshal(b, &mf)
	}
	if err != nil || len(mf.Models) != 1 || len(mf.Models[0].Points) != 6 {
		t.Fatalf("manifest: %v, %+v", err, mf.Models)
	}
	for _, p := range mf.Models[0].Points {
		if p.Shard == nil {
			t.Fatalf("manifest point %s has no shard", p.Label)
		}
	}
	return mf
}

// countKey counts the lines of each results file of dir that store key.
func countKey(t *testing.T, dir, key string) map[string]int {
	t.Helper()
	files, err := pipeline.ResultsFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		for _, line := range strings.Split(string(b), "\n") {
			var r pipeline.Record
			if json.Unmarshal([]byte(line), &r) == nil && r.Key == key {
				n[filepath.Join(dir, f)]++
			}
		}
	}
	return n
}

// normalizeReport reads a Markdown report and blanks what differs between two runs of the same
// points: the date lines and the column of training times.
func normalizeReport(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	col := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "- Date: "):
			lines[i] = "- Date: (normalised)"
		case strings.HasPrefix(l, "- Trained: "):
			lines[i] = "- Trained: (normalised)"
		case strings.HasPrefix(l, "|"):
			cells := strings.Split(l, "|")
			for j, c := range cells {
				if strings.TrimSpace(c) == "train time" {
					col = j
				}
			}
			if col >= 0 && col < len(cells) && strings.TrimSpace(cells[col]) != "train time" && !strings.HasPrefix(strings.TrimSpace(cells[col]), "-") {
				cells[col] = " (time) "
				lines[i] = strings.Join(cells, "|")
			}
		default:
			col = -1
		}
	}
	return strings.Join(lines, "\n")
}

// reportJSON is dir's results table as JSON, training times zeroed.
func reportJSON(t *testing.T, dir string) string {
	t.Helper()
	stdout, stderr, code := cli(t, "report", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("report json: exit %d\n%s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		r["train_seconds"] = 0
	}
	b, _ := json.MarshalIndent(rows, "", "  ")
	return string(b)
}
