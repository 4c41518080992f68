package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// gzipBomb returns a gzip file whose IDX header (type 0x08, dims) is followed by n zero bytes.
func gzipBomb(t *testing.T, dims []uint32, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(idxBytes(0x08, dims, nil))
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zeros))
		if _, err := zw.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDescribeStreamsLabels checks that Describe does not hold a labels file in memory: a
// 64 KB gzip file of 64 M labels is counted, not stored. It is not parallel, so no other test
// allocates while it measures.
func TestDescribeStreamsLabels(t *testing.T) {
	const n = 64 << 20
	fs := smallFiles(2, 2, 0, 2)
	fs[1] = gzipBomb(t, []uint32{n}, n)
	files := fs.write(t, t.TempDir())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Describe(t.Context(), files)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "has 6 images but") {
		t.Errorf("Describe error %v, want the count mismatch", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("Describe allocated %d MB for a %d-byte labels file of %d labels, want under 16 MB", got>>20, len(fs[1]), n)
	}
}

// TestGzipClaimBeyondWhatItCanHold checks that a header claiming more than deflate can expand
// the file to is refused at once, in Describe and in Load: the 1.4 MB labels file claiming
// 1.5×10⁹ labels, and an images file of 1.5 M images in a few kilobytes.
func TestGzipClaimBeyondWhatItCanHold(t *testing.T) {
	t.Parallel()
	labels := gzipBomb(t, []uint32{1_500_000_000}, 1<<20)
	images := gzipBomb(t, []uint32{1_500_000, 28, 28}, 1<<20)
	tests := []struct {
		name string
		edit func(fs *fileSet)
		want string
	}{
		{"labels", func(fs *fileSet) { fs[1] = labels },
			"dir/train-labels: header says 1500000000 labels (1,500,000,000 bytes), more than a gzip file of "},
		{"images", func(fs *fileSet) { fs[2] = images },
			"dir/test-images: header says 1500000 images of 28×28 (1,176,000,000 bytes), more than a gzip file of "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := smallFiles(2, 2, 0, 2)
			tt.edit(&fs)
			dir := t.TempDir()
			files := fs.write(t, dir)
			_, derr := Describe(t.Context(), files)
			_, lerr := Load(t.Context(), files)
			for what, err := range map[string]error{"Describe": derr, "Load": lerr} {
				if err == nil || !strings.HasPrefix(strings.ReplaceAll(err.Error(), dir, "dir"), tt.want) ||
					!strings.Contains(err.Error(), "deflate expands at most 1032-fold") {
					t.Errorf("%s error %v, want %q…", what, err, tt.want)
				}
			}
		})
	}
}

// TestClaimBeyondMemory checks that data the machine's memory cannot hold are refused from the
// headers, in Describe (so validate reports it) and in Load. It is not parallel: it replaces
// memoryLimit.
func TestClaimBeyondMemory(t *testing.T) {
	defer func(f func() int64) { memoryLimit = f }(memoryLimit)
	memoryLimit = func() int64 { return 1 << 20 }
	fs := smallFiles(2, 2, 0, 2)
	fs[0] = gzipBomb(t, []uint32{100_000, 2, 2}, 400_000) // 2 MB of memory to decode
	fs[1] = idxBytes(0x08, []uint32{100_000}, bytes.Repeat([]byte{0, 1}, 50_000))
	dir := t.TempDir()
	files := fs.write(t, dir)
	want := "dir/train-images: header says 100000 images of 2×2, which needs 2.0 MB of memory to decode, more than this machine's 1.0 MB; use fewer or smaller images, or a machine with more memory"
	if _, err := Load(t.Context(), files); err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dir, "dir"), want) {
		t.Errorf("Load error %v\nwant %s", err, want)
	}
	if _, err := Describe(t.Context(), files); err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dir, "dir"), want) {
		t.Errorf("Describe error %v\nwant %s", err, want)
	}
	// Together the files need more than each alone.
	memoryLimit = func() int64 { return 2_200_000 }
	want = "dir/train-images: with dir/test-images the data set has 100,003 images of 2×2 and 100,003 labels, which needs 2.5 MB of memory to decode, more than this machine's 2.2 MB"
	if _, err := Describe(t.Context(), files); err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dir, "dir"), want) {
		t.Errorf("Describe error %v\nwant %s", err, want)
	}
}

// TestReadCancelled checks that Load and Describe stop with the context's error.
func TestReadCancelled(t *testing.T) {
	t.Parallel()
	files := smallFiles(2, 2, 0, 2).write(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Load(ctx, files); !errors.Is(err, context.Canceled) {
		t.Errorf("Load error %v, want context.Canceled", err)
	}
	if _, err := Describe(ctx, files); !errors.Is(err, context.Canceled) {
		t.Errorf("Describe error %v, want context.Canceled", err)
	}
}

// TestNotRegularFile checks that a folder in place of a file is refused by name.
func TestNotRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := smallFiles(2, 2, 0, 2).write(t, dir)
	files.TestImages = filepath.Join(dir, "sub")
	if err := os.Mkdir(files.TestImages, 0o755); err != nil {
		t.Fatal(err)
	}
	want := "dir/sub: is a folder, not a file; data sets are read from regular files (save the data to a file first)"
	for what, f := range map[string]func() error{
		"Load":     func() error { _, err := Load(t.Context(), files); return err },
		"Describe": func() error { _, err := Describe(t.Context(), files); return err },
	} {
		if err := f(); err == nil || strings.ReplaceAll(err.Error(), dir, "dir") != want {
			t.Errorf("%s error %v\nwant %s", what, err, want)
		}
	}
}
