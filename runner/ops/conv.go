package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A fused 2-D convolution layer as gorgonia ops.
//
// The forward op computes y = activation(conv(x, k) + b) for an NCHW batch x in one op: the
// convolution and the bias through kernels.Conv2D (direct convolution or im2col + SGEMM, chosen
// per pass by kernels.NewConv2D), then one pass over the output for the activation. Padding,
// symmetric or not, is part of the kernels' geometry, so no padded copy of x is ever made. Its
// symbolic gradient is
//
//	dZ = activation'(y) ⊙ dy      (newConvActivationGradOp; for linear, dy itself)
//	dX = BackwardData(dZ, k)      (a convDataGradOp, skipped when nothing uses it; ⊙ (x > 0)
//	                               when x is a ReLU's output, whose pass that replaces)
//	dK = BackwardFilter(x, dZ)    (a convFilterGradOp)
//	db = Σ dZ per channel         (a convBiasGradOp)
//
// each an op with its own reused output buffer (see buffer.go). A ReLU layer's dZ is no pass
// of its own when the layer after has applied its mask already (see activation.go). As for the
// dense layer (see dense.go), gorgonia asks for dX of the first layer, whose input is the image
// batch, though nothing uses it; it is the most expensive of the backward passes there, and the
// dX op skips it.
//
// When a pass is large enough (convSplitMinFlops, convSplitMinFloats), its batch is cut into
// chunks, every chunk with its own partial sums, run on two goroutines (each with its own
// kernels.Conv2D) when that measures faster; the results do not depend on which goroutine ran
// which chunk, or whether the call was split (see kernels.Pass).
//
// These ops are written once for every convolution whose weights are [F, ·, KH, KW] and whose
// passes run per chunk of examples (convLayer): FusedConv2D's over a convGeometry and
// kernels.Conv2D, FusedDepthwiseConv2D's (depthwise.go) over a depthwiseGeometry and
// kernels.Depthwise.

// convSplitMinFlops is the smallest convolution pass, in floating-point operations over the
// whole batch (kernels.ConvGeom.Flops), that may be split over two goroutines (whether it is, is
// measured as it runs). A helper takes tens of µs to start, so with the other core idle splitting
// gained nothing on passes under about 150 µs (≈ 5 MFLOP with the AVX-512 kernels), 1.2× at
// 300 µs and 1.4–1.6× at 500 µs (BenchmarkConvSplit).
const convSplitMinFlops = 5e6

// convSplitMinFloats is the smallest output gradient, in floats, whose elementwise passes
// (activation gradient, bias gradient) may be split over two goroutines: the same ≈ 150 µs.
const convSplitMinFloats = 1 << 19

// FusedConv2D returns activation(conv(x, k) + b) for x [batch, in_ch, h, w], k [filters, in_ch,
// kh, kw] and b [1, filters, 1, 1] (or without bias when b is nil), all float32, with l's stride
// and padding ("valid", or "same" split as Keras does, the smaller half before), as one op;
// activation is relu, sigmoid, tanh, leaky_relu, swish or linear (softmax and "" mean linear;
// swish is a second op, FusedActivation, since its derivative needs the pre-activation). The kernel size is
// k's; l.Window, when set, must agree. It has the meaning of Stock.Conv2D, except that
// the gradient of relu at 0 is 0 (TensorFlow's and PyTorch's choice; gorgonia's is 1).
//
// The node's value is the op's own buffer, overwritten by every run of the graph.
func FusedConv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error) {
	act, err := fusedInputs("conv2d", activation, opCheckTensor4, x, k, "k", b)
	if err != nil {
		return nil, err
	}
	xs, ks := x.Shape(), k.Shape()
	if xs[1] != ks[1] {
		return nil, fmt.Errorf("ops: conv2d: x %v has %d channels, k %v has %d", xs, xs[1], ks, ks[1])
	}
	top, bottom, left, right, err := convWindow("conv2d", l, xs, ks)
	if err != nil {
		return nil, err
	}
	if xs[0] < 1 {
		return nil, fmt.Errorf("ops: conv2d: x %v has no examples", xs)
	}
	geom, err := newConvGeometry(xs[0], kernels.ConvGeom{
		C: xs[1], H: xs[2], W: xs[3], F: ks[0], KH: ks[2], KW: ks[3],
		StrideH: l.Stride.H, StrideW: l.Stride.W,
		PadTop: top, PadBottom: bottom, PadLeft: left, PadRight: right,
	})
	if err != nil {
		return nil, fmt.Errorf("ops: conv2d: %w", err)
	}
	return applyFusedConv("conv2d", geom, act, x, k, b)
}

