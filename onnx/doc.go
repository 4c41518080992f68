// Package onnx writes ONNX models (https://onnx.ai): the few messages of onnx.proto that a
// feed-forward network needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto, TypeProto, OperatorSetIdProto, StringStringEntryProto), encoded in the protobuf
// wire format with google.golang.org/protobuf's protowire, field numbers as onnx.proto gives
// them. Repeated numbers are written unpacked, as proto2 (onnx.proto's syntax) writes them.
//
// It imports no package of nnsweep's; pipeline translates a trained model into a Model.
package onnx
