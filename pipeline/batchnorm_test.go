package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBatchNormStoredAndExported trains a model with batch_norm layers for a few steps and checks
// that its moving statistics are stored with the other weights (updated, not the initial 0 and
// 1), that the stored weights give back the record's test metrics exactly (the evaluation reads
// the moving statistics), that the manifest holds the non-trainable and folded counts, and that
// ONNX export writes BatchNormalization nodes over them.
func TestBatchNormStoredAndExported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Run(context.Background(), "testdata/batchnorm.yaml", RunOptions{Out: dir, LimitTrain: 400, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	sm, err := OpenStoredModel(dir, StoredRequest{Point: "n=2"})
	if err != nil {
		t.Fatal(err)
	}
	w := sm.Weights
	var moving []string
	for i, name := range w.Names {
		if w.Trainable(i) {
			continue
		}
		moving = append(moving, name)
		initial := float32(0)
		if strings.HasSuffix(name, "variance") {
			initial = 1
		}
		if !slices.ContainsFunc(w.Floats()[i], func(v float32) bool { return v != initial }) {
			t.Errorf("%s still holds its initial %v", name, w.Floats()[i])
		}
	}
	if want := []string{"batch_norm_1/moving_mean", "batch_norm_1/moving_variance", "batch_norm_2/moving_mean", "batch_norm_2/moving_variance"}; !slices.Equal(moving, want) {
		t.Fatalf("non-trainable tensors %v, want %v", moving, want)
	}
	test, err := sm.TestData()
	if err != nil {
		t.Fatal(err)
	}
	m, err := sm.Evaluate(test, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accuracy != sm.Record.TestAccuracy || m.Loss != sm.Record.TestLoss {
		t.Errorf("reloaded weights give accuracy %v, loss %v; stored %v, %v", m.Accuracy, m.Loss, sm.Record.TestAccuracy, sm.Record.TestLoss)
	}
	mf, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	// conv 18, batch_norm 8 (4 moving), dense 338·8+8, batch_norm 24 (16 moving), dense 90.
	for _, want := range []string{`"params": 2852`, `"non_trainable": 20`, `"folded": 2846`} {
		if !bytes.Contains(mf, []byte(want)) {
			t.Errorf("manifest lacks %s:\n%s", want, mf)
		}
	}

	om, err := ONNXModel(sm)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range om.Graph.Nodes {
		ops = append(ops, n.Op)
		if n.Op == "BatchNormalization" {
			if len(n.Inputs) != 5 {
				t.Errorf("%s has inputs %v", n.Name, n.Inputs)
			}
		}
	}
	if got, want := strings.Join(ops, " "), "Conv BatchNormalization MaxPool Flatten Gemm Relu BatchNormalization Gemm Softmax"; got != want {
		t.Errorf("nodes %s\nwant  %s", got, want)
	}
	onnxFile := filepath.Join(t.TempDir(), "bn.onnx")
	if err := os.WriteFile(onnxFile, om.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if py, err := exec.LookPath("/usr/bin/python3"); err == nil && exec.Command(py, "-c", "import onnx").Run() == nil {
		check := exec.Command(py, "-c", `import sys, onnx
m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
init = {t.name for t in m.graph.initializer}
bn = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
assert [list(n.input[1:]) for n in bn] == [["batch_norm_1/gamma", "batch_norm_1/beta", "batch_norm_1/moving_mean", "batch_norm_1/moving_variance"],
    ["batch_norm_2/gamma", "batch_norm_2/beta", "batch_norm_2/moving_mean", "batch_norm_2/moving_variance"]], bn
assert all(i in init for n in bn for i in n.input[1:])
`, onnxFile)
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("onnx checker: %v\n%s", err, b)
		}
	} else {
		t.Log("python3-onnx is not installed: the ONNX checker is not run")
	}
}