// convWindow checks layer l's kernel (when set, it must be k's: ks [F, ·, KH, KW]), strides and
// padding for an input of shape xs [N, C, H, W], and returns the padding; name is the layer's
// kind, for the errors.
func convWindow(name string, l spec.ResolvedLayer, xs, ks tensor.Shape) (top, bottom, left, right int, err error) {
	if l.Window != (spec.Pair{}) && (l.Window.H != ks[2] || l.Window.W != ks[3]) {
		return 0, 0, 0, 0, fmt.Errorf("ops: %s: the layer's kernel is %v, k %v is %d×%d", name, l.Window, ks, ks[2], ks[3])
	}
	if l.Stride.H < 1 || l.Stride.W < 1 {
		return 0, 0, 0, 0, fmt.Errorf("ops: %s: strides %v must be at least 1×1", name, l.Stride)
	}
	switch l.Padding {
	case "same":
		top, bottom = spec.SamePadding(xs[2], ks[2], l.Stride.H)
		left, right = spec.SamePadding(xs[3], ks[3], l.Stride.W)
	case "valid", "":
	default:
		return 0, 0, 0, 0, fmt.Errorf("ops: %s: unknown padding %q; use valid or same", name, l.Padding)
	}
	return top, bottom, left, right, nil
}

// applyFusedConv applies the forward op of geom with activation act to x, k and b (nil: no
// bias), act fused into the op unless it is swish, which follows as its own op (activation.go,
// since its derivative needs the pre-activation); name is the layer's kind, for the errors.
func applyFusedConv[T any, L convLayerOf[T]](name string, geom T, act activation, x, k, b *G.Node) (*G.Node, error) {
	fused := act
	if act == actSwish {
		fused = actLinear
	}
	op := newConvForwardOp[T, L](geom, fused, b != nil)
	if b == nil {
		return withSwish(act)(G.ApplyOp(op, x, k))
	}
	if bShape := op.layer().shapes().bShape; !b.Shape().Eq(bShape) {
		return nil, fmt.Errorf("ops: %s: b must have shape %v, got %v", name, bShape, b.Shape())
	}
	return withSwish(act)(G.ApplyOp(op, x, k, b))
}

// opTensor4Type is the type of a 4-D float tensor node (type variable a).
var opTensor4Type = G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}

// opCheckTensor4 returns an error unless n is a 4-D float32 tensor; what names it.
func opCheckTensor4(n *G.Node, what string) error {
	if n.Dims() != 4 || n.Dtype() != tensor.Float32 {
		return fmt.Errorf("%s must be a 4-D float32 tensor, got shape %v of %v", what, n.Shape(), n.Dtype())
	}
	return nil
}

// convLayer is the geometry of one fused convolution layer over a batch as its ops use it,
// whichever kernels run it: a convGeometry (kernels.Conv2D) or a depthwiseGeometry
// (kernels.Depthwise). The forward, input-gradient, kernel-gradient and bias-gradient ops are
// written once over it.
type convLayer interface {
	// shapes returns the layer's tensor shapes over the batch and whether its passes may split.
	shapes() *convShapes
	// slotKernels returns the kernels of slot: 0, or 1 for the second goroutine of a split
	// call (which exists only when the layer is splittable).
	slotKernels(slot int) convKernels
	// kind names the layer in its ops' names: "Conv2D" makes nnsweep.Conv2D{…},
	// nnsweep.Conv2DInputGrad{…} and nnsweep.Conv2DKernelGrad{…}.
	kind() string
	// String describes the geometry for the ops' names (and so for gorgonia's graph hashing).
	String() string
}

