package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCIFARFolder writes a CIFAR-10 folder in the real layout (five training batches, a test
// batch, batches.meta.txt) with perBatch records in each batch: class k's images are bright in
// channel k%3 and dark elsewhere, with noise, so that a small network learns them quickly.
func writeCIFARFolder(t *testing.T, dir string, perBatch int) {
	t.Helper()
	seed := uint32(1)
	noise := func() byte { seed = seed*1664525 + 1013904223; return byte(seed >> 27) }
	batch := func(first int) []byte {
		var b []byte
		for i := range perBatch {
			label := (first + i) % 3
			b = append(b, byte(label))
			for ch := range 3 {
				for range 1024 {
					v := noise()
					if ch == label {
						v += 180
					}
					b = append(b, v)
				}
			}
		}
		return b
	}
	for i := range 5 {
		writeTestFile(t, filepath.Join(dir, "data_batch_"+string(rune('1'+i))+".bin"), batch(i*perBatch))
	}
	writeTestFile(t, filepath.Join(dir, "test_batch.bin"), batch(1))
	writeTestFile(t, filepath.Join(dir, "batches.meta.txt"),
		[]byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"))
}

func writeTestFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// colourSpec trains 32×32×3 images through every layer kind.
const colourSpec = `name: colour
dataset: {format: cifar10, dir: cifar-10-batches-bin, normalize: per-channel}
target: {min: 0.5}
sweep:
  n: [4]
train:
  epochs: 2
  batch_size: 8
  optimizer: {name: adam, learning_rate: 0.01}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, activation: relu}
    - maxpool2d: {pool: 2}
    - conv2d: {filters: 2n, kernel: 3, padding: same, activation: relu}
    - avgpool2d: {pool: 3}
    - dropout: {rate: 0.1}
    - flatten: {}
    - dense: {units: n, activation: tanh}
    - dense: {units: 10, activation: softmax}
`

// TestColourImagesTrain trains colour images from a CIFAR-10 folder for a few steps with each
// engine, through convolution, both poolings, dropout and dense layers, and checks that they learn
// and that the report names the classes.
func TestColourImagesTrain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "cifar-10-batches-bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeCIFARFolder(t, filepath.Join(dir, "cifar-10-batches-bin"), 12)
	path := filepath.Join(dir, "colour.yaml")
	writeTestFile(t, path, []byte(colourSpec))

	var params bytes.Buffer
	if err := Params(path, ParamsOptions{At: map[string]int64{"n": 4}}, &params); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(params.String(), "│ conv2d_1 (conv2d)       │ 30×30×4      │") || !strings.Contains(params.String(), "28n │    112") {
		t.Errorf("params of a 32×32×3 input:\n%s", params.String())
	}
	for _, engine := range []string{"fast", "stock"} {
		out := filepath.Join(dir, "out-"+engine)
		var stdout, stderr bytes.Buffer
		if err := Run(t.Context(), path, RunOptions{Out: out, Engine: engine, Progress: "none"}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", engine, err, stderr.String())
		}
		recs := openStore(t, out).Records()
		if len(recs) != 1 || recs[0].Status != "ok" || recs[0].TestAccuracy < 0.5 {
			t.Fatalf("%s: records %+v, want one ok point above 50%% (chance is 33%%)", engine, recs)
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		want := "- Data: `cifar10:" + filepath.Join(dir, "cifar-10-batches-bin") + "`, 60 training and 12 test images of 32×32×3 normalised `per-channel`; 10 classes: 0 airplane, 1 automobile, 2 bird, 3 cat,"
		if !strings.Contains(string(md), want) {
			t.Errorf("%s: report lacks %q:\n%s", engine, want, md)
		}
	}
	// The normalisation is part of the result key: without it, the point is trained again.
	writeTestFile(t, path, []byte(strings.Replace(colourSpec, ", normalize: per-channel", "", 1)))
	var stdout, stderr bytes.Buffer
	if err := Run(t.Context(), path, RunOptions{Out: filepath.Join(dir, "out-fast"), Progress: "none"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if recs := openStore(t, filepath.Join(dir, "out-fast")).Records(); len(recs) != 2 {
		t.Errorf("%d records after dropping normalize:, want 2", len(recs))
	}
	var mf Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "out-fast", ManifestFile))
	if err := json.Unmarshal(b, &mf); err != nil || mf.Dataset == nil || mf.Dataset.Shape != [3]int{32, 32, 3} || mf.Dataset.Normalize != "" {
		t.Errorf("manifest dataset %+v (%v)", mf.Dataset, err)
	}
}

// TestCIFARErrorsPositioned checks that a CIFAR-10 folder's problems are reported at dir:.
func TestCIFARErrorsPositioned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "colour.yaml")
	writeTestFile(t, path, []byte(colourSpec))
	err := Validate([]string{path}, new(bytes.Buffer))
	want := "colour.yaml:2:33: dataset.dir: cifar-10-batches-bin/data_batch_1.bin: missing; dir: must be the folder cifar-10-batches-bin of CIFAR-10's binary version"
	if got := strings.ReplaceAll(err.Error(), dir+"/", ""); err == nil || !strings.HasPrefix(got, want) {
		t.Errorf("validate error\n got %v\nwant %s…", got, want)
	}
}

// TestFashionMNISTSpec validates examples/fashion-cnn2.yaml: valid where Debian's package is
// installed (.ci/run installs it), and otherwise an error with the command that installs it.
func TestFashionMNISTSpec(t *testing.T) {
	t.Parallel()
	path := "../examples/fashion-cnn2.yaml"
	err := Validate([]string{path}, new(bytes.Buffer))
	if _, statErr := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); statErr == nil {
		if err != nil {
			t.Errorf("validate: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), path+":6:10: dataset: fashion-mnist: ") || !strings.Contains(err.Error(), "`apt-get install dataset-fashion-mnist`") {
		t.Errorf("validate without the package: %v", err)
	}
}
