package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cli runs nnsweep in-process and returns its output and exit code.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	// The Fashion-MNIST example needs Debian's package; pipeline's TestFashionMNISTSpec validates it.
	examples, _ := filepath.Glob("examples/mnist-*.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // golden file name, or "" to skip
		stderr string // substring expected in stderr
	}{
		{"validate examples", append([]string{"validate"}, examples...), 0, "validate-examples", ""},
		{"validate bad", []string{"validate", "examples/mnist-cnn2.yaml", "testdata/bad.yaml"}, pipeline.ExitInvalid, "",
			"testdata/bad.yaml:8:25: model.layers[0].conv2d.filters: unknown symbol \"m\""},
		{"validate missing file", []string{"validate", "testdata/none.yaml"}, pipeline.ExitInvalid, "", "testdata/none.yaml: reading spec"},
		{"validate no args", []string{"validate"}, pipeline.ExitUsage, "", "requires at least 1 arg"},
		{"params cnn2", []string{"params", "examples/mnist-cnn2.yaml"}, 0, "params-cnn2", ""},
		{"params compare at", []string{"params", "examples/mnist-compare.yaml", "--at", "n=2"}, 0, "params-compare-at-n2", ""},
		{"params json", []string{"params", "examples/mnist-cnn2.yaml", "--at", "n=2", "--format", "json"}, 0, "params-cnn2-n2-json", ""},
		{"params markdown", []string{"params", "examples/mnist-mlp.yaml", "--format", "markdown"}, 0, "params-mlp-markdown", ""},
		{"params batch norm", []string{"params", "testdata/batchnorm.yaml"}, 0, "params-batchnorm", ""},
		{"params batch norm at", []string{"params", "testdata/batchnorm.yaml", "--at", "n=2", "--format", "markdown"}, 0, "params-batchnorm-at-n2-markdown", ""},
		{"params batch norm json", []string{"params", "testdata/batchnorm.yaml", "--at", "n=2", "--format", "json"}, 0, "params-batchnorm-n2-json", ""},
		{"params bad at", []string{"params", "examples/mnist-cnn2.yaml", "--at", "n"}, pipeline.ExitUsage, "", "--at \"n\": write variable=value pairs"},
		{"params unknown var", []string{"params", "examples/mnist-cnn2.yaml", "--at", "m=2"}, pipeline.ExitUsage, "", "no model of examples/mnist-cnn2.yaml uses a sweep variable m"},
		{"params width below 1", []string{"params", "examples/mnist-cnn2.yaml", "--at", "n=0"}, pipeline.ExitUsage, "", "width n is 0 there"},
		{"params bad format", []string{"params", "examples/mnist-cnn2.yaml", "--format", "yaml"}, pipeline.ExitUsage, "", "use one of table, markdown, json"},
		{"unknown flag", []string{"params", "--bogus"}, pipeline.ExitUsage, "", "unknown flag: --bogus"},
		{"unknown command", []string{"train"}, pipeline.ExitUsage, "", "unknown command \"train\""},
		{"report no folder", []string{"report", "testdata"}, pipeline.ExitFailure, "", "testdata has no manifest.json"},
		{"report of a spec", []string{"report", "examples/mnist-mlp.yaml"}, pipeline.ExitUsage, "",
			"report examples/mnist-mlp.yaml: it is a file, not an output folder; for this spec, give the folder `nnsweep run examples/mnist-mlp.yaml` wrote: runs/mnist-mlp"},
		{"export no folder", []string{"export", "testdata"}, pipeline.ExitFailure, "", "testdata has no manifest.json"},
		{"export bad format", []string{"export", "testdata", "--format", "tflite"}, pipeline.ExitUsage, "", `--format "tflite": use one of onnx, safetensors`},
		{"completion", []string{"completion", "bash"}, 0, "", ""},
		{"run bad search", []string{"run", "examples/mnist-cnn2.yaml", "--search", "random", "--out", "testdata/none"}, pipeline.ExitUsage, "", `--search "random": use grid or bisect`},
		{"run bad engine", []string{"run", "examples/mnist-cnn2.yaml", "--engine", "gpu", "--out", "testdata/none"}, pipeline.ExitUsage, "", `--engine: unknown engine "gpu"; use fast or stock`},
		{"run bad jobs", []string{"run", "examples/mnist-cnn2.yaml", "--jobs", "-1", "--out", "testdata/none"}, pipeline.ExitUsage, "", "--jobs -1: give at least 1"},
		{"run dump count alone", []string{"run", "examples/mnist-cnn2.yaml", "--dump-count", "5", "--out", "testdata/none"}, pipeline.ExitUsage, "", "--dump-count needs --dump-steps DIR"},
		{"run dump count 0", []string{"run", "examples/mnist-cnn2.yaml", "--dump-steps", "testdata/none-dumps", "--dump-count", "0", "--out", "testdata/none"}, pipeline.ExitUsage, "", "--dump-count 0: record at least 1 step"},
		{"run bad points", []string{"run", "examples/mnist-cnn2.yaml", "--points", "n=x", "--out", "testdata/none"}, pipeline.ExitUsage, "", `--points "n=x": "x" is not an integer`},
		{"run zero epochs", []string{"run", "examples/mnist-cnn2.yaml", "--epochs", "0", "--out", "testdata/none"}, pipeline.ExitUsage, "",
			"--epochs 0: give at least 1, or leave --epochs out to train the epochs the spec asks for"},
		{"run zero limit", []string{"run", "examples/mnist-cnn2.yaml", "--limit-train", "0", "--out", "testdata/none"}, pipeline.ExitUsage, "",
			"--limit-train 0: give at least 1, or leave --limit-train out to train on every training example"},
		{"run zero jobs", []string{"run", "examples/mnist-cnn2.yaml", "--jobs", "0", "--out", "testdata/none"}, pipeline.ExitUsage, "",
			"--jobs 0: give at least 1, or leave --jobs out to let nnsweep choose (the seeds of a point, and the models of a spec, train at once, one training per core)"},
		{"plan zero epochs", []string{"plan", "examples/mnist-cnn2.yaml", "--shards", "2", "--epochs", "0"}, pipeline.ExitUsage, "", "--epochs 0: give at least 1"},
		{"run bad progress", []string{"run", "examples/mnist-cnn2.yaml", "--progress", "fancy", "--out", "testdata/none"}, pipeline.ExitUsage, "",
			`--progress "fancy": use one of auto, bar, lines, none`},
		{"usage points to the command's help", []string{"run"}, pipeline.ExitUsage, "", "accepts 1 arg(s), received 0 (see nnsweep run --help)"},
		{"completion of an unknown shell", []string{"completion", "tcsh"}, pipeline.ExitUsage, "", "completion takes one shell of bash, zsh, fish, powershell"},
		{"version", []string{"--version"}, 0, "version", ""},
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

// NNSWEEP_KERNELS with a name no implementation has is refused before anything runs.
func TestKernelsVariable(t *testing.T) {
	t.Setenv("NNSWEEP_KERNELS", "bogus")
	_, stderr, code := cli(t, "run", "examples/mnist-cnn2.yaml", "--out", "testdata/none")
	if code != pipeline.ExitUsage || !strings.Contains(stderr, "NNSWEEP_KERNELS=bogus: use avx512, avx2, generic or auto, or unset it") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// `nnsweep schema` prints exactly the committed nnsweep.schema.json.
func TestSchemaCommand(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := cli(t, "schema")
	want, err := os.ReadFile("nnsweep.schema.json")
	if err != nil || code != 0 || stdout != string(want) {
		t.Fatalf("exit %d, %v, stderr %s; the output differs from nnsweep.schema.json", code, err, stderr)
	}
}

// buildBinary compiles nnsweep for the tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "nnsweep")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitForRecords polls dir/results.jsonl until it holds n lines or the process ends.
func waitForRecords(t *testing.T, dir string, n int, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(dir, pipeline.ResultsFile))
		if bytes.Count(b, []byte("\n")) >= n {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("nnsweep ended before storing %d results: %v", n, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %d results after 2 minutes", n)
}

func records(t *testing.T, dir string) []pipeline.Record {
	t.Helper()
	s, bad, err := pipeline.OpenStore(dir)
	if err != nil || len(bad) > 0 {
		t.Fatalf("results unreadable: %v %v", err, bad)
	}
	return s.Records()
}

// A run killed with SIGKILL mid-sweep leaves a readable results file; running it again trains
// only the points that were missing, and none twice.
func TestKillAndResume(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"run", "testdata/three-points.yaml", "--out", dir, "--limit-train", "3000", "--progress", "lines"}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitForRecords(t, dir, 1, done)
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	first := records(t, dir)
	if len(first) == 0 || len(first) == 3 {
		t.Fatalf("%d results after the kill; the test wants the run killed mid-sweep", len(first))
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if want := "already stored"; !strings.Contains(string(out), want) {
		t.Fatalf("resume output lacks %q:\n%s", want, out)
	}
	all := records(t, dir)
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.Point] {
			t.Errorf("%s trained twice", r.Point)
		}
		seen[r.Point] = true
	}
	if len(all) != 3 || all[0].Key != first[0].Key || all[0].FinishedAt != first[0].FinishedAt {
		t.Fatalf("after resume: %d results (want 3), first kept: %v", len(all), all[0].Key == first[0].Key)
	}
}

// Ctrl-C stops after the current batch with exit status 130; finished points stay stored and
// the report shows the rest as pending.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "run", "testdata/three-points.yaml", "--out", dir, "--limit-train", "3000", "--progress", "lines")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitForRecords(t, dir, 1, done)
	cmd.Process.Signal(syscall.SIGINT)
	err := <-done
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != pipeline.ExitInterrupted {
		t.Fatalf("exit: %v, want status %d\n%s", err, pipeline.ExitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "every finished point is saved") {
		t.Errorf("stderr lacks the resume hint:\n%s", stderr.String())
	}
	n := len(records(t, dir))
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if n == 0 || n == 3 || !strings.Contains(string(report), "pending") {
		t.Fatalf("%d results and a report without pending points after Ctrl-C", n)
	}
}

// run, then report: the Markdown report with its charts, CSV and JSON tables, and two folders
// merged into one comparison.
func TestRunThenReport(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if _, stderr, code := cli(t, "run", "testdata/three-points.yaml", "--out", dir, "--limit-train", "1000",
			"--epochs", "1", "--points", "n=8,4", "--progress", "none"); code != 0 {
			t.Fatalf("run: exit %d\n%s", code, stderr)
		}
	}
	stdout, stderr, code := cli(t, "report", a, "--format", "csv")
	if code != 0 || !strings.HasPrefix(stdout, "model,point,params,accuracy") || strings.Count(stdout, "\n") != 3 {
		t.Fatalf("csv: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code = cli(t, "report", a, "--format", "json"); code != 0 || !strings.Contains(stdout, `"point": "n=8"`) {
		t.Fatalf("json: exit %d\n%s", code, stdout)
	}
	out := filepath.Join(t.TempDir(), "compare.md")
	if _, stderr, code = cli(t, "report", a, b, "--out", out); code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	md, _ := os.ReadFile(out)
	for _, want := range []string{"# Comparison", "## three-points\n", "## three-points (" + filepath.Base(b) + ")", "compare.png", "Trained for 1 epoch with --epochs"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("merged report lacks %q", want)
		}
	}
	for _, f := range []string{"compare.png", "compare.svg"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), f)); err != nil {
			t.Error(err)
		}
	}
	onnxFile := filepath.Join(t.TempDir(), "n4.onnx")
	if stdout, stderr, code = cli(t, "export", a, "--point", "n=4", "--out", onnxFile); code != 0 || !strings.Contains(stdout, "wrote "+onnxFile) {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = cli(t, "export", a, "--model", "cnn"); code != pipeline.ExitUsage || !strings.Contains(stderr, `--model "cnn"`) {
		t.Errorf("export of an unknown model: exit %d\n%s", code, stderr)
	}
	if _, stderr, code = cli(t, "export", a, "--point", "n=16"); code != pipeline.ExitUsage || !strings.Contains(stderr, "has no such point; its points are n=8; n=4") {
		t.Errorf("export of a point not in the folder: exit %d\n%s", code, stderr)
	}
}

// run --cpuprofile writes a pprof profile (gzip-compressed protocol buffers) of the run; a path
// that cannot be created is an error naming the flag, before anything is trained.
func TestRunCPUProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	if _, stderr, code := cli(t, "run", "testdata/three-points.yaml", "--out", filepath.Join(dir, "run"), "--limit-train", "500",
		"--epochs", "1", "--points", "n=4", "--progress", "none", "--cpuprofile", prof); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Fatalf("%s is not a gzip-compressed profile (%d bytes)", prof, len(data))
	}
	_, stderr, code := cli(t, "run", "testdata/three-points.yaml", "--out", filepath.Join(dir, "run2"), "--cpuprofile", filepath.Join(dir, "missing", "cpu.pprof"))
	if code == 0 || !strings.Contains(stderr, "--cpuprofile") {
		t.Fatalf("unwritable profile path: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "run2")); !os.IsNotExist(err) {
		t.Errorf("a run whose profile could not be created left %s behind (%v)", filepath.Join(dir, "run2"), err)
	}
}
