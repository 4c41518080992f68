package safetensors

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	other "github.com/nlpodyssey/safetensors"
)

// Files cross the other Go implementation (github.com/nlpodyssey/safetensors, a port of Hugging
// Face's Rust crate) both ways: it reads what Encode writes, and Decode reads what it writes.
func TestCrossImplementation(t *testing.T) {
	t.Parallel()
	f := File{Tensors: []Tensor{{"conv2d_1/kernel", []int{2, 1, 3, 3}, make([]float32, 18)}, {"conv2d_1/bias", []int{1, 2, 1, 1}, []float32{0.5, -2}}},
		Metadata: map[string]string{"key": "k", "point": "n=2"}}
	for i := range f.Tensors[0].Data {
		f.Tensors[0].Data[i] = float32(i) / 7
	}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	st, err := other.Deserialize(b)
	if err != nil {
		t.Fatalf("the other implementation refuses Encode's file: %v", err)
	}
	for _, want := range f.Tensors {
		v, ok := st.Tensor(want.Name)
		if !ok || v.DType() != other.F32 {
			t.Fatalf("%s: missing or not F32", want.Name)
		}
		shape := make([]int, len(v.Shape()))
		for i, d := range v.Shape() {
			shape[i] = int(d)
		}
		data := make([]float32, len(v.Data())/4)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(v.Data()[4*i:]))
		}
		if !reflect.DeepEqual(shape, want.Shape) || !reflect.DeepEqual(data, want.Data) {
			t.Errorf("%s: read back %v %v", want.Name, shape, data)
		}
	}
	if _, meta, err := other.ReadMetadata(b); err != nil || !reflect.DeepEqual(meta.Metadata(), f.Metadata) {
		t.Errorf("metadata read back as %v (%v)", meta.Metadata(), err)
	}

	views := map[string]other.TensorView{}
	for _, tn := range f.Tensors {
		var raw []byte
		for _, x := range tn.Data {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
		}
		shape := make([]uint64, len(tn.Shape))
		for i, d := range tn.Shape {
			shape[i] = uint64(d)
		}
		v, err := other.NewTensorView(other.F32, shape, raw)
		if err != nil {
			t.Fatal(err)
		}
		views[tn.Name] = v
	}
	theirs, err := other.Serialize(views, f.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(theirs)
	if err != nil {
		t.Fatalf("Decode refuses the other implementation's file: %v", err)
	}
	if len(got.Tensors) != 2 || !reflect.DeepEqual(got.Metadata, f.Metadata) {
		t.Fatalf("decoded %+v", got)
	}
	for _, want := range f.Tensors {
		if tn, ok := got.Tensor(want.Name); !ok || !reflect.DeepEqual(tn, want) {
			t.Errorf("%s: decoded %+v", want.Name, tn)
		}
	}
}
