package ops

import (
	"fmt"
	"sync"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Stock builds layers from gorgonia's own operations (and our pooling ops, whose gradients
// are right where gorgonia's average pooling's are not).
type Stock struct{}

// Layer implements builder.Ops with gorgonia's operations (and our pooling ops).
func (Stock) Layer(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, act string) (*G.Node, error) {
	return addLayer(lb, x, l, act, false)
}

// Dense returns activation(x·w + b) for x [batch, in], w [in, units] and b [1, units], or without
// bias when b is nil.
func (Stock) Dense(x, w, b *G.Node, activation string) (*G.Node, error) {
	return stockDense(x, w, b, activation)
}

func stockDense(x, w, b *G.Node, activation string) (*G.Node, error) {
	y, err := G.Mul(x, w)
	if err == nil && b != nil {
		y, err = G.BroadcastAdd(y, b, nil, []byte{0})
	}
	if err != nil {
		return nil, err
	}
	return activate(y, activation)
}

// Conv2D returns activation(conv(x, k) + b) for x [batch, in_ch, h, w], k [filters, in_ch, kh,
// kw] and b [1, filters, 1, 1] (or nil), with l's stride and padding.
func (Stock) Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	return stockConv2D(x, k, b, l, activation)
}

func stockConv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	y, err := conv(x, k, l)
	if err == nil && b != nil {
		y, err = G.BroadcastAdd(y, b, nil, []byte{0, 2, 3})
	}
	if err != nil {
		return nil, err
	}
	return activate(y, activation)
}

// Pool returns l's max or average pooling of x.
func (Stock) Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error) { return poolLayer(x, l, false) }

// LogSoftmax implements builder.Ops. gorgonia rewrites Log(SoftMax(x)) in place and merges SoftMax and
// LogSoftMax nodes of one graph, so LogSoftMax is the only form used.
func (Stock) LogSoftmax(logits *G.Node) (*G.Node, error) { return G.LogSoftMax(logits) }

// CrossEntropy implements builder.Ops.
func (Stock) CrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	prod, err := G.HadamardProd(logProbs, labels)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return nil, err
	}
	mean, err := G.Div(sum, count)
	if err != nil {
		return nil, err
	}
	return G.Neg(mean)
}

// activate applies the named activation with gorgonia's operations (the name read as the fused
// ops read it, by parseActivation).
func activate(x *G.Node, name string) (*G.Node, error) {
	a, err := parseActivation(name)
	if err != nil {
		return nil, err
	}
	switch a {
	case actReLU:
		return relu(x)
	case actSigmoid:
		return G.Sigmoid(x)
	case actTanh:
		return G.Tanh(x)
	case actLeakyReLU:
		return leakyReLU(x)
	case actSwish:
		s, err := G.Sigmoid(x)
		if err != nil {
			return nil, err
		}
		return G.HadamardProd(x, s)
	}
	return x, nil
}

// leakyReLU returns x ⊙ (x > 0) + LeakySlope·x ⊙ (x ≤ 0): its gradient is LeakySlope where x
// is 0, as PyTorch's.
func leakyReLU(x *G.Node) (*G.Node, error) {
	pos, err := G.Gt(x, G.NewConstant(float32(0)), true)
	if err != nil {
		return nil, err
	}
	neg, err := G.Lte(x, G.NewConstant(float32(0)), true)
	if err != nil {
		return nil, err
	}
	if neg, err = G.Mul(neg, G.NewConstant(float32(LeakySlope))); err != nil {
		return nil, err
	}
	slope, err := G.Add(pos, neg)
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(x, slope)
}

// relu returns x ⊙ (x > 0), whose gradient is 0 where x is 0, as in Keras and PyTorch.
// gorgonia's Rectify masks with x ≥ 0 and so passes the gradient where x is exactly 0, which
// is common: a convolution's zero bias on MNIST's blank background gives exact zeros everywhere
// there, and Rectify then trained the first convolution's bias on the background.
func relu(x *G.Node) (*G.Node, error) {
	mask, err := G.Gt(x, G.NewConstant(float32(0)), true)
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(x, mask)
}

func conv(x, kernel *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	pad := []int{0, 0}
	if l.Padding == "same" {
		top, bottom := spec.SamePadding(l.InH, l.Window.H, l.Stride.H)
		left, right := spec.SamePadding(l.InW, l.Window.W, l.Stride.W)
		if top != bottom || left != right {
			var err error
			if x, err = zeroPad(x, top, bottom, left, right); err != nil {
				return nil, err
			}
		} else {
			pad = []int{top, left}
		}
	}
	unlock := lockGorgoniaGroups()
	defer unlock()
	return G.Conv2d(x, kernel, tensor.Shape{l.Window.H, l.Window.W}, pad, []int{l.Stride.H, l.Stride.W}, []int{1, 1})
}

