package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// typeUnsignedByte is the IDX type code of unsigned byte elements, the only one supported.
const typeUnsignedByte = 0x08

// maxElements bounds the element count (N*H*W*C for images, N for labels) a header may declare,
// so that the count and its size as float32 bytes fit in an int.
const maxElements = math.MaxInt / 4

// chunkSize is the size in bytes of the readers' first data buffer (it doubles from there as
// data arrives) and of the buffer around a file.
const chunkSize = 64 << 10

// idxTypeNames names the IDX type codes, for error messages.
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0b: "int16",
	0x0c: "int32",
	0x0d: "float32",
	0x0e: "float64",
}

// pixelScale maps a stored byte to its intensity in [0,1]: pixelScale[b] = b/255.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// imageShape is what an images file's header declares.
type imageShape struct {
	n, h, w, c  int
	pixels      int // n*h*w*c, the number of data bytes
	headerBytes int // 4 + 4*dims
}

// String gives the shape in the words of error messages: "60000 images of 28×28".
func (s imageShape) String() string {
	return fmt.Sprintf("%d images of %s", s.n, shapeString(s.h, s.w, s.c))
}

// ReadImages reads an IDX images file of unsigned bytes from r: 3 dimensions (N, H, W; C is 1) or
// 4 (N, H, W, C). It returns the dimensions and the N*H*W*C pixels as intensities in [0,1]
// (byte / 255), example-major, HWC within an example, as stored. r must hold exactly the declared
// data: a short file or bytes after the data are errors. The memory used grows with the bytes
// actually present, whatever the header claims, and the float32 pixels are allocated only once
// all the data has arrived; a header claiming more than the machine's memory is refused at once.
// name is used in error messages, which start with it.
func ReadImages(r io.Reader, name string) (n, h, w, c int, pixels []float32, err error) {
	return readImages(r, name, unknownSize)
}

// readImages is ReadImages for a file whose stored size lim knows, so that a header claiming
// more than the file can hold is refused before its data is read.
func readImages(r io.Reader, name string, lim limits) (n, h, w, c int, pixels []float32, err error) {
	shape, err := readImagesHeader(r, name)
	if err != nil {
		return 0, 0, 0, 0, nil, err
	}
	if err := lim.checkClaim(name, shape.String(), int64(shape.pixels), decodedBytes(int64(shape.pixels)), shape.headerBytes); err != nil {
		return 0, 0, 0, 0, nil, err
	}
	data, err := readData(r, shape.pixels)
	if err != nil {
		return 0, 0, 0, 0, nil, fmt.Errorf("%s: reading pixels: %w", name, err)
	}
	if len(data) < shape.pixels {
		return 0, 0, 0, 0, nil, fmt.Errorf("%s: truncated: header says %s (%s bytes), file has %s after the %d-byte header",
			name, shape, numfmt.GroupDigits(shape.pixels), numfmt.GroupDigits(len(data)), shape.headerBytes)
	}
	if err := expectEOF(r, name, shape.String()); err != nil {
		return 0, 0, 0, 0, nil, err
	}
	pixels = make([]float32, len(data))
	for i, b := range data {
		pixels[i] = pixelScale[b]
	}
	return shape.n, shape.h, shape.w, shape.c, pixels, nil
}

// ReadLabels reads an IDX labels file of unsigned bytes (1 dimension, N) from r and returns the
// N labels, each in [0, 255]. r must hold exactly the declared data: a short file or bytes after
// the data are errors. name is used in error messages, which start with it.
func ReadLabels(r io.Reader, name string) ([]int32, error) {
	return readLabels(r, name, unknownSize)
}

