package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbinet/npyio/npz"
)

// --dump-steps writes a training's initial weights and first steps as bench/fidelity reads them:
// with plain SGD every recorded weight is the one before it less lr × its recorded gradient, and
// the final weights and test metrics match the stored result.
func TestRunDumpSteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := filepath.Join(dir, "sgd.yaml")
	src := strings.NewReplacer("optimizer: {name: rmsprop}", "optimizer: {name: sgd, learning_rate: 0.1}", "n: [32, 8]", "n: [8]").
		Replace(readFile(t, "testdata/tiny-mlp.yaml"))
	if err := os.WriteFile(spec, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	dumps := filepath.Join(dir, "dumps")
	runTiny(t, spec, filepath.Join(dir, "out"), RunOptions{DumpSteps: dumps, DumpCount: 3})
	d := filepath.Join(dumps, "tiny-mlp-n=8-seed7")
	var meta dumpMeta
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(d, "meta.json"))), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Steps != 3 || meta.BatchSize != 32 || meta.Input != [3]int{1, 28, 28} || len(meta.Tensors) != 4 ||
		meta.Tensors[0].Name != "dense_1/kernel" || len(meta.Layers) != 4 || meta.Layers[2].Kind != "dropout" {
		t.Fatalf("meta %+v", meta)
	}
	read := func(file, key string) []float32 {
		t.Helper()
		r, err := npz.Open(filepath.Join(d, file))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var v []float32
		if err := r.Read(key+".npy", &v); err != nil {
			t.Fatalf("%s %s: %v", file, key, err)
		}
		return v
	}
	prev := read("init.npz", "weight_0")
	for step := 1; step <= 3; step++ {
		file := []string{"", "step-0001.npz", "step-0002.npz", "step-0003.npz"}[step]
		if n := len(read(file, "images")); n != 32*784 {
			t.Fatalf("%s: %d image values, want 32×784", file, n)
		}
		if n := len(read(file, "mask_0")); n != 32*8 {
			t.Fatalf("%s: a dropout mask of %d values, want 32×8", file, n)
		}
		g, w := read(file, "grad_0"), read(file, "weight_0")
		for i := range w {
			if want := prev[i] - float32(float32(0.1)*g[i]); w[i] != want {
				t.Fatalf("%s: weight_0[%d] = %v, want %v − 0.1 × %v", file, i, w[i], prev[i], g[i])
			}
		}
		prev = w
	}
	if _, err := os.Stat(filepath.Join(d, "step-0004.npz")); !os.IsNotExist(err) {
		t.Errorf("a fourth step was written (%v)", err)
	}
	read("final.npz", "weight_3")
	var res struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(d, "result.json"))), &res); err != nil {
		t.Fatal(err)
	}
	recs := openStore(t, filepath.Join(dir, "out")).Records()
	if len(recs) != 1 || recs[0].TestAccuracy != res.TestAccuracy {
		t.Fatalf("result.json says %v, the stored records %+v", res.TestAccuracy, recs)
	}
	// Nothing left to train: a dump is asked for in vain, which is an error, not silence.
	err := Run(context.Background(), spec, RunOptions{Out: filepath.Join(dir, "out"), LimitTrain: 2000, DumpSteps: dumps, DumpCount: 3},
		&bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v; want a usage error naming --force", err)
	}
	err = Run(context.Background(), spec, RunOptions{Out: t.TempDir(), DumpSteps: dumps}, &bytes.Buffer{}, &bytes.Buffer{})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--dump-count 0") {
		t.Fatalf("err = %v; want a usage error for --dump-count 0", err)
	}
}
