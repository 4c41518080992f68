package pipeline

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxFile builds an IDX file of unsigned bytes with the given dimensions and data.
func idxFile(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// idxSpec is a spec over four IDX files in its folder, whose lines put dataset.train.images at
// 3:26, dataset.train.labels at 3:41, dataset.test.images at 4:18 and dataset.test.labels at
// 4:39; its classifier has 4 units.
const idxSpec = `name: idx
dataset:
  train: {images: train-images, labels: train-labels}
  test: {images: test-images, labels: test-labels}
target: {min: 0.5}
model:
  layers:
    - flatten: {}
    - dense: {units: 4, activation: softmax}
`

// writeIDXSpec writes idxSpec and four files of 2×2 images, 8 for training and 4 for test, with
// labels 0..3, after edit has changed them, and returns the spec's path.
func writeIDXSpec(t *testing.T, edit func(dir string, files map[string][]byte)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"train-images": idxFile([]uint32{8, 2, 2}, make([]byte, 32)),
		"train-labels": idxFile([]uint32{8}, []byte{0, 1, 2, 3, 0, 1, 2, 3}),
		"test-images":  idxFile([]uint32{4, 2, 2}, make([]byte, 16)),
		"test-labels":  idxFile([]uint32{4}, []byte{0, 1, 2, 3}),
	}
	edit(dir, files)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(path, []byte(idxSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// TestDataErrorsPointAtTheirFile checks that each data error is positioned at the key naming the
// file at fault, with advice that fits, in validate and in run.
func TestDataErrorsPointAtTheirFile(t *testing.T) {
	t.Parallel()
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name string
		edit func(dir string, files map[string][]byte)
		want string
	}{
		{
			name: "test label outside the classes",
			edit: func(dir string, f map[string][]byte) { f["test-labels"] = idxFile([]uint32{4}, []byte{0, 1, 2, 9}) },
			want: "spec.yaml:4:39: dataset.test.labels: test-labels: label 9 at index 3 is outside the training classes 0..3 of train-labels; a model learns only the classes it is trained on",
		},
		{
			name: "a label of 200 in a 4-class set",
			edit: func(dir string, f map[string][]byte) {
				f["train-labels"] = idxFile([]uint32{8}, []byte{0, 1, 2, 3, 0, 200, 2, 3})
			},
			want: "spec.yaml:3:41: dataset.train.labels: train-labels: no label is 4..199, yet 1 label is above (label 200 at index 5); labels must number the classes 0..K-1, each with examples: correct the labels above 3 or renumber the classes",
		},
		{
			name: "corrupt gzip test images",
			edit: func(dir string, f map[string][]byte) { f["test-images"] = gz(f["test-images"])[:11] },
			want: "spec.yaml:4:18: dataset.test.images: test-images: corrupt gzip: the compressed data ends early, after 0 bytes decompressed; the file is truncated",
		},
		{
			name: "fewer test labels than images",
			edit: func(dir string, f map[string][]byte) { f["test-labels"] = idxFile([]uint32{3}, []byte{0, 1, 2}) },
			want: "spec.yaml:4:39: dataset.test.labels: test-images has 4 images but test-labels has 3 labels; each image needs exactly one label",
		},
		{
			name: "test images of another shape",
			edit: func(dir string, f map[string][]byte) { f["test-images"] = idxFile([]uint32{4, 1, 4}, make([]byte, 16)) },
			want: "spec.yaml:4:18: dataset.test.images: train-images has images of 2×2 but test-images has images of 1×4; training and test images must have the same shape",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, path := writeIDXSpec(t, tt.edit)
			var out bytes.Buffer
			err := Validate([]string{path}, &out)
			check := func(what string, err error) {
				t.Helper()
				if ExitCode(err) != ExitInvalid {
					t.Errorf("%s: exit code %d (%v), want %d", what, ExitCode(err), err, ExitInvalid)
				}
				got := strings.ReplaceAll(err.Error(), dir+"/", "")
				if !strings.HasPrefix(got, tt.want) || strings.Contains(got, "use units") {
					t.Errorf("%s error\n got %s\nwant %s…", what, got, tt.want)
				}
			}
			check("validate", err)
		})
	}
}

// TestRunDataErrorsPositioned checks that a file that passes validate but fails to decode (a
// compressed images file is read past its header only by run) is reported by run at its key.
func TestRunDataErrorsPositioned(t *testing.T) {
	t.Parallel()
	dir, path := writeIDXSpec(t, func(dir string, f map[string][]byte) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(idxFile([]uint32{4, 2, 2}, make([]byte, 15)))
		zw.Close()
		f["test-images"] = buf.Bytes()
	})
	var stdout, stderr bytes.Buffer
	err := Run(t.Context(), path, RunOptions{Out: filepath.Join(dir, "out"), Progress: "lines"}, &stdout, &stderr)
	want := "spec.yaml:4:18: dataset.test.images: test-images: truncated: header says 4 images of 2×2 (16 bytes), file has 15 after the 16-byte header"
	if err == nil || ExitCode(err) != ExitInvalid || !strings.HasPrefix(strings.ReplaceAll(err.Error(), dir+"/", ""), want) {
		t.Errorf("run error %v (exit %d)\nwant %s…", err, ExitCode(err), want)
	}
}
