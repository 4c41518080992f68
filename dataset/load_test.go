package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fileSet is the content of the four files of a data set, in checksum order.
type fileSet [4][]byte

// smallFiles returns a valid data set: 6 training and 3 test images of h×w×c (c = 0 writes an
// idx3 file), labels cycling through 0..classes-1.
func smallFiles(h, w, c, classes int) fileSet {
	dims := func(n int) []uint32 {
		d := []uint32{uint32(n), uint32(h), uint32(w)}
		if c > 0 {
			d = append(d, uint32(c))
		}
		return d
	}
	size := h * w * max(c, 1)
	labels := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i % classes)
		}
		return b
	}
	return fileSet{
		idxBytes(0x08, dims(6), ramp(6*size)),
		idxBytes(0x08, []uint32{6}, labels(6)),
		idxBytes(0x08, dims(3), ramp(3*size)),
		idxBytes(0x08, []uint32{3}, labels(3)),
	}
}

// write stores fs in dir under the names train-images, train-labels, test-images, test-labels
// and returns them as Files.
func (fs fileSet) write(t *testing.T, dir string) Files {
	t.Helper()
	names := [4]string{"train-images", "train-labels", "test-images", "test-labels"}
	var paths [4]string
	for i, b := range fs {
		paths[i] = filepath.Join(dir, names[i])
		if err := os.WriteFile(paths[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Files{TrainImages: paths[0], TrainLabels: paths[1], TestImages: paths[2], TestLabels: paths[3]}
}

// checksum computes Data.Checksum of fs independently of the package.
func (fs fileSet) checksum() string {
	all := sha256.New()
	for _, b := range fs {
		s := sha256.Sum256(b)
		all.Write(s[:])
	}
	return hex.EncodeToString(all.Sum(nil))
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		h, w, c     int // c = 0: idx3
		classes     int // labels cycle through 0..classes-1
		gzip        [4]bool
		wantC       int
		wantClasses int
	}{
		{name: "plain idx3", h: 3, w: 2, c: 0, classes: 3, wantC: 1, wantClasses: 3},
		{name: "gzipped idx3", h: 3, w: 2, c: 0, classes: 3, gzip: [4]bool{true, true, true, true}, wantC: 1, wantClasses: 3},
		{name: "mixed", h: 2, w: 2, c: 0, classes: 2, gzip: [4]bool{true, false, false, true}, wantC: 1, wantClasses: 2},
		{name: "idx4 rgb gzipped", h: 2, w: 3, c: 3, classes: 6, gzip: [4]bool{true, true, true, true}, wantC: 3, wantClasses: 6},
		{name: "idx4 one channel", h: 4, w: 4, c: 1, classes: 4, wantC: 1, wantClasses: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain := smallFiles(tt.h, tt.w, tt.c, tt.classes)
			stored := plain
			for i, z := range tt.gzip {
				if z {
					stored[i] = gzipped(t, plain[i])
				}
			}
			files := stored.write(t, t.TempDir())
			d, err := Load(t.Context(), files)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != "idx:"+files.TrainImages {
				t.Errorf("Name = %q", d.Name)
			}
			if want := stored.checksum(); d.Checksum != want {
				t.Errorf("Checksum = %s, want %s", d.Checksum, want)
			}
			want := Info{H: tt.h, W: tt.w, C: tt.wantC, Classes: tt.wantClasses, TrainN: 6, TestN: 3}
			if got := d.Info(); !reflect.DeepEqual(got, want) {
				t.Errorf("Info() = %+v, want %+v", got, want)
			}
			if got, err := Describe(t.Context(), files); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Describe = %+v, %v; want %+v", got, err, want)
			}
			if d.Test.Classes != tt.wantClasses {
				t.Errorf("Test.Classes = %d, want %d", d.Test.Classes, tt.wantClasses)
			}
			for _, p := range []struct {
				set        *Set
				img, label []byte
			}{{d.Train, plain[0], plain[1]}, {d.Test, plain[2], plain[3]}} {
				hdr := len(p.img) - p.set.N*p.set.ExampleSize()
				for i, b := range p.img[hdr:] {
					if p.set.Images[i] != float32(b)/255 {
						t.Fatalf("Images[%d] = %v, want %v", i, p.set.Images[i], float32(b)/255)
					}
				}
				for i, b := range p.label[8:] {
					if p.set.Labels[i] != int32(b) {
						t.Fatalf("Labels[%d] = %d, want %d", i, p.set.Labels[i], b)
					}
				}
			}
		})
	}
}

