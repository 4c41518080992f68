package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GlobalPool2D returns the mean (max false) or the maximum (max true) of each channel of an NCHW
// float32 batch x over its H×W image: [N, C, H, W] → [N, C].
//
// The maximum is our pooling op (pool.go) with one window over the whole image, then a reshape,
// on both engines (serial on Stock, as its max pooling): no allocation per call, and the gradient
// goes to the first maximum in row-major order, as max pooling's and PyTorch's torch.max's do.
// gorgonia's Max is not used: it passes the whole gradient to every cell equal to the maximum,
// and on MNIST's blank background a channel's maximum is often tied exactly.
//
// The mean is our average pooling op the same way on Fast, and gorgonia's Mean over the image
// reshaped into one axis on Stock (not gorgonia's AveragePool2D, whose gradient is wrong, nor its
// Mean over axes 2 and 3 together, whose values and gradients are wrong; the tests caught both).
func GlobalPool2D(x *G.Node, max, fast bool) (*G.Node, error) {
	if err := opCheckTensor4(x, "x"); err != nil {
		return nil, fmt.Errorf("ops: global pooling: %w", err)
	}
	s := x.Shape()
	if s.TotalSize() < 1 {
		return nil, fmt.Errorf("ops: global pooling: x %v is empty", s)
	}
	if !fast && !max {
		flat, err := G.Reshape(x, tensor.Shape{s[0], s[1], s[2] * s[3]})
		if err != nil {
			return nil, err
		}
		return G.Mean(flat, 2)
	}
	kind := avgPool
	if max {
		kind = maxPool
	}
	y, err := applyPool(kind, fast, x, s[2], s[3], s[2], s[3], 0, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	return G.Reshape(y, tensor.Shape{s[0], s[1]})
}
