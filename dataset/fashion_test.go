package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFashionMNIST reads the files of Debian's package dataset-fashion-mnist, and skips when the
// package is not installed (.ci/run installs it).
func TestFashionMNIST(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(fashionMNISTDir, fashionMNISTFiles[0].name)); err != nil {
		t.Skipf("Fashion-MNIST is not installed (apt-get install %s): %v", FashionMNISTPackage, err)
	}
	info, err := DescribeFashionMNIST()
	if err != nil || !reflect.DeepEqual(info, FashionMNISTInfo()) {
		t.Fatalf("DescribeFashionMNIST = %+v, %v; want %+v", info, err, FashionMNISTInfo())
	}
	d, err := FashionMNIST(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Info(); !reflect.DeepEqual(got, FashionMNISTInfo()) {
		t.Errorf("Info() = %+v, want %+v", got, FashionMNISTInfo())
	}
	if d.Name != "fashion-mnist" || d.Checksum != "4d8e31d2057f6f938ff47097ba334038e7aafbaf24b67665d2dd1ecda01730a3" {
		t.Errorf("Name %q, Checksum %s", d.Name, d.Checksum)
	}
	// Every class has 6000 training and 1000 test examples.
	for _, s := range []*Set{d.Train, d.Test} {
		count := make([]int, 10)
		for _, l := range s.Labels {
			count[l]++
		}
		for c, n := range count {
			if n != s.N/10 {
				t.Errorf("class %d (%s) has %d of %d examples", c, FashionMNISTClassNames[c], n, s.N)
			}
		}
	}
}

// TestFashionMNISTAbsentOrChanged checks the errors for a missing package and for files whose
// content is not Fashion-MNIST's. It is not parallel: it replaces fashionMNISTDir.
func TestFashionMNISTAbsentOrChanged(t *testing.T) {
	defer func(d string) { fashionMNISTDir = d }(fashionMNISTDir)
	fashionMNISTDir = t.TempDir()
	want := "fashion-mnist: dir/train-images-idx3-ubyte.gz is missing: install Debian's package with `apt-get install dataset-fashion-mnist` (as root), or give the four IDX files as dataset: {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}"
	for what, f := range map[string]func() error{
		"DescribeFashionMNIST": func() error { _, err := DescribeFashionMNIST(); return err },
		"FashionMNIST":         func() error { _, err := FashionMNIST(t.Context()); return err },
	} {
		if err := f(); err == nil || strings.ReplaceAll(err.Error(), fashionMNISTDir, "dir") != want {
			t.Errorf("%s error %v\nwant %s", what, err, want)
		}
	}

	for i, b := range smallFiles(2, 2, 0, 2) {
		writeFile(t, filepath.Join(fashionMNISTDir, fashionMNISTFiles[i].name), gzipped(t, b))
	}
	_, err := FashionMNIST(t.Context())
	want = "dir/train-images-idx3-ubyte.gz: the decompressed content has SHA-256 "
	if err == nil || !strings.HasPrefix(strings.ReplaceAll(err.Error(), fashionMNISTDir, "dir"), want) ||
		!strings.Contains(err.Error(), ", expected c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888; the file is damaged or not the one expected") {
		t.Errorf("FashionMNIST error %v\nwant %s…", err, want)
	}
}