func TestLoadChecksumDependsOnEveryFile(t *testing.T) {
	t.Parallel()
	base := smallFiles(2, 2, 0, 2)
	d, err := Load(t.Context(), base.write(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{d.Checksum: true}
	for i := range base {
		changed := base
		changed[i] = slices.Clone(base[i])
		changed[i][len(changed[i])-1] ^= 1 // a pixel or label 0 ↔ 1
		d, err := Load(t.Context(), changed.write(t, t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		if seen[d.Checksum] {
			t.Errorf("changing file %d left the checksum at one seen before", i)
		}
		seen[d.Checksum] = true
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	// Each case edits a valid fileSet; messages use the file names write gives, with dir
	// standing for the temporary directory.
	tests := []struct {
		name  string
		edit  func(t *testing.T, fs *fileSet)
		files func(f Files) Files // optional change of the paths
		want  string
		// describeToo: Describe must fail with the same message (it reads headers and labels).
		describeToo bool
	}{
		{
			name:        "count mismatch",
			edit:        func(t *testing.T, fs *fileSet) { fs[1] = idxBytes(0x08, []uint32{5}, []byte{0, 1, 0, 1, 0}) },
			want:        "dir/train-images has 6 images but dir/train-labels has 5 labels; each image needs exactly one label",
			describeToo: true,
		},
		{
			name: "both counts mismatch",
			edit: func(t *testing.T, fs *fileSet) {
				fs[1] = idxBytes(0x08, []uint32{5}, []byte{0, 1, 0, 1, 0})
				fs[3] = idxBytes(0x08, []uint32{4}, []byte{0, 1, 0, 1})
			},
			want: "dir/train-images has 6 images but dir/train-labels has 5 labels; each image needs exactly one label\n" +
				"dir/test-images has 3 images but dir/test-labels has 4 labels; each image needs exactly one label",
			describeToo: true,
		},
		{
			name:        "shape mismatch",
			edit:        func(t *testing.T, fs *fileSet) { fs[2] = idxBytes(0x08, []uint32{3, 2, 2, 3}, make([]byte, 36)) },
			want:        "dir/train-images has images of 2×2 but dir/test-images has images of 2×2×3; training and test images must have the same shape",
			describeToo: true,
		},
		{
			name:        "test label out of range",
			edit:        func(t *testing.T, fs *fileSet) { fs[3] = idxBytes(0x08, []uint32{3}, []byte{0, 7, 9}) },
			want:        "dir/test-labels: label 7 at index 1 (and 1 more) is outside the training classes 0..1 of dir/train-labels; a model learns only the classes it is trained on",
			describeToo: true,
		},
		{
			name:        "one class",
			edit:        func(t *testing.T, fs *fileSet) { fs[1] = idxBytes(0x08, []uint32{6}, make([]byte, 6)) },
			want:        "dir/train-labels: every label is 0; classification needs at least 2 classes",
			describeToo: true,
		},
		{
			name:        "missing file",
			edit:        func(t *testing.T, fs *fileSet) {},
			files:       func(f Files) Files { f.TestLabels += ".missing"; return f },
			want:        "open dir/test-labels.missing: no such file or directory",
			describeToo: true,
		},
		{
			name:  "no paths",
			edit:  func(t *testing.T, fs *fileSet) {},
			files: func(f Files) Files { return Files{TrainImages: f.TrainImages, TestImages: f.TestImages} },
			want: "dataset: Files.TrainLabels is empty; all four IDX files must be named\n" +
				"dataset: Files.TestLabels is empty; all four IDX files must be named",
			describeToo: true,
		},
		{
			name: "wrong magic and truncated, both reported",
			edit: func(t *testing.T, fs *fileSet) {
				fs[0] = []byte("P5\n2 2\n255\n....")
				fs[2] = fs[2][:20]
			},
			want: "dir/train-images: not an IDX file: magic bytes 00 00 08 03 or 00 00 08 04 expected, found 50 35 0a 32\n" +
				"dir/test-images: truncated: header says 3 images of 2×2 (12 bytes), file has 4 after the 16-byte header",
			describeToo: true,
		},
		{
			name:        "trailing bytes in plain images",
			edit:        func(t *testing.T, fs *fileSet) { fs[0] = append(fs[0], 1, 2, 3) },
			want:        "dir/train-images: 3 bytes after the 6 images of 2×2 the header declares; the header does not describe this file",
			describeToo: true,
		},
		{
			name: "truncated gzip images",
			edit: func(t *testing.T, fs *fileSet) { fs[0] = gzipped(t, fs[0])[:16] },
			want: "dir/train-images: corrupt gzip: the compressed data ends early, after 5 bytes decompressed; the file is truncated",
		},
		{
			name: "gzip trailer cut",
			edit: func(t *testing.T, fs *fileSet) {
				z := gzipped(t, fs[0])
				fs[0] = z[:len(z)-4]
			},
			want: "dir/train-images: corrupt gzip: the compressed data ends early, after 40 bytes decompressed; the file is truncated (after reading the 6 images of 2×2 the header declares)",
		},
		{
			name: "gzip data cut before any byte",
			edit: func(t *testing.T, fs *fileSet) { fs[2] = gzipped(t, fs[2])[:11] },
			want: "dir/test-images: corrupt gzip: the compressed data ends early, after 0 bytes decompressed; the file is truncated",
		},
		{
			name: "corrupt deflate data",
			edit: func(t *testing.T, fs *fileSet) {
				z := gzipped(t, fs[3])
				z[10] = 0xff // the first deflate block header: a reserved block type
				fs[3] = z
			},
			want: "dir/test-labels: corrupt gzip after 0 bytes decompressed: flate: corrupt input before offset 1",
		},
		{
			name:        "a label far above the others",
			edit:        func(t *testing.T, fs *fileSet) { fs[1] = idxBytes(0x08, []uint32{6}, []byte{0, 1, 2, 3, 200, 0}) },
			want:        "dir/train-labels: no label is 4..199, yet 1 label is above (label 200 at index 4); labels must number the classes 0..K-1, each with examples: correct the labels above 3 or renumber the classes",
			describeToo: true,
		},
		{
			name: "gzip header cut",
			edit: func(t *testing.T, fs *fileSet) { fs[0] = gzipped(t, fs[0])[:5] },
			want: "dir/train-images: truncated: gzip data ends inside its header",
		},
		{
			name: "gzip checksum",
			edit: func(t *testing.T, fs *fileSet) {
				z := gzipped(t, fs[3])
				z[len(z)-8] ^= 0xff // the CRC-32 of the trailer
				fs[3] = z
			},
			want: "dir/test-labels: corrupt gzip: checksum mismatch after 11 bytes decompressed; the file is damaged (after reading the 3 labels the header declares)",
		},
		{
			name:        "gzipped labels as images",
			edit:        func(t *testing.T, fs *fileSet) { fs[0] = gzipped(t, fs[1]) },
			want:        "dir/train-images: IDX file has 1 dimension; images files have 3 (N, H, W) or 4 (N, H, W, C); is this a labels file?",
			describeToo: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := smallFiles(2, 2, 0, 2)
			tt.edit(t, &fs)
			dir := t.TempDir()
			files := fs.write(t, dir)
			if tt.files != nil {
				files = tt.files(files)
			}
			_, err := Load(t.Context(), files)
			checkError(t, "Load", err, dir, tt.want)
			if tt.describeToo {
				_, err := Describe(t.Context(), files)
				checkError(t, "Describe", err, dir, tt.want)
			}
		})
	}
}

// checkError checks that err, with dir written as "dir", reads want; a want ending in a space
// needs only to begin the message.
func checkError(t *testing.T, what string, err error, dir, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %q", what, want)
	}
	got := strings.ReplaceAll(err.Error(), dir, "dir")
	if got != want && !(strings.HasSuffix(want, " ") && strings.HasPrefix(got, want)) {
		t.Errorf("%s error\n got %s\nwant %s", what, got, want)
	}
}