// convLayerOf is a convLayer that is a pointer to T, for an op that holds its geometry T by value.
type convLayerOf[T any] interface {
	*T
	convLayer
}

// convKernels is what the ops run per chunk of examples: kernels.Conv2D or *kernels.Depthwise
// (layouts as in kernels.ConvGeom).
type convKernels interface {
	Forward(n int, x, w, bias, y []float32)
	BackwardData(n int, dy, w, dx []float32)
	BackwardFilter(n int, x, dy, dw []float32)
}

// convShapes is the part of a convolution layer's geometry that does not depend on its kernels.
type convShapes struct {
	batch                          int
	xShape, kShape, bShape, yShape tensor.Shape // NCHW; k is [F, C or 1, KH, KW], b [1, F, 1, 1]
	inSize, outSize                int          // floats of one example of x and of y
	// splittable says the convolution passes are large enough to be split over two goroutines:
	// they run in chunks (see kernels.Pass).
	splittable bool
}

// newConvShapes returns the shapes of a layer over batches of batch examples, from one
// example's input [c, h, w], its kernel shape and its output [f, outH, outW]; flops is the
// layer's forward pass over the whole batch (kernels.ConvGeom.Flops).
func newConvShapes(batch int, in [3]int, kShape tensor.Shape, out [3]int, flops float64) convShapes {
	return convShapes{
		batch:  batch,
		xShape: tensor.Shape{batch, in[0], in[1], in[2]}, kShape: kShape,
		bShape: tensor.Shape{1, out[0], 1, 1}, yShape: tensor.Shape{batch, out[0], out[1], out[2]},
		inSize: in[0] * in[1] * in[2], outSize: out[0] * out[1] * out[2],
		splittable: batch >= 2 && flops >= convSplitMinFlops,
	}
}

// convGeometry is the fixed shape of one convolution layer over a batch, and the kernels that
// run it.
type convGeometry struct {
	kernels.ConvGeom
	convShapes
	// engine holds one kernels.Conv2D per slot, the goroutines of a split call (the first also
	// runs unsplit calls; the second exists only when splittable is set). A layer's forward and
	// gradient ops share it: a machine runs them one at a time.
	engine [2]kernels.Conv2D
}

// newConvGeometry returns the geometry of g over batches of batch examples (at least 1), with
// its kernels, or g's error if g is invalid.
func newConvGeometry(batch int, g kernels.ConvGeom) (convGeometry, error) {
	if err := g.Validate(); err != nil {
		return convGeometry{}, err
	}
	cg := convGeometry{ConvGeom: g, convShapes: newConvShapes(batch, [3]int{g.C, g.H, g.W},
		tensor.Shape{g.F, g.C, g.KH, g.KW}, [3]int{g.F, g.OutH(), g.OutW()}, g.Flops(batch))}
	cg.engine[0] = kernels.NewConv2D(g)
	if cg.splittable {
		cg.engine[1] = kernels.NewConv2D(g)
	}
	return cg, nil
}

func (g *convGeometry) shapes() *convShapes              { return &g.convShapes }
func (g *convGeometry) slotKernels(slot int) convKernels { return g.engine[slot] }
func (g *convGeometry) kind() string                     { return "Conv2D" }

