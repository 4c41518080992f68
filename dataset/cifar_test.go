package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cifarRecordBytes returns record i of a test batch: label i%10, and pixel (y, x, ch) equal to
// (i + 7y + 3x + 101ch) mod 256, stored as CIFAR-10 does, plane by plane.
func cifarRecordBytes(i int) []byte {
	rec := make([]byte, cifarRecord)
	rec[0] = byte(i % 10)
	for ch := range 3 {
		for y := range 32 {
			for x := range 32 {
				rec[1+ch*1024+y*32+x] = byte(i + 7*y + 3*x + 101*ch)
			}
		}
	}
	return rec
}

// cifarBatch returns a batch of records first, first+1, … first+n-1.
func cifarBatch(first, n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, cifarRecordBytes(first+i)...)
	}
	return b
}

// writeCIFAR writes a CIFAR-10 folder in the real layout: five training batches of perBatch
// records, a test batch of 4, a batches.meta.txt (with its trailing blank line) and a readme.
func writeCIFAR(t *testing.T, dir string, perBatch int) {
	t.Helper()
	for i, name := range cifarTrainFiles {
		writeFile(t, filepath.Join(dir, name), cifarBatch(i*perBatch, perBatch))
	}
	writeFile(t, filepath.Join(dir, cifarTestFile), cifarBatch(1000, 4))
	writeFile(t, filepath.Join(dir, cifarMetaFile), []byte(strings.Join(CIFAR10ClassNames, "\n")+"\n\n"))
	writeFile(t, filepath.Join(dir, "readme.html"), []byte("<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=http://www.cs.toronto.edu/~kriz/cifar.html\">\n"))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCIFAR10(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeCIFAR(t, dir, 3)
	d, err := LoadCIFAR10(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{H: 32, W: 32, C: 3, Classes: 10, TrainN: 15, TestN: 4, ClassNames: CIFAR10ClassNames}
	if got := d.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	if got, err := DescribeCIFAR10(dir); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DescribeCIFAR10 = %+v, %v; want %+v", got, err, want)
	}
	if d.Name != "cifar10:"+dir {
		t.Errorf("Name = %q", d.Name)
	}
	for _, c := range []struct {
		set   *Set
		first int
	}{{d.Train, 0}, {d.Test, 1000}} {
		for i := range c.set.N {
			rec := cifarRecordBytes(c.first + i)
			if c.set.Labels[i] != int32(rec[0]) {
				t.Fatalf("label %d = %d, want %d", i, c.set.Labels[i], rec[0])
			}
			img := c.set.Example(i)
			for _, p := range [][3]int{{0, 0, 0}, {0, 1, 2}, {5, 31, 1}, {31, 31, 2}, {17, 3, 0}} {
				y, x, ch := p[0], p[1], p[2]
				if got, want := img[(y*32+x)*3+ch], float32(byte(c.first+i+7*y+3*x+101*ch))/255; got != want {
					t.Fatalf("example %d pixel (%d,%d,%d) = %v, want %v", i, y, x, ch, got, want)
				}
			}
		}
	}
	all := sha256.New()
	for _, name := range append(slices.Clone(cifarTrainFiles), cifarTestFile) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		s := sha256.Sum256(b)
		all.Write(s[:])
	}
	if want := hex.EncodeToString(all.Sum(nil)); d.Checksum != want {
		t.Errorf("Checksum = %s, want %s", d.Checksum, want)
	}
}

func TestCIFAR10ClassNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeCIFAR(t, dir, 1)
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	writeFile(t, filepath.Join(dir, cifarMetaFile), []byte(strings.Join(names, "\r\n")))
	if info, err := DescribeCIFAR10(dir); err != nil || !slices.Equal(info.ClassNames, names) {
		t.Errorf("DescribeCIFAR10 = %v, %v; want names %v", info.ClassNames, err, names)
	}
	os.Remove(filepath.Join(dir, cifarMetaFile))
	if info, err := DescribeCIFAR10(dir); err != nil || !slices.Equal(info.ClassNames, CIFAR10ClassNames) {
		t.Errorf("without batches.meta.txt: %v, %v; want CIFAR-10's names", info.ClassNames, err)
	}
}

