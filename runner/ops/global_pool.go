package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GlobalPool2D returns the mean (max false) or the maximum (max true) of each channel of an NCHW
// float32 batch x over its H×W image: [N, C, H, W] → [N, C].
//
// On the fast engine it is our pooling op (pool.go) with one window over the whole image, then a
// reshape: no allocation per call, and a maximum's gradient goes to the first maximum in row-major
// order, as max pooling's does. On the stock engine it is gorgonia's Mean or Max over the image
// reshaped into one axis (not gorgonia's AveragePool2D, whose gradient is wrong, nor its
// reductions over axes 2 and 3 together, whose values and gradients are wrong); gorgonia's Max passes the gradient to
// every cell that equals the maximum, so the two engines differ where a channel's maximum is tied
// (the tests check both against finite differences away from ties).
func GlobalPool2D(x *G.Node, max, fast bool) (*G.Node, error) {
	if err := opCheckTensor4(x, "x"); err != nil {
		return nil, fmt.Errorf("ops: global pooling: %w", err)
	}
	s := x.Shape()
	if s.TotalSize() < 1 {
		return nil, fmt.Errorf("ops: global pooling: x %v is empty", s)
	}
	if !fast {
		// gorgonia's reductions over two axes at once give wrong values and gradients (the tests
		// caught it), so the image is reshaped into one axis first.
		flat, err := G.Reshape(x, tensor.Shape{s[0], s[1], s[2] * s[3]})
		if err != nil {
			return nil, err
		}
		if max {
			return G.Max(flat, 2)
		}
		return G.Mean(flat, 2)
	}
	kind := avgPool
	if max {
		kind = maxPool
	}
	y, err := applyPool(kind, true, x, s[2], s[3], s[2], s[3], 0, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	return G.Reshape(y, tensor.Shape{s[0], s[1]})
}
