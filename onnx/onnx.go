package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Element types of TensorProto.DataType.
const (
	Float = 1
	Int64 = 7
)

// Model is an ONNX ModelProto with one graph and one operator set of the default domain.
type Model struct {
	// IRVersion is the ONNX IR version (7 goes with opset 13); Opset the version of the default
	// ("ai.onnx") operator set.
	IRVersion, Opset int64
	ProducerName     string
	ProducerVersion  string
	Doc              string
	Graph            Graph
	// Metadata are the model's metadata_props, in order.
	Metadata [][2]string
}

// Graph is a GraphProto: nodes in topological order, the weights as initializers, and the
// graph's inputs and outputs.
type Graph struct {
	Name         string
	Doc          string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto of the default domain.
type Node struct {
	Name            string
	Op              string
	Inputs, Outputs []string
	Attrs           []Attr
	Doc             string
}

// Attr is an AttributeProto of one of the types INT, INTS, FLOAT or STRING.
type Attr struct {
	Name  string
	typ   int32
	i     int64
	ints  []int64
	f     float32
	s     string
	empty bool // INTS with no values
}

// IntAttr, IntsAttr, FloatAttr and StringAttr make attributes of each type.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, typ: 2, i: v} }
func IntsAttr(name string, v ...int64) Attr {
	return Attr{Name: name, typ: 7, ints: v, empty: len(v) == 0}
}
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, typ: 1, f: v} }
func StringAttr(name string, v string) Attr { return Attr{Name: name, typ: 3, s: v} }

// Tensor is a TensorProto of float32 values (Floats, written as raw_data, little-endian) or of
// int64 values (Int64s), with its dimensions outermost first.
type Tensor struct {
	Name   string
	Dims   []int64
	Floats []float32
	Int64s []int64
}

// ValueInfo is a ValueInfoProto of a tensor type: its element type and its dimensions, each a
// number or, for a dimension left to the runtime (the batch), a name.
type ValueInfo struct {
	Name     string
	ElemType int32
	Dims     []Dim
	Doc      string
}

// Dim is one dimension of a ValueInfo: Value when Param is empty, else the symbolic name Param.
type Dim struct {
	Value int64
	Param string
}

// Marshal encodes the model as an ONNX file's bytes.
func (m Model) Marshal() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType) // ir_version
	b = protowire.AppendVarint(b, uint64(m.IRVersion))
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 6, m.Doc)
	b = appendMessage(b, 7, m.Graph.marshal())
	var opset []byte // domain left out: the default, "ai.onnx"
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, uint64(m.Opset))
	b = appendMessage(b, 8, opset)
	for _, kv := range m.Metadata {
		var e []byte
		e = appendString(e, 1, kv[0])
		e = appendString(e, 2, kv[1])
		b = appendMessage(b, 14, e)
	}
	return b
}

func (g Graph) marshal() []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, 5, t.marshal())
	}
	b = appendString(b, 10, g.Doc)
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.marshal())
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.marshal())
	}
	return b
}

func (n Node) marshal() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.Op)
	for _, a := range n.Attrs {
		b = appendMessage(b, 5, a.marshal())
	}
	b = appendString(b, 6, n.Doc)
	return b
}

func (a Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.typ {
	case 1:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case 2:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.i))
	case 3:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.s)
	case 7:
		for _, v := range a.ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType) // type
	b = protowire.AppendVarint(b, uint64(a.typ))
	return b
}

func (t Tensor) marshal() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	typ := int32(Float)
	if t.Int64s != nil {
		typ = Int64
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType) // data_type
	b = protowire.AppendVarint(b, uint64(typ))
	b = appendString(b, 8, t.Name)
	raw := make([]byte, 0, 8*len(t.Int64s)+4*len(t.Floats))
	for _, v := range t.Floats {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	for _, v := range t.Int64s {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType) // raw_data
	b = protowire.AppendBytes(b, raw)
	return b
}

func (v ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Dims {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, 2, d.Param)
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType) // elem_type
	tensor = protowire.AppendVarint(tensor, uint64(v.ElemType))
	tensor = appendMessage(tensor, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensor) // tensor_type
	var b []byte
	b = appendString(b, 1, v.Name)
	b = appendMessage(b, 2, typ)
	b = appendString(b, 3, v.Doc)
	return b
}

// appendString appends a string field, leaving out an empty one (proto2's absent field).
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
