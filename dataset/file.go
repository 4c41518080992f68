package dataset

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// maxGzipRatio is the most a deflate stream can expand: each 258-byte match takes at least two
// bits (RFC 1951), so a gzip file of S bytes holds at most 1032·S bytes of data. A header that
// claims more than that of a gzip file is a lie, and is refused before anything is read.
const maxGzipRatio = 1032

// openRegular opens path for reading if it is a regular file (symbolic links followed) and
// returns it with its size in bytes. Anything else (a named pipe, a device, a socket, a folder) is
// refused before it is opened, since opening or reading a FIFO blocks until someone writes to it.
func openRegular(path string) (*os.File, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open"
		}
		return nil, 0, err
	}
	if err := checkRegular(path, info); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	// The path could have been replaced between the two calls: check what was opened.
	if info, err = f.Stat(); err != nil || checkRegular(path, info) != nil {
		f.Close()
		if err == nil {
			err = checkRegular(path, info)
		}
		return nil, 0, err
	}
	return f, info.Size(), nil
}

// checkRegular returns an error naming what path is unless info describes a regular file.
func checkRegular(path string, info fs.FileInfo) error {
	m := info.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a folder, not a file"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file"
	case m&fs.ModeSocket != 0:
		what = "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		what = "a device, not a regular file"
	}
	return fmt.Errorf("%s: is %s; data sets are read from regular files (save the data to a file first)", path, what)
}

// ctxReader stops reading once its context is done, so that reading a large or slow file can be
// cancelled between two reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// gzipReader is a gzip stream whose errors say that the compressed data is at fault.
type gzipReader struct {
	zr  *gzip.Reader
	out int64 // bytes decompressed so far
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	g.out += int64(n)
	var corrupt flate.CorruptInputError
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
		err = &corruptGzipError{err: err, after: g.out}
	}
	return n, err
}

// corruptGzipError is a failure of the gzip layer of a file: a stream that ends early, a bad
// checksum, invalid deflate data. It deliberately does not unwrap to io.ErrUnexpectedEOF, so the
// IDX readers do not take it for a short IDX file.
type corruptGzipError struct {
	err   error
	after int64 // bytes decompressed before it
}

func (e *corruptGzipError) Error() string {
	switch {
	case errors.Is(e.err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("corrupt gzip: the compressed data ends early, after %s decompressed; the file is truncated", byteCount(e.after))
	case errors.Is(e.err, gzip.ErrChecksum):
		return fmt.Sprintf("corrupt gzip: checksum mismatch after %s decompressed; the file is damaged", byteCount(e.after))
	}
	return fmt.Sprintf("corrupt gzip after %s decompressed: %s", byteCount(e.after), strings.TrimPrefix(e.err.Error(), "gzip: "))
}

// idxReader returns a reader of r's IDX bytes, gunzipping them if r starts with the gzip magic
// bytes 1f 8b, and whether it did.
func idxReader(r io.Reader, name string) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	// A short or unreadable file is left for the IDX reader to report.
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, true, fmt.Errorf("%s: truncated: gzip data ends inside its header", name)
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: corrupt gzip: %s", name, strings.TrimPrefix(err.Error(), "gzip: "))
	}
	return &gzipReader{zr: zr}, true, nil
}

// limits bound what a file's header may claim before its data is read.
type limits struct {
	// stored is the file's size in bytes as stored (compressed or not); -1 when unknown.
	stored int64
	// compressed says whether the file is gzip-compressed.
	compressed bool
}

// unknownSize is the limits of a reader whose size is unknown: only the machine's memory bounds
// its header.
var unknownSize = limits{stored: -1}

// checkClaim checks that a header's claim of data bytes, which decode into memBytes bytes of
// memory, fits the file's stored size and the machine's memory. what describes the claim ("60000
// images of 28×28"); headerBytes is the size of the IDX header.
func (l limits) checkClaim(name, what string, dataBytes, memBytes int64, headerBytes int) error {
	switch {
	case l.stored < 0:
	case !l.compressed && dataBytes > l.stored-int64(headerBytes):
		return fmt.Errorf("%s: truncated: header says %s (%s bytes), file has %s after the %d-byte header",
			name, what, numfmt.GroupDigits(dataBytes), numfmt.GroupDigits(max(0, l.stored-int64(headerBytes))), headerBytes)
	case l.compressed && dataBytes/maxGzipRatio >= l.stored:
		return fmt.Errorf("%s: header says %s (%s bytes), more than a gzip file of %s can hold (deflate expands at most %d-fold); the file is truncated or its header is corrupt",
			name, what, numfmt.GroupDigits(dataBytes), byteCount(l.stored), maxGzipRatio)
	}
	return checkMemory(name, "header says "+what, memBytes)
}

// checkMemory refuses data that would need more memory than the machine has.
func checkMemory(name, what string, memBytes int64) error {
	if limit := memoryLimit(); limit > 0 && memBytes > limit {
		return fmt.Errorf("%s: %s, which needs %s of memory to decode, more than this machine's %s; use fewer or smaller images, or a machine with more memory",
			name, what, sizeString(memBytes), sizeString(limit))
	}
	return nil
}

// decodedBytes is the memory decoding n stored bytes takes: the bytes themselves and their
// 4-byte values (float32 pixels, int32 labels).
func decodedBytes(n int64) int64 { return 5 * n }

// memoryLimit returns the bytes of memory this process can use: the physical memory, or its
// control group's limit when that is lower; 0 when unknown. Tests replace it.
var memoryLimit = sync.OnceValue(systemMemory)

// systemMemory reads the machine's memory from /proc/meminfo and the control group's limit
// (cgroup v2 memory.max, or v1 memory.limit_in_bytes), on Linux; elsewhere it returns 0.
func systemMemory() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err == nil {
					total = kb << 10
				}
			}
		}
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if lim, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
	}
	return total
}

// sizeString writes a size in bytes with an SI prefix: "512 bytes", "47 MB", "5.9 GB".
func sizeString(b int64) string {
	const k = 1000
	if b < k {
		return byteCount(b)
	}
	v, unit := float64(b), ""
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB", "EB"} {
		if v < k {
			break
		}
		v, unit = v/k, u
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