// String describes the geometry for op names: "(128, 1, 28, 28)∗(8, 1, 3, 3), stride 1×1,
// padding t0 b0 l0 r0".
func (g *convGeometry) String() string {
	return fmt.Sprintf("%v∗%v, stride %d×%d, padding t%d b%d l%d r%d", g.xShape, g.kShape,
		g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// convForwardOp is the forward op of a fused convolution layer of geometry T:
// (x, k[, b]) → activation(conv(x, k) + b). convOp is FusedConv2D's, depthwiseOp
// FusedDepthwiseConv2D's.
type convForwardOp[T any, L convLayerOf[T]] struct {
	opBase
	optionalBias
	geom T
	act  activation
	out  opBuffer
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, k, b, y []float32
}

// convOp is the forward op of FusedConv2D.
type convOp = convForwardOp[convGeometry, *convGeometry]

func newConvOp(geom convGeometry, act activation, hasBias bool) *convOp {
	return newConvForwardOp[convGeometry, *convGeometry](geom, act, hasBias)
}

func newConvForwardOp[T any, L convLayerOf[T]](geom T, act activation, hasBias bool) *convForwardOp[T, L] {
	op := &convForwardOp[T, L]{geom: geom, act: act, optionalBias: optionalBias{hasBias}}
	op.task = kernels.NewPass(op.chunk, op.layer().shapes().batch)
	return op
}

var (
	_ G.SDOp            = (*convOp)(nil)
	_ G.ADOp            = (*convOp)(nil)
	_ G.UsePreallocDoer = (*convOp)(nil)
)

// layer returns the op's geometry.
func (op *convForwardOp[T, L]) layer() L { return L(&op.geom) }

func (op *convForwardOp[T, L]) reluOutput() bool { return op.act == actReLU }

// Type is Tensor-4 a → Tensor-4 a [→ Tensor-4 a] → Tensor-4 a.
func (op *convForwardOp[T, L]) Type() hm.Type { return op.fnType(opTensor4Type) }

func (op *convForwardOp[T, L]) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	s := op.layer().shapes()
	return op.inferShape(op, inputs, s.xShape, s.kShape, s.bShape, s.yShape)
}

// Do computes the layer into the op's own buffer and returns it.
func (op *convForwardOp[T, L]) Do(inputs ...G.Value) (G.Value, error) {
	x, k, b, err := op.inputs(inputs)
	if err != nil {
		return nil, err
	}
	s := op.layer().shapes()
	out := op.out.tensor(s.yShape)
	op.x, op.k, op.b, op.y = x, k, b, out.Float32s()
	op.task.Run(s.splittable)
	op.x, op.k, op.b, op.y = nil, nil, nil, nil
	return out, nil
}

// chunk computes chunk c of chunks of the output on slot's kernels.
func (op *convForwardOp[T, L]) chunk(c, chunks, slot int) {
	g := op.layer()
	s := g.shapes()
	lo, hi := kernels.ChunkRange(s.batch, c, chunks)
	in, out := s.inSize, s.outSize
	y := op.y[lo*out : hi*out]
	g.slotKernels(slot).Forward(hi-lo, op.x[lo*in:hi*in], op.k, op.b, y)
	biasActivate(y, nil, len(y), op.act)
}

// UsePreallocDo is Do (see buffer.go for why prealloc is not written).
func (op *convForwardOp[T, L]) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convForwardOp[T, L]) inputs(inputs []G.Value) (x, k, b []float32, err error) {
	if err = opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, nil, nil, err
	}
	s := op.layer().shapes()
	if x, err = opInput(inputs[0], s.xShape, op, "x"); err != nil {
		return nil, nil, nil, err
	}
	if k, err = opInput(inputs[1], s.kShape, op, "k"); err != nil {
		return nil, nil, nil, err
	}
	if op.hasBias {
		if b, err = opInput(inputs[2], s.bShape, op, "b"); err != nil {
			return nil, nil, nil, err
		}
	}
	return x, k, b, nil
}

func (op *convForwardOp[T, L]) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convForwardOp[T, L]) Hashcode() uint32      { return opHash(op) }

// String is "nnsweep.Conv2D{relu, bias, <geometry>}" (the layer's kind, then its activation).
func (op *convForwardOp[T, L]) String() string {
	bias := "nobias"
	if op.hasBias {
		bias = "bias"
	}
	g := op.layer()
	return fmt.Sprintf("nnsweep.%s{%v, %s, %v}", g.kind(), op.act, bias, g)
}

