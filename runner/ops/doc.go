// Package ops holds nnsweep's gorgonia operations and the two engines built from them, the
// builder.Ops that package builder strings layers together with. layers.go holds each layer
// kind's graph on both engines (package spec holds the rest of what a kind is).
//
// Stock (stock.go) builds each layer from gorgonia's own operations, except pooling, which is
// ours (pool.go) because gorgonia's average pooling has wrong gradients and its max pooling reads
// padding differently from Keras. Fast (fast.go) builds the heavy layers from fused ops: dense
// (dense.go) and convolution (conv.go) fused with their bias and activation, the log-softmax and
// cross-entropy (loss.go), batch normalisation (batchnorm.go, whose stock form is gorgonia's
// reductions with a mask of the batch's real rows), depthwise convolution (depthwise.go, whose separable layer adds a fused
// 1×1 convolution), and the same pooling ops on faster kernels. activation.go is an
// activation on its own (the activation layer, and swish after a fused layer, since swish's
// derivative needs its input); global_pool.go is global pooling through the pooling ops; a
// residual block adds its inner layers through the same graphs and gorgonia's Add. Their work runs on package
// kernels; passes large enough run on both cores (kernels.Pass). buffer.go holds what every op
// shares: its own reused output buffer, input checks, its hash and opBase.
//
// Images are NCHW float32 throughout. Tests check every fused op against Stock, forward and
// backward, against finite differences, and the pooling ops against a plain reference, bit for
// bit across both engines and every split of a pass.
package ops
