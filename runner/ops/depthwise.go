package ops

import (
	"fmt"

	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A fused depthwise 2-D convolution layer as gorgonia ops, and the separable convolution built
// from it.
//
// The forward op computes y = activation(depthwise(x, k) + b) for an NCHW batch x in one op, on
// kernels.Depthwise (in place at stride 1 and DirectConv per channel otherwise with the AVX-512
// kernels, Go loops without them), then
// one pass over the output for the activation. The ops are the convolution's (conv.go) over a
// depthwiseGeometry, which differs from a convGeometry only in its kernels and shapes. Its
// symbolic gradient is
//
//	dZ = activation'(y) ⊙ dy      (newConvActivationGradOp; for linear, dy itself)
//	dX = BackwardData(dZ, k)      (a depthwiseDataGradOp, skipped when nothing uses it)
//	dK = BackwardFilter(x, dZ)    (a depthwiseFilterGradOp)
//	db = Σ dZ per channel         (a convBiasGradOp)
//
// each with its own reused output buffer. Passes large enough (convSplitMinFlops) are cut into
// chunks of examples and may run on both cores (kernels.Pass), with per-chunk partial sums for
// dK, so results do not depend on the split.
//
// A separable convolution (FusedSeparableConv2D) is this op without bias or activation, then
// FusedConv2D with a 1×1 kernel, the bias and the activation: the pointwise step is a plain
// SGEMM over pixels × channels.

// FusedDepthwiseConv2D returns activation(depthwise(x, k) + b) for x [batch, c, h, w], k
// [c·m, 1, kh, kw] and b [1, c·m, 1, 1] (or without bias when b is nil), all float32, m being
// l's depth multiplier, with l's stride and padding ("valid", or "same" split as Keras does);
// output channel ch·m + j is input channel ch's j-th kernel. activation is relu, sigmoid, tanh
// or linear (softmax and "" mean linear); the gradient of relu at 0 is 0. It has the meaning of
// Stock's composition (stockDepthwiseConv2D).
//
// The node's value is the op's own buffer, overwritten by every run of the graph.
func FusedDepthwiseConv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	act, err := fusedInputs("depthwise_conv2d", activation, opCheckTensor4, x, k, "k", b)
	if err != nil {
		return nil, err
	}
	dg, err := depthwiseGeomOf(x, k, l)
	if err != nil {
		return nil, err
	}
	return applyFusedConv("depthwise_conv2d", newDepthwiseGeometry(x.Shape()[0], dg), act, x, k, b)
}

// FusedSeparableConv2D returns activation(pointwise(depthwise(x, dk), pk) + b): the depthwise
// convolution of FusedDepthwiseConv2D (dk [c·m, 1, kh, kw], no bias, linear), then a fused 1×1
// convolution with pk [filters, c·m, 1, 1], the bias b [1, filters, 1, 1] (or nil) and the
// activation.
func FusedSeparableConv2D(x, dk, pk, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	d, err := FusedDepthwiseConv2D(x, dk, nil, l, "linear")
	if err != nil {
		return nil, err
	}
	return FusedConv2D(d, pk, b, pointwise(l, d), activation)
}

// pointwise is the 1×1 step of separable layer l, applied to the depthwise output d.
func pointwise(l spec.ResolvedLayer, d *G.Node) spec.ResolvedLayer {
	s := d.Shape()
	l.Window, l.Stride, l.Padding = spec.Pair{H: 1, W: 1}, spec.Pair{H: 1, W: 1}, "valid"
	l.InH, l.InW = s[2], s[3]
	return l
}

// depthwiseGeomOf checks x and k against layer l and returns their geometry.
func depthwiseGeomOf(x, k *G.Node, l spec.ResolvedLayer) (kernels.DepthwiseGeom, error) {
	xs, ks := x.Shape(), k.Shape()
	m := l.DepthMultiplier()
	switch {
	case xs[0] < 1:
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: x %v has no examples", xs)
	case ks[1] != 1 || ks[0] != xs[1]*m:
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: k must be [%d, 1, kh, kw] for x %v and depth multiplier %d, got %v", xs[1]*m, xs, m, ks)
	}
	top, bottom, left, right, err := convWindow("depthwise_conv2d", l, xs, ks)
	if err != nil {
		return kernels.DepthwiseGeom{}, err
	}
	g := kernels.DepthwiseGeom{C: xs[1], M: m, H: xs[2], W: xs[3], KH: ks[2], KW: ks[3], StrideH: l.Stride.H, StrideW: l.Stride.W,
		PadTop: top, PadBottom: bottom, PadLeft: left, PadRight: right}
	if err := g.Validate(); err != nil {
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: %w", err)
	}
	return g, nil
}

// depthwiseGeometry is the fixed shape of one depthwise layer over a batch, and its kernels.
type depthwiseGeometry struct {
	kernels.DepthwiseGeom
	convShapes
	// kern holds one kernels.Depthwise per slot, the goroutines of a split call (the second
	// exists only when splittable is set); the layer's forward and gradient ops share them.
	kern [2]*kernels.Depthwise
}

// newDepthwiseGeometry returns the geometry of g (valid) over batches of batch examples (at
// least 1), with its kernels.
func newDepthwiseGeometry(batch int, g kernels.DepthwiseGeom) depthwiseGeometry {
	f := g.F()
	dg := depthwiseGeometry{DepthwiseGeom: g, convShapes: newConvShapes(batch, [3]int{g.C, g.H, g.W},
		tensor.Shape{f, 1, g.KH, g.KW}, [3]int{f, g.OutH(), g.OutW()}, g.Flops(batch))}
	dg.kern[0] = kernels.NewDepthwise(g)
	if dg.splittable {
		dg.kern[1] = kernels.NewDepthwise(g)
	}
	return dg
}

func (g *depthwiseGeometry) shapes() *convShapes              { return &g.convShapes }
func (g *depthwiseGeometry) slotKernels(slot int) convKernels { return g.kern[slot] }
func (g *depthwiseGeometry) kind() string                     { return "DepthwiseConv2D" }

// String describes the geometry for op names.
func (g *depthwiseGeometry) String() string {
	return fmt.Sprintf("%v∗%v, multiplier %d, stride %d×%d, padding t%d b%d l%d r%d", g.xShape, g.kShape, g.M,
		g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// The depthwise layer's ops are the convolution's (conv.go) over its geometry: the forward op
// of FusedDepthwiseConv2D, its input gradient and its kernel gradient; its bias gradient is
// convBiasGradOp.
type (
	depthwiseOp           = convForwardOp[depthwiseGeometry, *depthwiseGeometry]
	depthwiseDataGradOp   = convDataGrad[*depthwiseGeometry]
	depthwiseFilterGradOp = convFilterGrad[*depthwiseGeometry]
)

var (
	_ G.SDOp            = (*depthwiseOp)(nil)
	_ G.ADOp            = (*depthwiseOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseDataGradOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseFilterGradOp)(nil)
)
