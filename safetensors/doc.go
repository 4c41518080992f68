// Package safetensors reads and writes the safetensors format of Hugging Face
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
// of JSON naming each tensor's dtype, shape and byte range, and the tensors' bytes, row-major and
// little-endian. nnsweep stores every trained model's weights in it, as float32 ("F32") tensors.
//
// The format is small enough to own: github.com/nlpodyssey/safetensors, a Go port of the reference
// Rust crate, reads and writes it too, but over raw bytes of any dtype, has no tagged release, and
// would need a float32 conversion layer of about this package's size; the tests check this package
// against it both ways (and tools/onnx-check reads nnsweep's files with NumPy). It imports no
// package of nnsweep's.
package safetensors
