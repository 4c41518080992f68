package dataset

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// mnistFiles names the MNIST files in this package's directory.
var mnistFiles = Files{
	TrainImages: filepath.Join("mnist", "train-images-idx3-ubyte.gz"),
	TrainLabels: filepath.Join("mnist", "train-labels-idx1-ubyte.gz"),
	TestImages:  filepath.Join("mnist", "t10k-images-idx3-ubyte.gz"),
	TestLabels:  filepath.Join("mnist", "t10k-labels-idx1-ubyte.gz"),
}

func TestMNISTEmbeddedMD5(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		md5  string
	}{
		{"train images", mnistTrainImages, "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
		{"train labels", mnistTrainLabels, "d53e105ee54ea40749a09fcbcd1e9432"},
		{"test images", mnistTestImages, "9fb629c4189551a2d022fa330f9573f3"},
		{"test labels", mnistTestLabels, "ec29112dd5afa0611ce80d1b7f02629c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sum := md5.Sum(tt.data)
			if got := hex.EncodeToString(sum[:]); got != tt.md5 {
				t.Errorf("md5 = %s, want %s", got, tt.md5)
			}
		})
	}
}

func TestMNIST(t *testing.T) {
	t.Parallel()
	start := time.Now()
	d, err := MNIST()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST() took %v (including any wait for a concurrent first call)", time.Since(start))
	if d.Name != "mnist" {
		t.Errorf("Name = %q, want mnist", d.Name)
	}
	if got, want := d.Info(), MNISTInfo(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info() = %+v, want MNISTInfo() = %+v", got, want)
	}
	if again, _ := MNIST(); again != d {
		t.Error("second MNIST() returned a different *Data; want the shared one")
	}

	// The checksum, computed independently from the embedded bytes.
	all := sha256.New()
	for _, b := range [][]byte{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels} {
		s := sha256.Sum256(b)
		all.Write(s[:])
	}
	if want := hex.EncodeToString(all.Sum(nil)); d.Checksum != want {
		t.Errorf("Checksum = %s, want %s", d.Checksum, want)
	}

	for _, tt := range []struct {
		name          string
		set           *Set
		n             int
		firstLabels   []int32
		pixelsAtIndex int // an image with a known first nonzero pixel
		firstNonzero  int // its offset within the image
		value         float32
	}{
		// Well-known openings: training labels 5 0 4 1 9 …, test labels 7 2 1 0 4 ….
		// Image 0 of each set: first nonzero pixel of the 5 at row 5, col 12 (value 3), and of the
		// 7 at row 7, col 6 (value 84).
		{name: "train", set: d.Train, n: 60000, firstLabels: []int32{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, firstNonzero: 5*28 + 12, value: 3.0 / 255},
		{name: "test", set: d.Test, n: 10000, firstLabels: []int32{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, firstNonzero: 7*28 + 6, value: 84.0 / 255},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.set
			if s.N != tt.n || s.H != 28 || s.W != 28 || s.C != 1 || s.Classes != 10 {
				t.Fatalf("N,H,W,C,Classes = %d,%d,%d,%d,%d; want %d,28,28,1,10", s.N, s.H, s.W, s.C, s.Classes, tt.n)
			}
			if len(s.Images) != tt.n*28*28 || len(s.Labels) != tt.n {
				t.Fatalf("len(Images), len(Labels) = %d, %d", len(s.Images), len(s.Labels))
			}
			if got := s.Labels[:len(tt.firstLabels)]; !slices.Equal(got, tt.firstLabels) {
				t.Errorf("first labels = %v, want %v", got, tt.firstLabels)
			}
			var counts [10]int
			for i, l := range s.Labels {
				if l < 0 || l >= 10 {
					t.Fatalf("Labels[%d] = %d, out of [0,10)", i, l)
				}
				counts[l]++
			}
			for c, n := range counts {
				if n < tt.n/20 {
					t.Errorf("class %d has %d examples, implausibly few", c, n)
				}
			}
			lo, hi := slices.Min(s.Images), slices.Max(s.Images)
			if lo != 0 || hi != 1 {
				t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
			}
			img := s.Example(0)
			first := slices.IndexFunc(img, func(v float32) bool { return v != 0 })
			if first != tt.firstNonzero || img[first] != tt.value {
				t.Errorf("first nonzero pixel of image 0 at %d = %v, want at %d = %v", first, img[first], tt.firstNonzero, tt.value)
			}
		})
	}
}

func TestDescribeMNISTFiles(t *testing.T) {
	t.Parallel()
	got, err := Describe(t.Context(), mnistFiles)
	if err != nil {
		t.Fatal(err)
	}
	if want := MNISTInfo(); !reflect.DeepEqual(got, want) {
		t.Errorf("Describe = %+v, want %+v", got, want)
	}
}

// TestLoadMNISTFiles loads the MNIST files from disk and checks that the result equals the
// embedded MNIST, checksum included.
func TestLoadMNISTFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes MNIST a second time")
	}
	t.Parallel()
	got, err := Load(t.Context(), mnistFiles)
	if err != nil {
		t.Fatal(err)
	}
	want, err := MNIST()
	if err != nil {
		t.Fatal(err)
	}
	if got.Checksum != want.Checksum {
		t.Errorf("Checksum = %s, want MNIST's %s", got.Checksum, want.Checksum)
	}
	if got.Name != "idx:"+mnistFiles.TrainImages {
		t.Errorf("Name = %q", got.Name)
	}
	for _, p := range [][2]*Set{{got.Train, want.Train}, {got.Test, want.Test}} {
		if !slices.Equal(p[0].Images, p[1].Images) || !slices.Equal(p[0].Labels, p[1].Labels) {
			t.Error("loaded files differ from the embedded MNIST")
		}
	}
}

// BenchmarkDecodeMNIST decodes the embedded MNIST (all four files, as MNIST() does on its first
// call) and reports its time as a ratio to gunzipping the same files to io.Discard, measured in
// the same run: the ratio is what decoding costs beyond decompression.
func BenchmarkDecodeMNIST(b *testing.B) {
	files := [][]byte{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels}
	var decodeTime, gunzipTime time.Duration
	for b.Loop() {
		start := time.Now()
		for _, f := range files {
			zr, err := gzip.NewReader(bytes.NewReader(f))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
		gunzipTime += time.Since(start)

		start = time.Now()
		if _, err := decodeMNIST(); err != nil {
			b.Fatal(err)
		}
		decodeTime += time.Since(start)
	}
	b.ReportMetric(float64(decodeTime)/float64(gunzipTime), "decode/gunzip")
	b.ReportMetric(float64(gunzipTime.Milliseconds())/float64(b.N), "gunzip-ms/op")
	b.ReportMetric(float64(decodeTime.Milliseconds())/float64(b.N), "decode-ms/op")
}
