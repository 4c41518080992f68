package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The turning point exports as ONNX that Debian's python3-onnx checker accepts (where it is
// installed; tools/onnx-check runs the files in onnxruntime), and as its stored weights.
func TestExport(t *testing.T) {
	t.Parallel()
	dir := trainedAllKinds(t)
	out := t.TempDir()
	var stdout bytes.Buffer
	onnxFile := filepath.Join(out, "m.onnx")
	if err := Export(dir, ExportOptions{Out: onnxFile}, &stdout); err != nil {
		t.Fatal(err)
	}
	if s := stdout.String(); !strings.Contains(s, "all-kinds n=2 seed ") || !strings.Contains(s, "the turning point n=2 (mean rule)") ||
		!strings.Contains(s, `input "input" float32 [N, 1, 28, 28] (NCHW`) {
		t.Errorf("export says:\n%s", s)
	}
	if py, err := exec.LookPath("/usr/bin/python3"); err == nil && exec.Command(py, "-c", "import onnx").Run() == nil {
		check := exec.Command(py, "-c", "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", onnxFile)
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("onnx.checker: %v\n%s", err, b)
		}
	} else {
		t.Log("python3-onnx is not installed: the ONNX checker is not run")
	}
	seed := int64(4)
	stFile := filepath.Join(out, "w.safetensors")
	if err := Export(dir, ExportOptions{StoredRequest: StoredRequest{Point: "n=4", Seed: &seed}, Format: "safetensors", Out: stFile}, &stdout); err != nil {
		t.Fatal(err)
	}
	sm, err := OpenStoredModel(dir, StoredRequest{Point: "n=4", Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(stFile)
	want, _ := os.ReadFile(filepath.Join(dir, sm.Record.Weights))
	if !bytes.Equal(got, want) {
		t.Error("the exported safetensors file is not the stored one")
	}
	if err := Export(dir, ExportOptions{Format: "tflite"}, &stdout); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), `--format "tflite": use one of onnx, safetensors`) {
		t.Errorf("--format tflite: %v", err)
	}
}

// A folder copied without its weights says so on export, with the command that trains them again.
func TestExportWithoutWeights(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dir, os.DirFS(trainedAllKinds(t))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, WeightsDir)); err != nil {
		t.Fatal(err)
	}
	err := Export(dir, ExportOptions{Out: filepath.Join(t.TempDir(), "m.onnx")}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("export without weights succeeded")
	}
	for _, want := range []string{"the weights of all-kinds n=2 seed ", "are missing from " + dir, "copied without its weights folder",
		"`nnsweep run SPEC --out " + dir + " --only all-kinds --points n=2 --force`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

// Every layer kind becomes its ONNX operator, with Keras's same padding as explicit pads (begin,
// then end) and average pooling over the real cells only.
func TestONNXModelNodes(t *testing.T) {
	t.Parallel()
	sm, err := OpenStoredModel(trainedAllKinds(t), StoredRequest{Point: "n=2"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ONNXModel(sm)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range m.Graph.Nodes {
		ops = append(ops, n.Op)
	}
	want := "Conv Tanh MaxPool Conv Relu AveragePool Conv MaxPool AveragePool Flatten Gemm Sigmoid Identity Gemm Gemm Softmax"
	if strings.Join(ops, " ") != want {
		t.Errorf("nodes %s\nwant  %s", strings.Join(ops, " "), want)
	}
	if len(m.Graph.Initializers) != len(sm.Weights.Names) || m.Graph.Initializers[2].Name != "conv2d_2/bias" || len(m.Graph.Initializers[2].Dims) != 1 {
		t.Errorf("initializers %v", m.Graph.Initializers[2])
	}
}

// The report names, under each turning point, the command that exports it, quoted for a shell.
func TestReportNamesExportCommand(t *testing.T) {
	t.Parallel()
	dir := trainedAllKinds(t)
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "`nnsweep export " + dir + " --model all-kinds --point n=2`"; !strings.Contains(string(md), want) {
		t.Errorf("report.md lacks %s", want)
	}
	if got := exportCommand("my runs/it's", "m", "n=2, m=4"); got != `nnsweep export 'my runs/it'\''s' --model m --point n=2,m=4` {
		t.Errorf("exportCommand: %s", got)
	}
}
