package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// idxBytes builds an IDX file of type code typ with the given dimensions and data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// ramp returns n bytes 0, 1, 2, … (mod 256).
func ramp(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// gzipped compresses b.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadImages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dims       []uint32
		n, h, w, c int
	}{
		{name: "idx3", dims: []uint32{3, 2, 4}, n: 3, h: 2, w: 4, c: 1},
		{name: "idx4 rgb", dims: []uint32{2, 3, 2, 3}, n: 2, h: 3, w: 2, c: 3},
		{name: "idx4 one channel", dims: []uint32{1, 2, 2, 1}, n: 1, h: 2, w: 2, c: 1},
		{name: "300 bytes wrap", dims: []uint32{1, 15, 20}, n: 1, h: 15, w: 20, c: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := ramp(tt.n * tt.h * tt.w * tt.c)
			n, h, w, c, pixels, err := ReadImages(bytes.NewReader(idxBytes(0x08, tt.dims, data)), "x.idx")
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.n || h != tt.h || w != tt.w || c != tt.c {
				t.Errorf("shape = %d,%d,%d,%d, want %d,%d,%d,%d", n, h, w, c, tt.n, tt.h, tt.w, tt.c)
			}
			if len(pixels) != len(data) {
				t.Fatalf("len(pixels) = %d, want %d", len(pixels), len(data))
			}
			for i, b := range data {
				if want := float32(b) / 255; pixels[i] != want {
					t.Fatalf("pixels[%d] = %v, want %v", i, pixels[i], want)
				}
			}
		})
	}
}

func TestPixelScaleEnds(t *testing.T) {
	t.Parallel()
	if pixelScale[0] != 0 || pixelScale[255] != 1 {
		t.Errorf("pixelScale[0], [255] = %v, %v; want 0, 1", pixelScale[0], pixelScale[255])
	}
}

func TestReadLabels(t *testing.T) {
	t.Parallel()
	data := []byte{5, 0, 4, 1, 9, 255}
	labels, err := ReadLabels(bytes.NewReader(idxBytes(0x08, []uint32{6}, data)), "l.idx")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{5, 0, 4, 1, 9, 255}; !slices.Equal(labels, want) {
		t.Errorf("labels = %v, want %v", labels, want)
	}
}

