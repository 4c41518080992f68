package onnx

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// fields decodes one message's top-level fields as field number → the raw values of each.
func fields(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatal(protowire.ParseError(m))
		}
		v := b[:m]
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(v)
		}
		out[num] = append(out[num], v)
		b = b[m:]
	}
	return out
}

// The fields land at onnx.proto's numbers: a model of one Relu node, decoded field by field.
func TestMarshalFieldNumbers(t *testing.T) {
	t.Parallel()
	m := Model{IRVersion: 7, Opset: 13, ProducerName: "nnsweep", Metadata: [][2]string{{"k", "v"}}, Graph: Graph{
		Name:         "g",
		Nodes:        []Node{{Name: "r", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}, Attrs: []Attr{IntsAttr("pads", 0, 1)}}},
		Initializers: []Tensor{{Name: "w", Dims: []int64{2}, Floats: []float32{1, 2}}},
		Inputs:       []ValueInfo{{Name: "x", ElemType: Float, Dims: []Dim{{Param: "N"}, {Value: 2}}}},
		Outputs:      []ValueInfo{{Name: "r", ElemType: Float, Dims: []Dim{{Param: "N"}, {Value: 2}}}},
	}}
	top := fields(t, m.Marshal())
	if v, _ := protowire.ConsumeVarint(top[1][0]); v != 7 {
		t.Errorf("ir_version %d", v)
	}
	if string(top[2][0]) != "nnsweep" {
		t.Errorf("producer_name %q", top[2][0])
	}
	opset := fields(t, top[8][0])
	if v, _ := protowire.ConsumeVarint(opset[2][0]); v != 13 || opset[1] != nil {
		t.Errorf("opset_import %v", opset)
	}
	if meta := fields(t, top[14][0]); string(meta[1][0]) != "k" || string(meta[2][0]) != "v" {
		t.Errorf("metadata_props %v", meta)
	}
	g := fields(t, top[7][0])
	if string(g[2][0]) != "g" || len(g[1]) != 1 || len(g[5]) != 1 || len(g[11]) != 1 || len(g[12]) != 1 {
		t.Fatalf("graph fields %v", g)
	}
	node := fields(t, g[1][0])
	if string(node[1][0]) != "x" || string(node[2][0]) != "r" || string(node[4][0]) != "Relu" {
		t.Errorf("node %v", node)
	}
	attr := fields(t, node[5][0])
	if typ, _ := protowire.ConsumeVarint(attr[20][0]); string(attr[1][0]) != "pads" || typ != 7 || len(attr[8]) != 2 {
		t.Errorf("attribute %v", attr)
	}
	init := fields(t, g[5][0])
	if dt, _ := protowire.ConsumeVarint(init[2][0]); dt != Float || len(init[9][0]) != 8 || string(init[8][0]) != "w" {
		t.Errorf("initializer %v", init)
	}
	in := fields(t, g[11][0])
	tensor := fields(t, fields(t, in[2][0])[1][0])
	dims := fields(t, tensor[2][0])[1]
	if len(dims) != 2 || string(fields(t, dims[0])[2][0]) != "N" {
		t.Errorf("input shape %v", tensor)
	}
}