func TestCIFAR10Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
		// loadOnly: DescribeCIFAR10, which reads only sizes, does not see it.
		loadOnly bool
	}{
		{
			name: "missing batch",
			edit: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "data_batch_3.bin")) },
			want: "dir/data_batch_3.bin: missing; dir: must be the folder cifar-10-batches-bin of CIFAR-10's binary version (cifar-10-binary.tar.gz), with data_batch_1.bin … data_batch_5.bin and test_batch.bin",
		},
		{
			name: "truncated batch",
			edit: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarBatch(0, 3)[:2*3073+100])
			},
			want: "dir/test_batch.bin: truncated: 6,246 bytes is 2 whole records and 100 bytes of another; a CIFAR-10 batch is a sequence of 3,073-byte records (a label byte and 3,072 pixel bytes)",
		},
		{
			name: "empty batch",
			edit: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "data_batch_1.bin"), nil) },
			want: "dir/data_batch_1.bin: empty file; expected a CIFAR-10 batch of 3,073-byte records",
		},
		{
			name: "two files at fault, both reported",
			edit: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, "data_batch_5.bin"))
				writeFile(t, filepath.Join(dir, "test_batch.bin"), []byte{1, 2, 3})
			},
			want: "dir/data_batch_5.bin: missing; dir: must be the folder cifar-10-batches-bin of CIFAR-10's binary version (cifar-10-binary.tar.gz), with data_batch_1.bin … data_batch_5.bin and test_batch.bin\n" +
				"dir/test_batch.bin: truncated: 3 bytes is 0 whole records and 3 bytes of another; a CIFAR-10 batch is a sequence of 3,073-byte records (a label byte and 3,072 pixel bytes)",
		},
		{
			name: "label out of range",
			edit: func(t *testing.T, dir string) {
				b := cifarBatch(0, 3)
				b[2*3073] = 12
				writeFile(t, filepath.Join(dir, "data_batch_2.bin"), b)
			},
			want:     "dir/data_batch_2.bin: record 2 (0-based) has label 12; CIFAR-10's labels are 0..9 (CIFAR-100's binary format, with two label bytes per record, is not supported)",
			loadOnly: true,
		},
		{
			name: "a batch that is a folder",
			edit: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, "data_batch_4.bin"))
				os.Mkdir(filepath.Join(dir, "data_batch_4.bin"), 0o755)
			},
			want: "dir/data_batch_4.bin: is a folder, not a file; data sets are read from regular files (save the data to a file first)",
		},
		{
			name: "nine class names",
			edit: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, cifarMetaFile), []byte(strings.Join(CIFAR10ClassNames[:9], "\n")))
			},
			want: "dir/batches.meta.txt: names 9 classes; CIFAR-10's batches.meta.txt names 10, one a line",
		},
		{
			name: "no folder",
			edit: func(t *testing.T, dir string) {
				for _, name := range append(slices.Clone(cifarTrainFiles), cifarTestFile, cifarMetaFile, "readme.html") {
					os.Remove(filepath.Join(dir, name))
				}
			},
			want: "dir/data_batch_1.bin: missing; ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeCIFAR(t, dir, 3)
			tt.edit(t, dir)
			_, err := LoadCIFAR10(t.Context(), dir)
			checkError(t, "LoadCIFAR10", err, dir, tt.want)
			if !tt.loadOnly {
				_, err := DescribeCIFAR10(dir)
				checkError(t, "DescribeCIFAR10", err, dir, tt.want)
			}
		})
	}
}

func TestReadCIFARBatchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "b.bin: empty file; expected a CIFAR-10 batch of 3,073-byte records"},
		{"short record", cifarBatch(0, 2)[:3073+10], "b.bin: truncated: 1 whole record and 10 bytes of another; a CIFAR-10 batch is a sequence of 3,073-byte records (a label byte and 3,072 pixel bytes)"},
		{"gzip", append([]byte{0x1f, 0x8b}, make([]byte, 3071)...), "b.bin: record 0 (0-based) has label 31; CIFAR-10's labels are 0..9 (this is gzip data: extract cifar-10-binary.tar.gz first, with tar xzf)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			images, labels, err := ReadCIFARBatch(bytes.NewReader(tt.input), "b.bin")
			if err == nil || err.Error() != tt.want || images != nil || labels != nil {
				t.Errorf("error %v (%d images)\nwant %s", err, len(labels), tt.want)
			}
		})
	}
}
