package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// The report names the machines and builds that trained the points, from the records, not the
// machine that renders it.
func TestReportShowsStoredMachines(t *testing.T) {
	t.Parallel()
	dir := manifestOnly(t)
	mf, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rec := func(i int, m Machine, version string) string {
		b, _ := json.Marshal(Record{Key: mf.Models[0].Points[i].Key, Model: "tiny-mlp", Point: mf.Models[0].Points[i].Label, Status: "ok",
			TestAccuracy: 0.9, Version: version, Machine: m, FinishedAt: at.Add(time.Duration(i) * time.Hour)})
		return string(b)
	}
	arm := Machine{CPU: "Other CPU", Cores: 8, OS: "linux/arm64", GoVersion: "go1.99"}
	writeLines(t, filepath.Join(dir, ResultsFile), rec(0, arm, "9.9.9"))
	if err := Report([]string{dir}, ReportOptions{}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	md := readFile(t, filepath.Join(dir, "report.md"))
	for _, want := range []string{"- nnsweep 9.9.9, built with go1.99\n- CPU: Other CPU, 8 cores (linux/arm64)\n- Trained: 2026-03-04 05:06:07 UTC\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("one machine: report lacks %q:\n%s", want, md)
		}
	}
	if cpu := cpuModel(); strings.Contains(md, cpu) {
		t.Errorf("the report names this machine's CPU %q", cpu)
	}
	writeLines(t, filepath.Join(dir, ResultsFile), rec(0, arm, "9.9.9"), rec(1, Machine{}, "0.0.1"))
	Report([]string{dir}, ReportOptions{}, &bytes.Buffer{}, &bytes.Buffer{})
	md = readFile(t, filepath.Join(dir, "report.md"))
	want := "- Trained by 2 builds or machines:\n  - nnsweep 9.9.9 (go1.99) on Other CPU, 8 cores, linux/arm64: 1 training\n" +
		"  - nnsweep 0.0.1 on an unrecorded machine: 1 training\n- Trained: 2026-03-04 05:06:07 UTC to 2026-03-04 06:06:07 UTC\n"
	if !strings.Contains(md, want) {
		t.Errorf("two machines: report lacks %q:\n%s", want, md)
	}
}

// Merging folders of different data or targets says so on stderr and in the report's note.
func TestReportWarnsOfDifferentDataAndTargets(t *testing.T) {
	t.Parallel()
	a, b := manifestOnly(t), manifestOnly(t)
	mf, _ := readManifest(b)
	mf.Target, mf.Dataset = 0.9, &ManifestDataset{Name: "idx:other/train-images.idx", Checksum: "abcdef0123456789"}
	raw, _ := encodeManifest(mf)
	os.WriteFile(filepath.Join(b, ManifestFile), raw, 0o644)
	var stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "compare.md")
	if err := Report([]string{a, b}, ReportOptions{Out: out}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"warning: " + b + " was trained on idx:other/train-images.idx (sha256 abcdef01…) but " + a + " on mnist (sha256 ",
		"warning: " + b + " targets 90% but " + a + " targets 80%: the comparison judges every model against 80%",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if md := readFile(t, out); !strings.Contains(md, b+" was trained on idx:other/train-images.idx") {
		t.Errorf("the note does not say the data differ:\n%s", md)
	}
}
