package safetensors

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"
)

// referenceFile is a file as the reference implementation (Python's safetensors.numpy.save_file)
// writes it, built byte by byte from the format's specification: the header is compact JSON, its
// keys sorted with "__metadata__" first, padded with spaces to a multiple of 8 bytes, and the
// tensors' bytes follow in the order of their offsets.
func referenceFile() []byte {
	header := `{"__metadata__":{"format":"np"},"a/kernel":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	for _, v := range []float32{1, 2, 3, 4, 5, 6, -0.5} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestDecodeReference(t *testing.T) {
	t.Parallel()
	f, err := Decode(referenceFile())
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Tensors: []Tensor{{"a/kernel", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}, {"b", []int{1}, []float32{-0.5}}},
		Metadata: map[string]string{"format": "np"}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got %+v, want %+v", f, want)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	in := File{Tensors: []Tensor{{"z/bias", []int{1, 2, 1, 1}, []float32{0.25, float32(math.Inf(-1))}}, {"a/kernel", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}},
		Metadata: map[string]string{"key": "abc", "point": "n=2"}}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("header of %d bytes leaves the data unaligned", n)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("got %+v, want %+v", *out, in)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	good := referenceFile()
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:5], "shorter than"},
		{"header too long", append(binary.LittleEndian.AppendUint64(nil, 1<<40), good[8:]...), "does not fit"},
		{"truncated data", good[:len(good)-4], "data_offsets"},
		{"trailing bytes", append(append([]byte{}, good...), 0, 0, 0, 0), "follow the last tensor"},
		{"not json", append(binary.LittleEndian.AppendUint64(nil, 4), "abcd"...), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Decode(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEncodeRefusesWrongSize(t *testing.T) {
	t.Parallel()
	if _, err := Encode(File{Tensors: []Tensor{{"a", []int{2, 2}, []float32{1}}}}); err == nil {
		t.Error("a tensor of shape [2 2] with 1 value was encoded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(referenceFile())
	f.Fuzz(func(t *testing.T, b []byte) { Decode(b) })
}
