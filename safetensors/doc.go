// Package safetensors reads and writes the safetensors format of Hugging Face
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
// of JSON naming each tensor's dtype, shape and byte range, and the tensors' bytes, row-major and
// little-endian. nnsweep stores every trained model's weights in it, as float32 ("F32") tensors.
//
// It imports no package of nnsweep's.
package safetensors
