package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/runner"
)

// A learning rate of 1e30 makes the loss NaN: the point is stored as diverged, with its NaN loss
// written so that any JSON reader reads the line, the sweep goes on to the next point, and a rerun
// trains neither again.
func TestRunStoresDivergedPoint(t *testing.T) {
	t.Parallel()
	src, _ := os.ReadFile("testdata/tiny-mlp.yaml")
	path := filepath.Join(t.TempDir(), "diverge.yaml")
	os.WriteFile(path, bytes.Replace(src, []byte("optimizer: {name: rmsprop}"), []byte("optimizer: {name: sgd, learning_rate: 1e30}"), 1), 0o644)
	dir := t.TempDir()
	log := runTiny(t, path, dir, RunOptions{})
	if strings.Count(log, "diverged after 1 epoch (loss became NaN or infinite); stored as diverged") != 2 || !strings.Contains(log, ": training 1 epoch\n") {
		t.Fatalf("want both points diverged:\n%s", log)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"loss":"NaN"`) {
		t.Fatalf("results file:\n%s", b)
	}
	for _, l := range lines {
		var generic map[string]any
		if err := json.Unmarshal([]byte(l), &generic); err != nil || generic["status"] != "diverged" {
			t.Fatalf("a JSON reader cannot read %s: %v", l, err)
		}
	}
	recs := openStore(t, dir).Records()
	if len(recs) != 2 || !math.IsNaN(recs[0].History[0].Loss) {
		t.Fatalf("records read back: %+v", recs)
	}
	if log := runTiny(t, path, dir, RunOptions{}); !strings.Contains(log, "0 points to train, 2 already stored") {
		t.Fatalf("the rerun trained a diverged point again:\n%s", log)
	}
}

// Non-finite numbers round-trip through a record's JSON form.
func TestRecordNonFiniteNumbers(t *testing.T) {
	t.Parallel()
	r := Record{Key: "k", TestLoss: math.Inf(1), TrainSeconds: 2.5, History: []runner.Epoch{
		{Epoch: 1, Loss: math.NaN(), Accuracy: 0.5, Val: &runner.Metrics{Loss: math.Inf(-1)}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"test_loss":"Infinity"`, `"train_seconds":2.5`, `"loss":"NaN"`, `"val":{"loss":"-Infinity","accuracy":0}`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(back.TestLoss, 1) || !math.IsNaN(back.History[0].Loss) || !math.IsInf(back.History[0].Val.Loss, -1) || back.Key != "k" {
		t.Fatalf("read back %+v", back)
	}
}

// validLine is a record nnsweep could have written, as one line.
func validLine(t *testing.T, key string, finished time.Time) string {
	return recordLine(t, key, "n=1", 0.5, finished)
}

// Records that nnsweep could not have written are skipped with a reason.
func TestStoreRejectsImpossibleRecords(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	edit := func(field string, value any) string {
		var m map[string]any
		json.Unmarshal([]byte(validLine(t, "x", now)), &m)
		m[field] = value
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name, line, want string
	}{
		{"accuracy", edit("test_accuracy", -7.5), "test_accuracy -7.5 is not a fraction in [0, 1]"},
		{"status", edit("status", "bogus"), `status "bogus" is neither "ok" nor "diverged"`},
		{"train seconds", edit("train_seconds", -1e300), "train_seconds -1e+300 is not a finite number ≥ 0"},
		{"future", edit("finished_at", "9999-01-01T00:00:00Z"), "finished_at 9999-01-01T00:00:00Z is in the future"},
		{"no key", edit("key", ""), "no key or model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeLines(t, filepath.Join(dir, ResultsFile), validLine(t, "a", now), tt.line)
			s, bad, err := OpenStore(dir)
			if err != nil || len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Err.Error(), tt.want) || len(s.Records()) != 1 {
				t.Fatalf("err %v, bad %v; want line 2 rejected with %q", err, bad, tt.want)
			}
		})
	}
}

