package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/spec"
)

// Models with the activation layer, swish, leaky_relu, global pooling and residual blocks (nested,
// projected on images and on vectors) train, their stored weights give back their test metrics,
// and they export as ONNX with the matching nodes.
func TestSmallKindsTrainAndExport(t *testing.T) {
	t.Parallel()
	tests := []struct{ spec, nodes string }{
		{"testdata/small-kinds.yaml", "Conv Sigmoid Mul MaxPool Conv LeakyRelu GlobalAveragePool Flatten Gemm LeakyRelu Sigmoid Mul Gemm Softmax"},
		{"testdata/residual.yaml", "Conv Relu Conv Relu Conv Add Relu Conv Sigmoid Mul Conv Add Conv Add GlobalAveragePool Flatten Gemm Relu Gemm Add Gemm Softmax"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := RunOptions{Out: dir, LimitTrain: 200, Progress: "none"}
			if err := Run(context.Background(), tt.spec, opts, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
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
				if n.Op == "Mul" && (len(n.Inputs) != 2 || !strings.HasSuffix(n.Inputs[1], "/swish_sigmoid")) {
					t.Errorf("swish's Mul multiplies %v, want the input and its sigmoid", n.Inputs)
				}
			}
			if strings.Join(ops, " ") != tt.nodes {
				t.Errorf("nodes %s\nwant  %s", strings.Join(ops, " "), tt.nodes)
			}
			if len(m.Graph.Initializers) != len(sm.Weights.Names) {
				t.Errorf("%d initializers for %d weight tensors", len(m.Graph.Initializers), len(sm.Weights.Names))
			}
		})
	}
}

// The residual model's Add nodes add each block's output to its input (or its projection).
func TestONNXResidualAddsShortcut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Run(context.Background(), "testdata/residual.yaml", RunOptions{Out: dir, LimitTrain: 64, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	sm, err := OpenStoredModel(dir, StoredRequest{Point: "n=2"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ONNXModel(sm)
	if err != nil {
		t.Fatal(err)
	}
	var adds []string
	for _, n := range m.Graph.Nodes {
		if n.Op == "Add" {
			adds = append(adds, n.Name+"="+strings.Join(n.Inputs, "+"))
		}
	}
	want := "residual_1=conv2d_3+conv2d_1/relu residual_3=conv2d_5+conv2d_4/swish residual_2=residual_3+residual_2/projection residual_4=dense_1/relu+residual_4/projection"
	if got := strings.Join(adds, " "); got != want {
		t.Errorf("adds %s\nwant %s", got, want)
	}
}

// A residual block's inner layers enter the result key: changing one inner activation, or the
// projection, changes the key.
func TestResidualInnerLayersEnterKey(t *testing.T) {
	t.Parallel()
	key := func(inner, project string) string {
		src := "name: k\ndataset: mnist\ntarget: {min: 0.5}\nmodel:\n  layers:\n    - conv2d: {filters: 2, kernel: 3, padding: same}\n" +
			"    - residual: {project: " + project + ", layers: [{conv2d: {filters: 2, kernel: 3, padding: same, activation: " + inner + "}}]}\n" +
			"    - flatten: {}\n    - dense: {units: 10}\n"
		s, errs := spec.Parse("k.yaml", []byte(src))
		if errs != nil {
			t.Fatal(errs.Lines())
		}
		ms, errs := spec.Expand(s, &spec.DataInfo{H: 28, W: 28, C: 1, Classes: 10})
		if errs != nil {
			t.Fatal(errs.Lines())
		}
		return pointKey(ms[0], ms[0].Points[0], 0, "sum", "fast")
	}
	relu, tanh, projected := key("relu", "false"), key("tanh", "false"), key("relu", "true")
	if relu == tanh || relu == projected || tanh == projected {
		t.Errorf("keys relu %s, tanh %s, projected %s: want three different keys", relu, tanh, projected)
	}
	if relu != key("relu", "false") {
		t.Error("the key of one model is not stable")
	}
}
