package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hugeSpec has a point of 10¹² parameters, as `nnsweep params` counts them; training it would
// die allocating its weights.
const hugeSpec = `name: huge
dataset: mnist
target: {min: 0.9}
sweep: {n: [8, 1000000]}
model:
  layers:
    - flatten: {}
    - dense: {units: n, activation: relu}
    - dense: {units: n, activation: relu}
    - dense: {units: 10, activation: softmax}
`

// A point too big for the machine's memory is refused as an error of the spec, with the memory it
// needs and the machine's, before any weight is allocated.
func TestRunRefusesModelTooBigForMemory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "huge.yaml")
	os.WriteFile(path, []byte(hugeSpec), 0o644)
	var stderr bytes.Buffer
	err := Run(context.Background(), path, RunOptions{Out: t.TempDir(), Progress: "lines"}, &bytes.Buffer{}, &stderr)
	if ExitCode(err) != ExitInvalid || !strings.Contains(err.Error(), path+":6:3: model: huge at n=1000000 needs at least 14.6 TiB of memory to train (1,000,796,000,010 parameters") ||
		!strings.Contains(err.Error(), "more than this machine's memory") || strings.Contains(stderr.String(), "training") {
		t.Fatalf("err = %v (exit %d)\n%s", err, ExitCode(err), stderr.String())
	}
}

func TestCheckMemory(t *testing.T) {
	t.Parallel()
	e, err := LoadSource("huge.yaml", []byte(hugeSpec))
	if err != nil {
		t.Fatal(err)
	}
	// n=8: adam keeps two slots beside each weight and its gradient, 4 bytes each, and a layer
	// output takes 4 bytes per example of a batch of 32 (twice: with its gradient) and of 256.
	pc, _ := e.Models[0].Count.At(e.Models[0].Points[0])
	want := 4 * (4*float64(pc.Params) + (2*32+256)*float64(pc.Activations))
	if got := trainingBytes(&e.Models[0], pc.Params, pc.Activations); got != want {
		t.Fatalf("n=8 needs %v bytes, want %v", got, want)
	}
	if err := checkMemory(e, int64(want), "the test's"); err == nil || !strings.Contains(err.Error(), "huge at n=1000000 needs") {
		t.Fatalf("n=8 fits, n=1000000 does not: %v", err)
	}
	e.Models[0].Points = e.Models[0].Points[:1]
	if err := checkMemory(e, int64(want), "the test's"); err != nil {
		t.Fatalf("n=8 alone: %v", err)
	}
	if err := checkMemory(e, int64(want)-1, "the test's 1 byte less"); err == nil || !strings.Contains(err.Error(), "huge at n=8 needs at least") {
		t.Fatalf("one byte less: %v", err)
	}
}
