package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A model with the activation layer, swish, leaky_relu and global pooling trains, its stored
// weights give back its test accuracy, and it exports as ONNX with the matching nodes.
func TestSmallKindsTrainAndExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := RunOptions{Out: dir, LimitTrain: 200, Progress: "none"}
	if err := Run(context.Background(), "testdata/small-kinds.yaml", opts, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	sm, err := OpenStoredModel(dir, StoredRequest{Point: "n=2"})
	if err != nil {
		t.Fatal(err)
	}
	test, err := sm.TestData()
	if err != nil {
		t.Fatal(err)
	}
	got, err := sm.Evaluate(test, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accuracy != sm.Record.TestAccuracy || got.Loss != sm.Record.TestLoss {
		t.Errorf("reloaded weights give %+v, the record %v, %v", got, sm.Record.TestAccuracy, sm.Record.TestLoss)
	}
	m, err := ONNXModel(sm)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range m.Graph.Nodes {
		ops = append(ops, n.Op)
	}
	want := "Conv Sigmoid Mul MaxPool Conv LeakyRelu GlobalAveragePool Flatten Gemm LeakyRelu Sigmoid Mul Gemm Softmax"
	if strings.Join(ops, " ") != want {
		t.Errorf("nodes %s\nwant  %s", strings.Join(ops, " "), want)
	}
	for _, n := range m.Graph.Nodes {
		if n.Op == "Mul" && (len(n.Inputs) != 2 || !strings.HasSuffix(n.Inputs[1], "/swish_sigmoid")) {
			t.Errorf("swish's Mul multiplies %v, want the input and its sigmoid", n.Inputs)
		}
	}
}
