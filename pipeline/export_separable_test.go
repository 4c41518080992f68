package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/onnx"
	"github.com/nnsweep/nnsweep/safetensors"
)

// Depthwise convolutions become a Conv with group = input channels, separable ones a grouped
// Conv then a 1×1 Conv with the bias; the file passes python3-onnx's checker where installed
// (tools/onnx-check runs testdata/separable-kinds.yaml in onnxruntime-web too).
func TestONNXSeparableNodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Run(context.Background(), "testdata/separable-kinds.yaml", RunOptions{Out: dir, LimitTrain: 200, Progress: "none"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
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
	var nodes []string
	for _, n := range m.Graph.Nodes {
		desc := n.Op
		if n.Op == "Conv" {
			desc += "(" + strings.Join(n.Inputs[1:], ",") + ")"
		}
		nodes = append(nodes, desc)
	}
	want := "Conv(conv2d_1/kernel,conv2d_1/bias) Relu " +
		"Conv(depthwise_conv2d_1/depthwise_kernel,depthwise_conv2d_1/bias) Tanh " +
		"Conv(separable_conv2d_1/depthwise_kernel) Conv(separable_conv2d_1/pointwise_kernel,separable_conv2d_1/bias) Relu " +
		"Conv(depthwise_conv2d_2/depthwise_kernel) " +
		"Conv(separable_conv2d_2/depthwise_kernel) Conv(separable_conv2d_2/pointwise_kernel) Sigmoid " +
		"Flatten Gemm Softmax"
	if got := strings.Join(nodes, " "); got != want {
		t.Errorf("nodes %s\nwant  %s", got, want)
	}
	// The groups are the input channels: n=2, then 2·2 = 4 after the first depthwise layer, then
	// the separable's 2n = 4 and again 4 after the second depthwise layer (multiplier 1).
	var groups []onnx.Attr
	for _, n := range m.Graph.Nodes {
		for _, a := range n.Attrs {
			if a.Name == "group" {
				groups = append(groups, a)
			}
		}
	}
	var wantGroups []onnx.Attr
	for _, g := range []int64{1, 2, 4, 1, 4, 4, 1} {
		wantGroups = append(wantGroups, onnx.IntAttr("group", g))
	}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("groups %v, want %v", groups, wantGroups)
	}
	b, err := os.ReadFile(filepath.Join(dir, sm.Record.Weights))
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if layout := st.Metadata["layout"]; layout != weightsLayout+depthwiseLayout {
		t.Errorf("weights layout %q", layout)
	}
	file := filepath.Join(t.TempDir(), "m.onnx")
	if err := Export(dir, ExportOptions{StoredRequest: StoredRequest{Point: "n=2"}, Out: file}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if py, err := exec.LookPath("/usr/bin/python3"); err == nil && exec.Command(py, "-c", "import onnx").Run() == nil {
		check := exec.Command(py, "-c", "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", file)
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("onnx.checker: %v\n%s", err, b)
		}
	} else {
		t.Log("python3-onnx is not installed: the ONNX checker is not run")
	}
}
