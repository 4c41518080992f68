package pipeline

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/dataset"
)

// writeIDX writes n images of 2×2 pixels and their labels (i mod classes) as IDX files.
func writeIDX(t *testing.T, dir, name string, n, classes int) (images, labels string) {
	t.Helper()
	img := binary.BigEndian.AppendUint32(nil, 0x00000803)
	for _, d := range []int{n, 2, 2} {
		img = binary.BigEndian.AppendUint32(img, uint32(d))
	}
	lab := binary.BigEndian.AppendUint32(nil, 0x00000801)
	lab = binary.BigEndian.AppendUint32(lab, uint32(n))
	for i := range n {
		img = append(img, byte(i), byte(3*i), byte(5*i), byte(7*i))
		lab = append(lab, byte(i%classes))
	}
	images, labels = filepath.Join(dir, name+"-images.idx"), filepath.Join(dir, name+"-labels.idx")
	os.WriteFile(images, img, 0o644)
	os.WriteFile(labels, lab, 0o644)
	return images, labels
}

// idxSpec writes a spec of a small MLP over IDX files of its own and returns its path.
func tinyIDXSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, 2)
	writeIDX(t, dir, "test", 10, 2)
	path := filepath.Join(dir, "idx.yaml")
	os.WriteFile(path, []byte(`name: idx
dataset: {train: {images: train-images.idx, labels: train-labels.idx}, test: {images: test-images.idx, labels: test-labels.idx}}
target: {min: 0.5}
sweep: {n: [2]}
train: {epochs: 1, batch_size: 8}
model:
  layers:
    - flatten: {}
    - dense: {units: n, activation: relu}
    - dense: {units: 2, activation: softmax}
`), 0o644)
	return path
}

// dataIdentity gives the Name and Checksum that loading the data gives, without decoding it.
func TestDataIdentityMatchesLoad(t *testing.T) {
	t.Parallel()
	mnist, err := dataset.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(tinyIDXSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	files, err := loadData(context.Background(), e.Spec)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Load("testdata/tiny-mlp.yaml")
	for _, c := range []struct {
		e    *Experiment
		data *dataset.Data
	}{{m, mnist}, {e, files}} {
		name, sum, _, err := dataIdentity(context.Background(), c.e.Spec)
		if err != nil || name != c.data.Name || sum != c.data.Checksum {
			t.Errorf("%s: identity %s %s (%v), loaded %s %s", c.e.Spec.File, name, sum, err, c.data.Name, c.data.Checksum)
		}
	}
}

// A run with nothing left to train does not load the data.
func TestRunLoadsNoDataWhenAllStored(t *testing.T) {
	t.Parallel()
	path := tinyIDXSpec(t)
	dir := t.TempDir()
	if log := runTiny(t, path, dir, RunOptions{}); !strings.Contains(log, "1 point to train, 0 already stored, data idx:") || !strings.Contains(log, "(40 training examples) loaded in") {
		t.Fatalf("first run:\n%s", log)
	}
	if log := runTiny(t, path, dir, RunOptions{}); !strings.Contains(log, "0 points to train, 1 already stored, data idx:") || !strings.Contains(log, "not loaded: nothing to train") {
		t.Fatalf("second run:\n%s", log)
	}
}