// A finished_at in the year 9999 does not beat a later --force: the hand-edited record is skipped.
func TestStoreFutureRecordLosesToLaterOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now().UTC()
	writeLines(t, filepath.Join(dir, ResultsFile),
		recordLine(t, "a", "n=1", 0.99, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)), recordLine(t, "a", "n=1", 0.5, now))
	s, bad, _ := OpenStore(dir)
	if r, _ := s.Lookup("a"); r.TestAccuracy != 0.5 || len(bad) != 1 {
		t.Fatalf("kept accuracy %v, %d bad lines; want the record of now", r.TestAccuracy, len(bad))
	}
}

// A line longer than maxRecordLine is skipped with a warning, like any other bad line, and the
// lines after it are read.
func TestStoreSkipsHugeLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now().UTC()
	huge := `{"key": "` + strings.Repeat("x", maxRecordLine+10) + `"}`
	writeLines(t, filepath.Join(dir, ResultsFile), validLine(t, "a", now), huge, validLine(t, "b", now))
	s, bad, err := OpenStore(dir)
	if err != nil || len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Err.Error(), "longer than 64 MiB") || len(s.Records()) != 2 {
		t.Fatalf("err %v, bad %v, %d records", err, bad, len(s.Records()))
	}
}

// A torn last line (a process killed while writing it) is reported when reading; opening the
// file to append cuts it off, so the next record starts on a line of its own.
func TestStoreTornLastLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, ResultsFile)
	now := time.Now().UTC()
	whole := validLine(t, "a", now) + "\n"
	os.WriteFile(path, []byte(whole+validLine(t, "b", now)[:40]), 0o644)
	_, bad, _ := OpenStore(dir)
	if len(bad) != 1 || !strings.Contains(bad[0].Err.Error(), "torn last line") {
		t.Fatalf("reading: %v", bad)
	}
	s, bad, err := OpenShardStore(dir, Shard{})
	if err != nil || len(bad) != 1 || !strings.Contains(bad[0].Err.Error(), "removed from the file") {
		t.Fatalf("opening to append: %v %v", err, bad)
	}
	if err := s.Append(Record{Key: "c", Model: "m", Status: "ok", FinishedAt: now}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, bad, err = OpenStore(dir)
	if err != nil || len(bad) != 0 || len(s.Records()) != 2 {
		t.Fatalf("after the append: %d records, bad %v, %v", len(s.Records()), bad, err)
	}
	// A whole last record without its line feed (an edit by hand) is kept, and gets one.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.TrimSuffix(b, []byte("\n")), 0o644)
	s, bad, err = OpenShardStore(dir, Shard{})
	if err != nil || len(bad) != 0 || len(s.Records()) != 2 {
		t.Fatalf("unterminated record: %d records, bad %v, %v", len(s.Records()), bad, err)
	}
	s.Append(Record{Key: "d", Model: "m", Status: "ok", FinishedAt: now})
	s.Close()
	if s, bad, _ := OpenStore(dir); len(bad) != 0 || len(s.Records()) != 3 {
		t.Fatalf("after appending to an unterminated record: %d records, bad %v", len(s.Records()), bad)
	}
}

// Appending writes only the new line: the bytes already in the file stay as they are, and a
// symbolic link keeps pointing at its file.
func TestStoreAppendsThroughSymlink(t *testing.T) {
	t.Parallel()
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "kept.jsonl")
	first := validLine(t, "a", time.Now().UTC()) + "\n"
	os.WriteFile(target, []byte(first), 0o644)
	os.Symlink(target, filepath.Join(dir, ResultsFile))
	s, _, err := OpenShardStore(dir, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(Record{Key: "b", Model: "m", Status: "ok", FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, _ := os.ReadFile(target)
	if fi, err := os.Lstat(filepath.Join(dir, ResultsFile)); err != nil || fi.Mode()&os.ModeSymlink == 0 || !strings.HasPrefix(string(b), first) || strings.Count(string(b), "\n") != 2 {
		t.Fatalf("the link was replaced (%v) or its file not appended to:\n%s", err, b)
	}
}

// A results file that is a folder fails before anything is trained.
func TestRunResultsFileIsFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, ResultsFile), 0o755)
	var stderr bytes.Buffer
	err := Run(context.Background(), "testdata/tiny-mlp.yaml", RunOptions{Out: dir, LimitTrain: 100, Progress: "lines"}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "results.jsonl is not a file (a folder)") || strings.Contains(stderr.String(), "training") {
		t.Fatalf("err = %v\n%s", err, stderr.String())
	}
}