// DiffWRT says the op is differentiable with respect to all its inputs; a dX that nothing uses
// is skipped at run time (see the comment at the top of this file).
func (op *convForwardOp[T, L]) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the gradient nodes of x, k and b (see the comment at the top of this file).
func (op *convForwardOp[T, L]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, k := inputs[0], inputs[1]
	geom := op.layer()
	s := geom.shapes()
	dz := grad
	if op.act != actLinear && !(op.act == actReLU && gradMasked(grad, output)) {
		var err error
		if dz, err = G.ApplyOp(newConvActivationGradOp(op.act, s.yShape), output, grad); err != nil {
			return nil, err
		}
	}
	dxOp := &convDataGrad[L]{geom: geom, mask: reluMaskOf(x)}
	dxOp.task = kernels.NewPass(dxOp.chunk, s.batch)
	dxInputs := []*G.Node{dz, k}
	if dxOp.mask != nil {
		dxInputs = append(dxInputs, x)
	}
	dx, err := G.ApplyOp(dxOp, dxInputs...)
	if err != nil {
		return nil, err
	}
	recordNode(dx)
	dkOp := &convFilterGrad[L]{geom: geom}
	dkOp.task = kernels.NewPass(dkOp.chunk, s.batch)
	dk, err := G.ApplyOp(dkOp, x, dz)
	if err != nil {
		return nil, err
	}
	if !op.hasBias {
		return G.Nodes{dx, dk}, nil
	}
	dbOp := &convBiasGradOp{geom: s}
	dbOp.task = kernels.NewPass(dbOp.chunk, s.batch)
	db, err := G.ApplyOp(dbOp, dz)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dk, db}, nil
}

// DoDiff adds the gradients with respect to x, k and b to their bound gradients (for gorgonia's
// LispMachine). It runs on the calling goroutine and allocates its scratch on every call.
func (op *convForwardOp[T, L]) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return err
	}
	x, k, _, err := op.inputs(nodeValues(inputs))
	if err != nil {
		return err
	}
	geom := op.layer()
	s := geom.shapes()
	dz, grads, err := layerDiff(op, op.act, inputs, output, s.yShape, s.xShape, s.kShape, s.bShape)
	if err != nil {
		return err
	}
	conv := geom.slotKernels(0)
	add := func(dst, src []float32) {
		for i, v := range src {
			dst[i] += v
		}
	}
	dx := make([]float32, len(x))
	conv.BackwardData(s.batch, dz, k, dx)
	add(grads[0], dx)
	dk := make([]float32, len(k))
	conv.BackwardFilter(s.batch, x, dz, dk)
	add(grads[1], dk)
	if op.hasBias {
		f := s.bShape[1]
		db := make([]float32, f)
		kernels.BiasGradNCHW(s.batch, f, s.yShape[2]*s.yShape[3], dz, db)
		add(grads[2], db)
	}
	return nil
}

// newConvActivationGradOp is (y, dy) → activation'(y) ⊙ dy for the NCHW output y of a fused
// convolution.
func newConvActivationGradOp(act activation, shape tensor.Shape) *outputGradOp {
	return newOutputGradOp(fmt.Sprintf("ConvActivationGrad{%v, %v}", act, shape), shape,
		func(y, dy, dx []float32) { activationBackward(act, y, dy, dx) })
}

// convDataGrad is (dZ, k) → dX, the gradient of a convolution of geometry L with respect to its
// input. Like the dense layer's dX (matMulOp with pruneIfUnused), it checks on its first run
// whether anything uses its result, and if nothing does it skips the pass on every run and its
// value stays zero.
type convDataGrad[L convLayer] struct {
	opBase
	geom L
	out  opBuffer
	task *kernels.Pass
	// mask, when set, is the layer's input x, a ReLU's output: the op is then (dZ, k, x) → dX ⊙
	// (x > 0), the ReLU's gradient fused in (see activation.go).
	mask *G.Node
	// The current call's operands, for the chunks.
	dz, k, x, dx []float32

	resultUse
}

// convDataGradOp is the input-gradient op of FusedConv2D.
type convDataGradOp = convDataGrad[*convGeometry]

var (
	_ G.Op              = (*convDataGradOp)(nil)
	_ G.UsePreallocDoer = (*convDataGradOp)(nil)
)

func (op *convDataGrad[L]) Arity() int {
	if op.mask != nil {
		return 3
	}
	return 2
}

// Type is Tensor-4 a → Tensor-4 a [→ Tensor-4 a] → Tensor-4 a.
func (op *convDataGrad[L]) Type() hm.Type {
	if op.mask != nil {
		return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type, opTensor4Type)
	}
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *convDataGrad[L]) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	s := op.geom.shapes()
	want := []tensor.Shape{s.yShape, s.kShape, s.xShape}[:op.Arity()]
	if err := opCheckShapes(op, inputs, want...); err != nil {
		return nil, err
	}
	return s.xShape.Clone(), nil
}