// TestReadLargeGrows reads a file bigger than the first allocation, through gzip, so the
// result has to grow, and checks every value survives.
func TestReadLargeGrows(t *testing.T) {
	t.Parallel()
	data := ramp(36 * 20000) // 11 chunks
	file := gzipped(t, idxBytes(0x08, []uint32{uint32(len(data) / 36), 6, 6}, data))
	zr, err := gzip.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, _, pixels, err := ReadImages(zr, "big.gz")
	if err != nil {
		t.Fatal(err)
	}
	if len(pixels) != len(data) || cap(pixels) != len(data) {
		t.Fatalf("len, cap = %d, %d; want %d", len(pixels), cap(pixels), len(data))
	}
	for i, b := range data {
		if pixels[i] != pixelScale[b] {
			t.Fatalf("pixels[%d] = %v, want %v", i, pixels[i], pixelScale[b])
		}
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		labels bool // read with ReadLabels instead of ReadImages
		input  []byte
		want   string
	}{
		{
			name:  "empty",
			input: nil,
			want:  "f.idx: empty file; expected an IDX images file",
		},
		{
			name:  "short magic",
			input: []byte{0, 0},
			want:  "f.idx: truncated: an IDX header starts with 4 magic bytes, file has 2",
		},
		{
			name:  "wrong magic",
			input: []byte("PK\x03\x04 a zip file"),
			want:  "f.idx: not an IDX file: magic bytes 00 00 08 03 or 00 00 08 04 expected, found 50 4b 03 04",
		},
		{
			name:   "wrong magic labels",
			labels: true,
			input:  []byte("hello"),
			want:   "f.idx: not an IDX file: magic bytes 00 00 08 01 expected, found 68 65 6c 6c",
		},
		{
			name:  "gzip",
			input: []byte{0x1f, 0x8b, 0x08, 0x00, 1, 2, 3},
			want:  "f.idx: not an IDX file: magic bytes 00 00 08 03 or 00 00 08 04 expected, found 1f 8b 08 00 (gzip data: decompress it first)",
		},
		{
			name:  "unknown type code",
			input: idxBytes(0x42, []uint32{1, 1, 1}, []byte{0}),
			want:  "f.idx: not an IDX file: magic bytes 00 00 08 03 or 00 00 08 04 expected, found 00 00 42 03",
		},
		{
			name:  "float32 images",
			input: idxBytes(0x0d, []uint32{1, 1, 1}, make([]byte, 4)),
			want:  "f.idx: unsupported IDX element type 0x0d (float32); only 0x08 (unsigned byte) is supported",
		},
		{
			name:   "int32 labels",
			labels: true,
			input:  idxBytes(0x0c, []uint32{1}, make([]byte, 4)),
			want:   "f.idx: unsupported IDX element type 0x0c (int32); only 0x08 (unsigned byte) is supported",
		},
		{
			name:  "labels file as images",
			input: idxBytes(0x08, []uint32{3}, []byte{1, 2, 3}),
			want:  "f.idx: IDX file has 1 dimension; images files have 3 (N, H, W) or 4 (N, H, W, C); is this a labels file?",
		},
		{
			name:  "2 dims",
			input: idxBytes(0x08, []uint32{2, 2}, make([]byte, 4)),
			want:  "f.idx: IDX file has 2 dimensions; images files have 3 (N, H, W) or 4 (N, H, W, C)",
		},
		{
			name:   "images file as labels",
			labels: true,
			input:  idxBytes(0x08, []uint32{1, 2, 2}, make([]byte, 4)),
			want:   "f.idx: IDX file has 3 dimensions; labels files have 1 (N); is this an images file?",
		},
		{
			name:  "truncated dims",
			input: idxBytes(0x08, []uint32{60000, 28, 28}, nil)[:10],
			want:  "f.idx: truncated: header of 3 dimensions needs 16 bytes, file has 10",
		},
		{
			name:  "truncated pixels",
			input: idxBytes(0x08, []uint32{60000, 28, 28}, make([]byte, 1234)),
			want:  "f.idx: truncated: header says 60000 images of 28×28 (47,040,000 bytes), file has 1,234 after the 16-byte header",
		},
		{
			name:  "truncated rgb pixels",
			input: idxBytes(0x08, []uint32{10, 32, 32, 3}, make([]byte, 30000)),
			want:  "f.idx: truncated: header says 10 images of 32×32×3 (30,720 bytes), file has 30,000 after the 20-byte header",
		},
		{
			name:   "truncated labels",
			labels: true,
			input:  idxBytes(0x08, []uint32{60000}, make([]byte, 59999)),
			want:   "f.idx: truncated: header says 60000 labels (60,000 bytes), file has 59,999 after the 8-byte header",
		},
		{
			name:  "100000 images in 16 bytes",
			input: idxBytes(0x08, []uint32{100_000, 28, 28}, nil),
			want:  "f.idx: truncated: header says 100000 images of 28×28 (78,400,000 bytes), file has 0 after the 16-byte header",
		},
		{
			name:  "absurd dimensions",
			input: idxBytes(0x08, []uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, nil),
			want:  "f.idx: absurd dimensions: header says 4294967295 images of 4294967295×4294967295×4294967295, more than 2,305,843,009,213,693,951 pixels in all; the header is corrupt or not an IDX header",
		},
		{
			name:  "zero images",
			input: idxBytes(0x08, []uint32{0, 28, 28}, nil),
			want:  "f.idx: header says 0 images; an images file needs at least one",
		},
		{
			name:  "zero width",
			input: idxBytes(0x08, []uint32{5, 28, 0}, nil),
			want:  "f.idx: header says images of 28×0, which have no pixels",
		},
		{
			name:   "zero labels",
			labels: true,
			input:  idxBytes(0x08, []uint32{0}, nil),
			want:   "f.idx: header says 0 labels; a labels file needs at least one",
		},
		{
			name:  "trailing bytes",
			input: idxBytes(0x08, []uint32{2, 2, 2}, make([]byte, 8+1500)),
			want:  "f.idx: 1,500 bytes after the 2 images of 2×2 the header declares; the header does not describe this file",
		},
		{
			name:   "trailing label bytes",
			labels: true,
			input:  idxBytes(0x08, []uint32{2}, make([]byte, 3)),
			want:   "f.idx: 1 byte after the 2 labels the header declares; the header does not describe this file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.labels {
				_, err = ReadLabels(bytes.NewReader(tt.input), "f.idx")
			} else {
				_, _, _, _, _, err = ReadImages(bytes.NewReader(tt.input), "f.idx")
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestReadImagesHugeHeaderAllocatesLittle checks that a 16-byte file claiming billions of images
// does not make ReadImages allocate for them. It is not parallel, so no other test allocates
// while it measures.
func TestReadImagesHugeHeaderAllocatesLittle(t *testing.T) {
	input := idxBytes(0x08, []uint32{4_000_000_000, 255, 255}, make([]byte, 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, _, _, _, err := ReadImages(bytes.NewReader(input), "huge"); err == nil {
			t.Fatal("no error for a 116-byte file claiming 4e9 images")
		}
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / 10; perCall > 1<<20 {
		t.Errorf("ReadImages allocated %d bytes per call for a 116-byte input, want under 1 MiB", perCall)
	}
}

func TestGroupDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {47040000, "47,040,000"}, {-1234567, "-1,234,567"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			t.Parallel()
			if got := numfmt.GroupDigits(tt.in); got != tt.want {
				t.Errorf("numfmt.GroupDigits(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func ExampleReadLabels() {
	// An IDX labels file: magic 00 00 08 01, one dimension (4, big-endian), then 4 bytes.
	file := []byte{0, 0, 8, 1, 0, 0, 0, 4, 5, 0, 4, 1}
	labels, err := ReadLabels(bytes.NewReader(file), "labels.idx")
	fmt.Println(labels, err)

	_, err = ReadLabels(bytes.NewReader(file[:10]), "short.idx")
	fmt.Println(err)
	// Output:
	// [5 0 4 1] <nil>
	// short.idx: truncated: header says 4 labels (4 bytes), file has 2 after the 8-byte header
}
