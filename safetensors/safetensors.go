package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Tensor is one named float32 tensor: Shape lists its dimensions, outermost first, and Data holds
// its values row-major (len(Data) is the product of Shape).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is the content of a safetensors file: its tensors in the order of their bytes in the
// file, and the free-form string metadata of its header ("__metadata__").
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Tensor returns the tensor with the name, or false.
func (f *File) Tensor(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// metadataKey is the header entry that holds the metadata rather than a tensor.
const metadataKey = "__metadata__"

// maxHeader is the largest header Read accepts, in bytes (the reference implementation's limit).
const maxHeader = 100 << 20

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Encode returns the file's bytes: the header lists the tensors in the order given, their bytes
// follow in that order, and the header is padded with spaces to a multiple of 8 bytes, as the
// reference implementation does, so that the data is aligned.
func Encode(f File) ([]byte, error) {
	header := map[string]any{}
	if len(f.Metadata) > 0 {
		header[metadataKey] = f.Metadata
	}
	var off int64
	for _, t := range f.Tensors {
		if t.Name == "" || t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: tensor name %q is not allowed", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: two tensors named %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q has a negative dimension %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q of shape %v holds %d values, not %d", t.Name, t.Shape, len(t.Data), n)
		}
		size := int64(4 * len(t.Data))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{DType: "F32", Shape: shape, DataOffsets: [2]int64{off, off + size}}
		off += size
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if pad := (8 - len(h)%8) % 8; pad > 0 {
		h = append(h, bytes.Repeat([]byte(" "), pad)...)
	}
	out := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, t := range f.Tensors {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// Decode reads a safetensors file of float32 tensors. It checks what the format requires: a
// header of JSON within the file, every tensor's byte range the size its shape says, the ranges
// covering the data without gaps or overlaps. Tensors of other dtypes are refused.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, errors.New("safetensors: the file is shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: the header length %d does not fit the file's %d bytes", n, len(b))
	}
	hb, data := b[8:8+n], b[8+n:]
	if !bytes.HasPrefix(hb, []byte("{")) {
		return nil, errors.New("safetensors: the header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	f := &File{}
	type span struct {
		name   string
		lo, hi int64
	}
	var spans []span
	for name, v := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(v, &f.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: %s: %w", metadataKey, err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, fmt.Errorf("safetensors: tensor %q is %s; only F32 is read", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32/int64(d)) {
				return nil, fmt.Errorf("safetensors: tensor %q has shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || hi-lo != 4*count {
			return nil, fmt.Errorf("safetensors: tensor %q of shape %v has data_offsets [%d, %d] in %d bytes of data", name, e.Shape, lo, hi, len(data))
		}
		vals := make([]float32, count)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*int64(i):]))
		}
		f.Tensors = append(f.Tensors, Tensor{Name: name, Shape: e.Shape, Data: vals})
		spans = append(spans, span{name, lo, hi})
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.lo != b.lo {
			return int(a.lo - b.lo)
		}
		return strings.Compare(a.name, b.name)
	})
	order := map[string]int{}
	end := int64(0)
	for i, s := range spans {
		if s.lo != end {
			return nil, fmt.Errorf("safetensors: tensor %q starts at byte %d of the data, not %d: the tensors must cover it without gaps or overlaps", s.name, s.lo, end)
		}
		end = s.hi
		order[s.name] = i
	}
	if end != int64(len(data)) {
		return nil, fmt.Errorf("safetensors: %d bytes follow the last tensor", int64(len(data))-end)
	}
	slices.SortFunc(f.Tensors, func(a, b Tensor) int { return order[a.Name] - order[b.Name] })
	return f, nil
}

// Read decodes the safetensors file r.
func Read(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}