// readLabels is ReadLabels for a file whose stored size lim knows.
func readLabels(r io.Reader, name string, lim limits) ([]int32, error) {
	n, err := readLabelsHeader(r, name, lim)
	if err != nil {
		return nil, err
	}
	data, err := readData(r, n)
	if err != nil {
		return nil, fmt.Errorf("%s: reading labels: %w", name, err)
	}
	if len(data) < n {
		return nil, labelsTruncated(name, n, len(data))
	}
	if err := expectEOF(r, name, fmt.Sprintf("%d labels", n)); err != nil {
		return nil, err
	}
	labels := make([]int32, len(data))
	for i, b := range data {
		labels[i] = int32(b)
	}
	return labels, nil
}

// scanLabels reads a labels file as readLabels does but keeps only its statistics, so that its
// memory does not grow with the file.
func scanLabels(r io.Reader, name string, lim limits) (labelStats, error) {
	n, err := readLabelsHeader(r, name, lim)
	if err != nil {
		return labelStats{}, err
	}
	st := newLabelStats()
	buf := make([]byte, min(n, chunkSize))
	for st.n < n {
		k, err := io.ReadFull(r, buf[:min(len(buf), n-st.n)])
		st.add(buf[:k])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return labelStats{}, labelsTruncated(name, n, st.n)
		}
		if err != nil {
			return labelStats{}, fmt.Errorf("%s: reading labels: %w", name, err)
		}
	}
	if err := expectEOF(r, name, fmt.Sprintf("%d labels", n)); err != nil {
		return labelStats{}, err
	}
	return st, nil
}

func labelsTruncated(name string, n, got int) error {
	return fmt.Errorf("%s: truncated: header says %d labels (%s bytes), file has %s after the 8-byte header",
		name, n, numfmt.GroupDigits(n), numfmt.GroupDigits(got))
}

// readImagesHeader reads and checks the header of an images file, leaving r at the first pixel.
func readImagesHeader(r io.Reader, name string) (imageShape, error) {
	dims, err := readHeader(r, name, "images", 3, 4)
	if err != nil {
		return imageShape{}, err
	}
	c := uint32(1)
	if len(dims) == 4 {
		c = dims[3]
	}
	n, h, w := dims[0], dims[1], dims[2]
	if n == 0 {
		return imageShape{}, fmt.Errorf("%s: header says 0 images; an images file needs at least one", name)
	}
	if h == 0 || w == 0 || c == 0 {
		return imageShape{}, fmt.Errorf("%s: header says images of %s, which have no pixels", name, shapeString(h, w, c))
	}
	total, ok := product(n, h, w, c)
	if !ok {
		return imageShape{}, fmt.Errorf("%s: absurd dimensions: header says %d images of %s, more than %s pixels in all; the header is corrupt or not an IDX header",
			name, n, shapeString(h, w, c), numfmt.GroupDigits(maxElements))
	}
	return imageShape{n: int(n), h: int(h), w: int(w), c: int(c), pixels: total, headerBytes: 4 + 4*len(dims)}, nil
}

// readLabelsHeader reads and checks the header of a labels file, leaving r at the first label,
// and returns the number of labels.
func readLabelsHeader(r io.Reader, name string, lim limits) (int, error) {
	dims, err := readHeader(r, name, "labels", 1)
	if err != nil {
		return 0, err
	}
	n, ok := product(dims[0])
	if !ok {
		return 0, fmt.Errorf("%s: absurd dimensions: header says %d labels, more than %s", name, dims[0], numfmt.GroupDigits(maxElements))
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: header says 0 labels; a labels file needs at least one", name)
	}
	if err := lim.checkClaim(name, fmt.Sprintf("%d labels", n), int64(n), decodedBytes(int64(n)), 8); err != nil {
		return 0, err
	}
	return n, nil
}