func (op *convDataGrad[L]) maskedBy() *G.Node { return op.mask }

// Do computes the input gradient into the op's own buffer (unless nothing uses it) and returns
// the buffer.
func (op *convDataGrad[L]) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	s := op.geom.shapes()
	dz, err := opInput(inputs[0], s.yShape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	k, err := opInput(inputs[1], s.kShape, op, "k")
	if err != nil {
		return nil, err
	}
	var x []float32
	if op.mask != nil {
		if x, err = opInput(inputs[2], s.xShape, op, "x"); err != nil {
			return nil, err
		}
	}
	out := op.out.tensor(s.xShape)
	if op.isUnused() {
		return out, nil
	}
	op.dz, op.k, op.x, op.dx = dz, k, x, out.Float32s()
	op.task.Run(s.splittable)
	op.dz, op.k, op.x, op.dx = nil, nil, nil, nil
	return out, nil
}

// chunk computes chunk c of chunks of the input gradient on slot's kernels, and masks it by
// x > 0 while it is in cache when the op has a mask.
func (op *convDataGrad[L]) chunk(c, chunks, slot int) {
	s := op.geom.shapes()
	lo, hi := kernels.ChunkRange(s.batch, c, chunks)
	in, out := s.inSize, s.outSize
	dx := op.dx[lo*in : hi*in]
	op.geom.slotKernels(slot).BackwardData(hi-lo, op.dz[lo*out:hi*out], op.k, dx)
	if op.x != nil {
		kernels.ReLUBackward(op.x[lo*in:hi*in], dx, dx)
	}
}

// UsePreallocDo is Do (see buffer.go).
func (op *convDataGrad[L]) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convDataGrad[L]) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convDataGrad[L]) Hashcode() uint32      { return opHash(op) }

// String is "nnsweep.Conv2DInputGrad{<geometry>}" (the layer's kind), with ", relu-masked"
// after the geometry when the op has a mask.
func (op *convDataGrad[L]) String() string {
	masked := ""
	if op.mask != nil {
		masked = ", relu-masked"
	}
	return fmt.Sprintf("nnsweep.%sInputGrad{%v%s}", op.geom.kind(), op.geom, masked)
}

// chunkSums holds the partial sums of a pass whose chunks each sum over their own examples: chunk
// 0 writes the output, chunk c > 0 its own part of partial, and reduce adds the parts onto the
// output in chunk order, so the result does not depend on who ran which chunk.
type chunkSums struct {
	partial []float32
}

// dst returns where chunk c writes its sums, for an output out.
func (s *chunkSums) dst(out []float32, c int) []float32 {
	if c == 0 {
		return out
	}
	return s.partial[(c-1)*len(out) : c*len(out)]
}

// run runs task into out: in chunks when chunked, each chunk summing into dst(out, c), then
// the parts added onto out in chunk order; otherwise as one call.
func (s *chunkSums) run(task *kernels.Pass, out []float32, chunked bool) {
	if !chunked {
		task.Run(false)
		return
	}
	chunks := task.Chunks()
	if need := (chunks - 1) * len(out); len(s.partial) < need {
		s.partial = make([]float32, need)
	}
	task.Run(true)
	for c := 1; c < chunks; c++ {
		for i, v := range s.dst(out, c) {
			out[i] += v
		}
	}
}

// convFilterGrad is (x, dZ) → dK, the gradient of a convolution of geometry L with respect to
// its kernel, summed over the batch. A split call sums each chunk separately (chunkSums).
type convFilterGrad[L convLayer] struct {
	opBase
	geom L
	out  opBuffer
	sums chunkSums
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, dz, dk []float32
}

// convFilterGradOp is the kernel-gradient op of FusedConv2D.
type convFilterGradOp = convFilterGrad[*convGeometry]

var (
	_ G.Op              = (*convFilterGradOp)(nil)
	_ G.UsePreallocDoer = (*convFilterGradOp)(nil)
)

