package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A training's weights are written before its result: when they cannot be written (here the
// weights folder is a file), the run fails and stores no result, rather than one that names
// weights which are not there.
func TestWeightsBeforeResult(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, WeightsDir), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), "testdata/tiny-mlp.yaml", RunOptions{Out: dir, LimitTrain: 64, Progress: "none", Points: map[string][]int64{"n": {8}}}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "weights") {
		t.Fatalf("run with an unwritable weights folder: %v", err)
	}
	st, _, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Records()); n != 0 {
		t.Fatalf("%d results stored without their weights", n)
	}
}