// readHeader reads the magic bytes and dimensions of an IDX file of unsigned bytes whose
// dimension count is one of wantDims. kind ("images" or "labels") is used in messages.
func readHeader(r io.Reader, name, kind string, wantDims ...int) ([]uint32, error) {
	var magic [4]byte
	if k, err := io.ReadFull(r, magic[:]); err != nil {
		var corrupt *corruptGzipError
		switch {
		case errors.As(err, &corrupt):
			return nil, fmt.Errorf("%s: %w", name, err)
		case k == 0 && errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%s: empty file; expected an IDX %s file", name, kind)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%s: truncated: an IDX header starts with 4 magic bytes, file has %d", name, k)
		default:
			return nil, fmt.Errorf("%s: reading header: %w", name, err)
		}
	}
	expected := make([]string, len(wantDims))
	for i, d := range wantDims {
		expected[i] = fmt.Sprintf("00 00 %02x %02x", typeUnsignedByte, d)
	}
	if magic[0] != 0 || magic[1] != 0 || idxTypeNames[magic[2]] == "" {
		hint := ""
		if magic[0] == 0x1f && magic[1] == 0x8b {
			hint = " (gzip data: decompress it first)"
		}
		return nil, fmt.Errorf("%s: not an IDX file: magic bytes %s expected, found % x%s",
			name, strings.Join(expected, " or "), magic[:], hint)
	}
	if magic[2] != typeUnsignedByte {
		return nil, fmt.Errorf("%s: unsupported IDX element type 0x%02x (%s); only 0x%02x (unsigned byte) is supported",
			name, magic[2], idxTypeNames[magic[2]], typeUnsignedByte)
	}
	nd := int(magic[3])
	if !slices.Contains(wantDims, nd) {
		want := "1 (N)"
		hint := ""
		if kind == "images" {
			want = "3 (N, H, W) or 4 (N, H, W, C)"
			if nd == 1 {
				hint = "; is this a labels file?"
			}
		} else if nd == 3 || nd == 4 {
			hint = "; is this an images file?"
		}
		noun := "dimensions"
		if nd == 1 {
			noun = "dimension"
		}
		return nil, fmt.Errorf("%s: IDX file has %d %s; %s files have %s%s", name, nd, noun, kind, want, hint)
	}
	raw := make([]byte, 4*nd)
	if k, err := io.ReadFull(r, raw); err != nil {
		var corrupt *corruptGzipError
		if errors.As(err, &corrupt) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated: header of %d dimensions needs %d bytes, file has %d", name, nd, 4+len(raw), 4+k)
		}
		return nil, fmt.Errorf("%s: reading header: %w", name, err)
	}
	dims := make([]uint32, nd)
	for i := range dims {
		dims[i] = binary.BigEndian.Uint32(raw[4*i:])
	}
	return dims, nil
}

// product returns the product of dims if it is at most maxElements.
func product(dims ...uint32) (int, bool) {
	p := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(p, uint64(d))
		if hi != 0 || lo > maxElements {
			return 0, false
		}
		p = lo
	}
	return int(p), true
}

// readData reads up to total bytes from r. It stops early, without error, at the end of r, so a
// result shorter than total means r was short. The buffer grows by doubling (capped at total) as
// data arrives, so a header that overstates the data cannot make it allocate much more than r
// holds; r writes straight into the buffer.
func readData(r io.Reader, total int) ([]byte, error) {
	buf := make([]byte, 0, min(total, chunkSize))
	for len(buf) < total {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(total, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		k, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return buf, nil
			}
			return nil, err
		}
	}
	return buf, nil
}

// expectEOF reads the rest of r and reports an error if anything is there. what describes the
// data the header declared, for the message.
func expectEOF(r io.Reader, name, what string) error {
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return fmt.Errorf("%s: %w (after reading the %s the header declares)", name, err, what)
	}
	if extra > 0 {
		return fmt.Errorf("%s: %s after the %s the header declares; the header does not describe this file",
			name, byteCount(extra), what)
	}
	return nil
}

// shapeString writes an image shape as H×W, or H×W×C when C is not 1.
func shapeString[I int | uint32](h, w, c I) string {
	if c == 1 {
		return fmt.Sprintf("%d×%d", h, w)
	}
	return fmt.Sprintf("%d×%d×%d", h, w, c)
}

// byteCount writes n bytes as "1 byte" or "1,500 bytes".
func byteCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return numfmt.GroupDigits(n) + " bytes"
}