// Two stores of one results file are never open for appending at once: the second is refused
// with the first's PID. Stores of two shards' files in one folder are open together.
func TestStoreLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _, err := OpenShardStore(dir, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenShardStore(dir, Shard{})
	if err == nil || !strings.Contains(err.Error(), "results.jsonl is already in use by PID "+strings.Fields(readFile(t, filepath.Join(dir, lockName(ResultsFile))))[0]) {
		t.Fatalf("second store: %v", err)
	}
	a, _, errA := OpenShardStore(dir, Shard{Index: 0, Count: 2})
	b, _, errB := OpenShardStore(dir, Shard{Index: 1, Count: 2})
	if errA != nil || errB != nil {
		t.Fatalf("two shards in one folder: %v, %v", errA, errB)
	}
	a.Close()
	b.Close()
	first.Close()
	again, _, err := OpenShardStore(dir, Shard{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	again.Close()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Temporary files of a folder left by a killed process are removed; fresh ones, which a live
// process may be about to rename, and other files are kept.
func TestRemoveStaleTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	for _, name := range []string{".manifest.json.123.tmp", ".chart.svg.9.tmp", ".report.md.77.tmp", "notes.tmp", ".manifest.json.5.tmp"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
		if name != ".manifest.json.5.tmp" {
			os.Chtimes(filepath.Join(dir, name), now.Add(-time.Hour), now.Add(-time.Hour))
		}
	}
	os.Mkdir(filepath.Join(dir, WeightsDir), 0o755)
	stale := filepath.Join(dir, WeightsDir, ".0a1b.safetensors.42.tmp")
	os.WriteFile(stale, nil, 0o644)
	os.Chtimes(stale, now.Add(-time.Hour), now.Add(-time.Hour))
	removed := removeStaleTemps(dir, now)
	if strings.Join(removed, " ") != ".chart.svg.9.tmp .manifest.json.123.tmp .report.md.77.tmp weights/.0a1b.safetensors.42.tmp" {
		t.Fatalf("removed %v", removed)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 3 {
		t.Fatalf("%d entries left, want notes.tmp, the fresh temporary file and the weights folder", len(left))
	}
}

// A folder that holds another spec's results is refused unless the run asks for it; a changed
// spec of the same name is not another spec.
func TestRunRefusesOtherSpecFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // write the manifest, train nothing
	opts := RunOptions{Out: dir, LimitTrain: 100, Progress: "none"}
	if err := Run(ctx, "testdata/tiny-mlp.yaml", opts, &bytes.Buffer{}, &bytes.Buffer{}); ExitCode(err) != ExitInterrupted {
		t.Fatal(err)
	}
	err := Run(ctx, "testdata/tiny-bisect.yaml", opts, &bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), `holds the results of the spec "tiny-mlp" (testdata/tiny-mlp.yaml), not of testdata/tiny-bisect.yaml's "tiny-bisect"`) ||
		!strings.Contains(err.Error(), "--allow-other-spec") {
		t.Fatalf("another spec: %v", err)
	}
	opts.AllowOtherSpec = true
	if err := Run(ctx, "testdata/tiny-bisect.yaml", opts, &bytes.Buffer{}, &bytes.Buffer{}); ExitCode(err) != ExitInterrupted {
		t.Fatalf("--allow-other-spec: %v", err)
	}
	if mf, _ := readManifest(dir); mf.Spec != "tiny-bisect" {
		t.Fatalf("manifest of %q", mf.Spec)
	}
}

// While a run trains, the report is refreshed at most every reportEvery; the end of the run
// writes it whatever the time.
func TestReportRefreshThrottled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &runState{clock: func() time.Time { return now }}
	var due []bool
	for _, step := range []time.Duration{0, time.Second, 3 * time.Second, time.Second, 10 * time.Second} {
		now = now.Add(step)
		due = append(due, r.reportDue())
	}
	if want := []bool{true, false, false, true, true}; !slices.Equal(due, want) {
		t.Fatalf("refreshes %v, want %v", due, want)
	}
}