// gorgoniaGroups guards gorgonia's Conv2d, MaxPool2D, AveragePool2D and Rectify: each numbers a
// graph-drawing group from a package counter that nothing guards (internal/encoding.NewGroup), a
// data race when two graphs are built at once (points trained in parallel, parallel tests).
var gorgoniaGroups sync.Mutex

// init takes one gradient before any graph is built: gorgonia's Grad adds its package-level
// constant 1 to every graph and hashes it on first use, an unguarded write that two graphs
// built at once (points trained in parallel, parallel tests) would race on (the value written is
// the same).
func init() {
	g := G.NewGraph()
	x := G.NewScalar(g, tensor.Float32, G.WithName("x"), G.WithValue(float32(1)))
	if _, err := G.Grad(G.Must(G.Mul(x, x)), x); err != nil {
		panic("ops: warming up gorgonia's gradient: " + err.Error())
	}
}

// lockGorgoniaGroups locks gorgoniaGroups and returns its unlock; every call of those four
// functions of gorgonia goes through it.
func lockGorgoniaGroups() (unlock func()) {
	gorgoniaGroups.Lock()
	return gorgoniaGroups.Unlock
}

// zeroPad pads an NCHW node with zeros by concatenation.
func zeroPad(x *G.Node, top, bottom, left, right int) (*G.Node, error) {
	zeros := func(shape ...int) *G.Node {
		return G.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32)))
	}
	s := x.Shape()
	parts := func(axis, before, after int, shape tensor.Shape) []*G.Node {
		var ns []*G.Node
		if before > 0 {
			sh := shape.Clone()
			sh[axis] = before
			ns = append(ns, zeros(sh...))
		}
		ns = append(ns, x)
		if after > 0 {
			sh := shape.Clone()
			sh[axis] = after
			ns = append(ns, zeros(sh...))
		}
		return ns
	}
	var err error
	if top+bottom > 0 {
		if x, err = G.Concat(2, parts(2, top, bottom, s)...); err != nil {
			return nil, err
		}
	}
	if left+right > 0 {
		if x, err = G.Concat(3, parts(3, left, right, x.Shape())...); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// stockDepthwiseConv2D returns activation(depthwise(x, k) + b) for x [batch, c, h, w], k
// [c·m, 1, kh, kw] and b [1, c·m, 1, 1] (or nil) from gorgonia's operations. gorgonia has no
// grouped convolution, so k is spread into the block-diagonal kernel of an ordinary one,
// [c·m, c, kh, kw], zero except where input channel = output channel / m (k broadcast along
// axis 1 times a constant 0/1 mask), and gorgonia's Conv2d runs it; the gradient of k is the
// masked gradient of the full kernel summed back along axis 1. It is the reference, slow by c.
func stockDepthwiseConv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	full, err := blockDiagonal(x, k, l)
	if err != nil {
		return nil, err
	}
	return stockConv2D(x, full, b, l, activation)
}

// blockDiagonal returns the block-diagonal full kernel [c·m, c, kh, kw] of depthwise kernel k.
func blockDiagonal(x, k *G.Node, l spec.ResolvedLayer) (*G.Node, error) {
	c, ks := x.Shape()[1], k.Shape()
	m := l.DepthMultiplier()
	if len(ks) != 4 || ks[0] != c*m || ks[1] != 1 {
		return nil, fmt.Errorf("ops: depthwise_conv2d: k must be [%d, 1, kh, kw] for x %v and depth multiplier %d, got %v", c*m, x.Shape(), m, ks)
	}
	mask := make([]float32, ks[0]*c*ks[2]*ks[3])
	taps := ks[2] * ks[3]
	for f := range ks[0] {
		for t := range taps {
			mask[(f*c+f/m)*taps+t] = 1
		}
	}
	maskNode := G.NewTensor(k.Graph(), tensor.Float32, 4, G.WithShape(ks[0], c, ks[2], ks[3]), G.WithName(l.Name+"/block_mask"),
		G.WithValue(tensor.New(tensor.WithShape(ks[0], c, ks[2], ks[3]), tensor.WithBacking(mask))))
	return G.BroadcastHadamardProd(k, maskNode, []byte{1}, nil)
}

// stockSeparableConv2D is the depthwise convolution with dk (no bias, linear), then an
// ordinary 1×1 convolution with pk, b and the activation.
func stockSeparableConv2D(x, dk, pk, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	d, err := stockDepthwiseConv2D(x, dk, nil, l, "linear")
	if err != nil {
		return nil, err
	}
	return stockConv2D(d, pk, b, pointwise(l, d), activation)
}
