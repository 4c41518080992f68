package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manifestOnly makes an output folder of testdata/tiny-mlp.yaml with its manifest and no result.
func manifestOnly(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, "testdata/tiny-mlp.yaml", RunOptions{Out: dir, LimitTrain: 100, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{}); ExitCode(err) != ExitInterrupted {
		t.Fatal(err)
	}
	return dir
}

// report --out never writes over the files the report is made from; an existing folder as --out
// gets the report inside it.
func TestReportOut(t *testing.T) {
	t.Parallel()
	dir := manifestOnly(t)
	os.WriteFile(filepath.Join(dir, "results-shard-000-of-002.jsonl"), nil, 0o644)
	manifest := readFile(t, filepath.Join(dir, ManifestFile))
	refused := []struct {
		name, out, format string
	}{
		{"results as markdown", filepath.Join(dir, ResultsFile), "markdown"},
		{"manifest as json", filepath.Join(dir, ManifestFile), "json"},
		{"shard file as csv", filepath.Join(dir, "results-shard-000-of-002.jsonl"), "csv"},
		{"roundabout path", filepath.Join(dir, "sub", "..", ManifestFile), "csv"},
	}
	for _, tt := range refused {
		err := Report([]string{dir}, ReportOptions{Out: tt.out, Format: tt.format}, &bytes.Buffer{}, &bytes.Buffer{})
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "which the report is made from") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if got := readFile(t, filepath.Join(dir, ManifestFile)); got != manifest {
		t.Fatal("the manifest was changed")
	}
	// An existing folder: the report and its charts go inside it.
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := Report([]string{dir}, ReportOptions{Out: out}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "chart.png", "chart.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(out + ".png"); err == nil {
		t.Errorf("%s.png written beside the folder", out)
	}
	if err := Report([]string{dir}, ReportOptions{Out: out, Format: "csv"}, &stdout, &bytes.Buffer{}); err != nil || !strings.HasPrefix(readFile(t, filepath.Join(out, "report.csv")), "model,point") {
		t.Fatalf("csv into a folder: %v", err)
	}
}