// The manifest does not repeat every point's layers (a sweep of 100,000 points made a 68 MB
// manifest); the report takes them from the records.
func TestManifestLeavesLayersToRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: map[string][]int64{"n": {8}}})
	mf := readFile(t, filepath.Join(dir, ManifestFile))
	if strings.Contains(mf, `"layers"`) || strings.Contains(mf, "dense_1") {
		t.Fatalf("the manifest lists layers:\n%s", mf)
	}
	if md := readFile(t, filepath.Join(dir, "report.md")); !strings.Contains(md, "### Where the parameters are") || !strings.Contains(md, "| dense_1 | 6,280 |") {
		t.Fatalf("the report lacks the turning point's layers:\n%s", md)
	}
}

// Refresh adds what another shard appended to its file since the store read it, reading only the
// new whole lines: a line still being written waits for its line feed, the bytes already read are
// not read again, and the store's own file is not read at all (its records come from Append).
func TestStoreRefreshReadsWhatOthersAppended(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	mine, _, err := OpenShardStore(dir, Shard{Index: 0, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	other := filepath.Join(dir, ShardResultsFile(Shard{Index: 1, Count: 2}))
	appendTo := func(path, text string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
	}
	has := func(key string) bool { _, ok := mine.Lookup(key); return ok }
	refresh := func() {
		t.Helper()
		if err := mine.Refresh(); err != nil {
			t.Fatal(err)
		}
	}

	appendTo(other, validLine(t, "a", now)+"\n")
	b := validLine(t, "b", now)
	appendTo(other, b[:40])
	refresh()
	if !has("a") || has("b") {
		t.Fatalf("after the first refresh: a %v, b %v; want a only (b is half written)", has("a"), has("b"))
	}
	appendTo(other, b[40:]+"\n")
	refresh()
	if !has("b") {
		t.Fatal("b is whole now but was not added")
	}

	// The first line, already read, is overwritten in place by one of the same length with a
	// later finish: a reread would replace a's record; Refresh does not reread it.
	data, _ := os.ReadFile(other)
	later := recordLine(t, "a", "n=1", 0.7, now.Add(time.Second))
	if first := validLine(t, "a", now); len(later) != len(first) {
		t.Fatalf("the edited line has %d bytes, the first %d", len(later), len(first))
	}
	os.WriteFile(other, append([]byte(later), data[len(later):]...), 0o644)
	refresh()
	if r, _ := mine.Lookup("a"); r.TestAccuracy != 0.5 {
		t.Fatalf("a's accuracy is %v after a refresh: the lines already read were read again", r.TestAccuracy)
	}

	// A line written into the store's own file by another hand is not read: the own file is
	// appended by this process alone.
	appendTo(filepath.Join(dir, mine.File), validLine(t, "c", now)+"\n")
	refresh()
	if has("c") {
		t.Fatal("Refresh read the store's own file")
	}

	// A file replaced by a shorter one is read again from its start.
	os.WriteFile(other, []byte(validLine(t, "d", now)+"\n"), 0o644)
	refresh()
	if !has("d") {
		t.Fatal("a replaced, shorter file was not read again")
	}
}