func (op *convFilterGrad[L]) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *convFilterGrad[L]) Type() hm.Type {
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *convFilterGrad[L]) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	s := op.geom.shapes()
	if err := opCheckShapes(op, inputs, s.xShape, s.yShape); err != nil {
		return nil, err
	}
	return s.kShape.Clone(), nil
}

// Do computes the kernel gradient into the op's own buffer and returns it.
func (op *convFilterGrad[L]) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	s := op.geom.shapes()
	x, err := opInput(inputs[0], s.xShape, op, "x")
	if err != nil {
		return nil, err
	}
	dz, err := opInput(inputs[1], s.yShape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(s.kShape)
	op.x, op.dz, op.dk = x, dz, out.Float32s()
	op.sums.run(op.task, op.dk, s.splittable)
	op.x, op.dz, op.dk = nil, nil, nil
	return out, nil
}

// chunk sums the kernel gradient over the examples of chunk c of chunks on slot's kernels.
func (op *convFilterGrad[L]) chunk(c, chunks, slot int) {
	s := op.geom.shapes()
	lo, hi := kernels.ChunkRange(s.batch, c, chunks)
	in, out := s.inSize, s.outSize
	op.geom.slotKernels(slot).BackwardFilter(hi-lo, op.x[lo*in:hi*in], op.dz[lo*out:hi*out], op.sums.dst(op.dk, c))
}

// UsePreallocDo is Do (see buffer.go).
func (op *convFilterGrad[L]) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convFilterGrad[L]) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convFilterGrad[L]) Hashcode() uint32      { return opHash(op) }

// String is "nnsweep.Conv2DKernelGrad{<geometry>}" (the layer's kind).
func (op *convFilterGrad[L]) String() string {
	return fmt.Sprintf("nnsweep.%sKernelGrad{%v}", op.geom.kind(), op.geom)
}

// convBiasGradOp is dZ → db [1, F, 1, 1], the sums of each channel of dZ over the batch and the
// output plane, for every kind of convolution. A split call sums each chunk separately
// (chunkSums).
type convBiasGradOp struct {
	opBase
	geom *convShapes
	out  opBuffer
	sums chunkSums
	task *kernels.Pass
	// The current call's operands, for the chunks.
	dz, db []float32
}

var (
	_ G.Op              = (*convBiasGradOp)(nil)
	_ G.UsePreallocDoer = (*convBiasGradOp)(nil)
)

func (op *convBiasGradOp) Arity() int { return 1 }

// Type is Tensor-4 a → Tensor-4 a.
func (op *convBiasGradOp) Type() hm.Type { return hm.NewFnType(opTensor4Type, opTensor4Type) }

func (op *convBiasGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.geom.yShape); err != nil {
		return nil, err
	}
	return op.geom.bShape.Clone(), nil
}

// splittable says the bias gradient is large enough to be summed on two goroutines.
func (op *convBiasGradOp) splittable() bool {
	return op.geom.batch >= 2 && op.geom.yShape.TotalSize() >= convSplitMinFloats
}

// Do sums the channels into the op's own buffer and returns it.
func (op *convBiasGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	dz, err := opInput(inputs[0], op.geom.yShape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.geom.bShape)
	op.dz, op.db = dz, out.Float32s()
	op.sums.run(op.task, op.db, op.splittable())
	op.dz, op.db = nil, nil
	return out, nil
}

// chunk sums the channels over the examples of chunk c of chunks.
func (op *convBiasGradOp) chunk(c, chunks, _ int) {
	s := op.geom
	lo, hi := kernels.ChunkRange(s.batch, c, chunks)
	out := s.outSize
	kernels.BiasGradNCHW(hi-lo, s.bShape[1], s.yShape[2]*s.yShape[3], op.dz[lo*out:hi*out], op.sums.dst(op.db, c))
}

// UsePreallocDo is Do (see buffer.go).
func (op *convBiasGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convBiasGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convBiasGradOp) Hashcode() uint32      { return opHash(op) }
func (op *convBiasGradOp) String() string {
	return fmt.Sprintf("nnsweep.Conv2DBiasGrad{%v}", op.geom.yShape)
}
