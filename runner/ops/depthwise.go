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

// A fused depthwise 2-D convolution layer as gorgonia ops, and the separable convolution built
// from it.
//
// The forward op computes y = activation(depthwise(x, k) + b) for an NCHW batch x in one op, on
// kernels.Depthwise (DirectConv per channel with the AVX-512 kernels, Go loops otherwise), then one pass over the output for the activation, like the convolution's
// (conv.go). Its symbolic gradient is
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
	geom := newDepthwiseGeometry(x.Shape()[0], dg)
	fused := act
	if act == actSwish {
		fused = actLinear // swish follows as its own op (activation.go)
	}
	op := newDepthwiseOp(geom, fused, b != nil)
	if b == nil {
		return withSwish(act)(G.ApplyOp(op, x, k))
	}
	if !b.Shape().Eq(geom.bShape) {
		return nil, fmt.Errorf("ops: depthwise_conv2d: b must have shape %v, got %v", geom.bShape, b.Shape())
	}
	return withSwish(act)(G.ApplyOp(op, x, k, b))
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
	case l.Window != (spec.Pair{}) && (l.Window.H != ks[2] || l.Window.W != ks[3]):
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: the layer's kernel is %v, k %v is %d×%d", l.Window, ks, ks[2], ks[3])
	case l.Stride.H < 1 || l.Stride.W < 1:
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: strides %v must be at least 1×1", l.Stride)
	}
	g := kernels.DepthwiseGeom{C: xs[1], M: m, H: xs[2], W: xs[3], KH: ks[2], KW: ks[3], StrideH: l.Stride.H, StrideW: l.Stride.W}
	switch l.Padding {
	case "same":
		g.PadTop, g.PadBottom = spec.SamePadding(xs[2], ks[2], l.Stride.H)
		g.PadLeft, g.PadRight = spec.SamePadding(xs[3], ks[3], l.Stride.W)
	case "valid", "":
	default:
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: unknown padding %q; use valid or same", l.Padding)
	}
	if err := g.Validate(); err != nil {
		return kernels.DepthwiseGeom{}, fmt.Errorf("ops: depthwise_conv2d: %w", err)
	}
	return g, nil
}

// depthwiseGeometry is the fixed shape of one depthwise layer over a batch, and its kernels.
type depthwiseGeometry struct {
	kernels.DepthwiseGeom
	batch                          int
	xShape, kShape, bShape, yShape tensor.Shape // NCHW; k is [F, 1, KH, KW], b [1, F, 1, 1]
	// splittable says the passes are large enough to be split over two goroutines.
	splittable bool
	// kern holds one kernels.Depthwise per slot, the goroutines of a split call (the second
	// exists only when splittable is set); the layer's forward and gradient ops share them.
	kern [2]*kernels.Depthwise
	// bias is the geometry convBiasGradOp reads: F output channels over the output plane.
	bias convGeometry
}

func newDepthwiseGeometry(batch int, g kernels.DepthwiseGeom) *depthwiseGeometry {
	f := g.F()
	dg := &depthwiseGeometry{DepthwiseGeom: g, batch: batch,
		xShape: tensor.Shape{batch, g.C, g.H, g.W}, kShape: tensor.Shape{f, 1, g.KH, g.KW},
		bShape: tensor.Shape{1, f, 1, 1}, yShape: tensor.Shape{batch, f, g.OutH(), g.OutW()},
		splittable: batch >= 2 && g.Flops(batch) >= convSplitMinFlops,
	}
	dg.kern[0] = kernels.NewDepthwise(g)
	if dg.splittable {
		dg.kern[1] = kernels.NewDepthwise(g)
	}
	dg.bias = convGeometry{batch: batch, bShape: dg.bShape, yShape: dg.yShape, ConvGeom: kernels.ConvGeom{
		C: g.C, H: g.H, W: g.W, F: f, KH: g.KH, KW: g.KW, StrideH: g.StrideH, StrideW: g.StrideW,
		PadTop: g.PadTop, PadBottom: g.PadBottom, PadLeft: g.PadLeft, PadRight: g.PadRight}}
	return dg
}

// String describes the geometry for op names.
func (g *depthwiseGeometry) String() string {
	return fmt.Sprintf("%v∗%v, multiplier %d, stride %d×%d, padding t%d b%d l%d r%d", g.xShape, g.kShape, g.M,
		g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// depthwiseOp is the forward op of FusedDepthwiseConv2D: (x, k[, b]) → activation(depthwise(x, k) + b).
type depthwiseOp struct {
	opBase
	optionalBias
	geom *depthwiseGeometry
	act  activation
	out  opBuffer
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, k, b, y []float32
}

func newDepthwiseOp(geom *depthwiseGeometry, act activation, hasBias bool) *depthwiseOp {
	op := &depthwiseOp{geom: geom, act: act, optionalBias: optionalBias{hasBias}}
	op.task = kernels.NewPass(op.chunk, geom.batch)
	return op
}

var (
	_ G.SDOp            = (*depthwiseOp)(nil)
	_ G.ADOp            = (*depthwiseOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseOp)(nil)
)

// Type is Tensor-4 a → Tensor-4 a [→ Tensor-4 a] → Tensor-4 a.
func (op *depthwiseOp) Type() hm.Type { return op.fnType(opTensor4Type) }

func (op *depthwiseOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	return op.inferShape(op, inputs, op.geom.xShape, op.geom.kShape, op.geom.bShape, op.geom.yShape)
}

func (op *depthwiseOp) inputs(inputs []G.Value) (x, k, b []float32, err error) {
	if err = opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, nil, nil, err
	}
	if x, err = opInput(inputs[0], op.geom.xShape, op, "x"); err != nil {
		return nil, nil, nil, err
	}
	if k, err = opInput(inputs[1], op.geom.kShape, op, "k"); err != nil {
		return nil, nil, nil, err
	}
	if op.hasBias {
		if b, err = opInput(inputs[2], op.geom.bShape, op, "b"); err != nil {
			return nil, nil, nil, err
		}
	}
	return x, k, b, nil
}

// Do computes the layer into the op's own buffer and returns it.
func (op *depthwiseOp) Do(inputs ...G.Value) (G.Value, error) {
	x, k, b, err := op.inputs(inputs)
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.geom.yShape)
	op.x, op.k, op.b, op.y = x, k, b, out.Float32s()
	op.task.Run(op.geom.splittable)
	op.x, op.k, op.b, op.y = nil, nil, nil, nil
	return out, nil
}

// chunk computes chunk c of chunks of the output.
func (op *depthwiseOp) chunk(c, chunks, slot int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	y := op.y[lo*out : hi*out]
	g.kern[slot].Forward(hi-lo, op.x[lo*in:hi*in], op.k, op.b, y)
	biasActivate(y, nil, len(y), op.act)
}

// UsePreallocDo is Do (see buffer.go).
func (op *depthwiseOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *depthwiseOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *depthwiseOp) Hashcode() uint32      { return opHash(op) }

func (op *depthwiseOp) String() string {
	bias := "nobias"
	if op.hasBias {
		bias = "bias"
	}
	return fmt.Sprintf("nnsweep.DepthwiseConv2D{%v, %s, %v}", op.act, bias, op.geom)
}

// DiffWRT says the op is differentiable with respect to all its inputs.
func (op *depthwiseOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the gradient nodes of x, k and b (see the comment at the top of this file).
func (op *depthwiseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, k := inputs[0], inputs[1]
	geom := op.geom
	dz := grad
	if op.act != actLinear {
		var err error
		if dz, err = G.ApplyOp(newConvActivationGradOp(op.act, geom.yShape), output, grad); err != nil {
			return nil, err
		}
	}
	dxOp := &depthwiseDataGradOp{geom: geom}
	dxOp.task = kernels.NewPass(dxOp.chunk, geom.batch)
	dx, err := G.ApplyOp(dxOp, dz, k)
	if err != nil {
		return nil, err
	}
	if d, ok := dx.Op().(*depthwiseDataGradOp); ok && d.node == nil {
		d.node = dx
	}
	dkOp := &depthwiseFilterGradOp{geom: geom}
	dkOp.task = kernels.NewPass(dkOp.chunk, geom.batch)
	dk, err := G.ApplyOp(dkOp, x, dz)
	if err != nil {
		return nil, err
	}
	if !op.hasBias {
		return G.Nodes{dx, dk}, nil
	}
	dbOp := &convBiasGradOp{geom: &geom.bias}
	dbOp.task = kernels.NewPass(dbOp.chunk, geom.batch)
	db, err := G.ApplyOp(dbOp, dz)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dk, db}, nil
}

// DoDiff adds the gradients with respect to x, k and b to their bound gradients (for gorgonia's
// LispMachine). It runs on the calling goroutine and allocates its scratch on every call.
func (op *depthwiseOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return err
	}
	vals := make([]G.Value, len(inputs))
	for i, n := range inputs {
		vals[i] = n.Value()
	}
	x, k, _, err := op.inputs(vals)
	if err != nil {
		return err
	}
	g := op.geom
	y, err := opInput(output.Value(), g.yShape, op, "output")
	if err != nil {
		return err
	}
	dyv, err := output.Grad()
	if err != nil {
		return fmt.Errorf("ops: %v: output gradient: %w", op, err)
	}
	dy, err := opInput(dyv, g.yShape, op, "output gradient")
	if err != nil {
		return err
	}
	dz := make([]float32, len(dy))
	activationBackward(op.act, y, dy, dz)
	shapes := []tensor.Shape{g.xShape, g.kShape, g.bShape}
	add := func(i int, src []float32) error {
		gv, err := inputs[i].Grad()
		if err != nil {
			return fmt.Errorf("ops: %v: gradient of input %d: %w", op, i, err)
		}
		dst, err := opInput(gv, shapes[i], op, "input gradient")
		if err != nil {
			return err
		}
		for j, v := range src {
			dst[j] += v
		}
		return nil
	}
	dx := make([]float32, len(x))
	g.kern[0].BackwardData(g.batch, dz, k, dx)
	if err := add(0, dx); err != nil {
		return err
	}
	dk := make([]float32, len(k))
	g.kern[0].BackwardFilter(g.batch, x, dz, dk)
	if err := add(1, dk); err != nil {
		return err
	}
	if op.hasBias {
		db := make([]float32, g.F())
		kernels.BiasGradNCHW(g.batch, g.F(), g.OutH()*g.OutW(), dz, db)
		return add(2, db)
	}
	return nil
}

// depthwiseDataGradOp is (dZ, k) → dX, the gradient of a depthwise convolution with respect to
// its input. Like convDataGradOp, it checks on its first run whether anything uses its result,
// and if nothing does it skips the pass on every run and its value stays zero.
type depthwiseDataGradOp struct {
	opBase
	geom *depthwiseGeometry
	out  opBuffer
	task *kernels.Pass
	// The current call's operands, for the chunks.
	dz, k, dx []float32

	node          *G.Node
	decided, skip bool
}

var (
	_ G.Op              = (*depthwiseDataGradOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseDataGradOp)(nil)
)

func (op *depthwiseDataGradOp) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *depthwiseDataGradOp) Type() hm.Type {
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *depthwiseDataGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.geom.yShape, op.geom.kShape); err != nil {
		return nil, err
	}
	return op.geom.xShape.Clone(), nil
}

// Do computes the input gradient into the op's own buffer (unless nothing uses it).
func (op *depthwiseDataGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	dz, err := opInput(inputs[0], op.geom.yShape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	k, err := opInput(inputs[1], op.geom.kShape, op, "k")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.geom.xShape)
	if op.isUnused() {
		return out, nil
	}
	op.dz, op.k, op.dx = dz, k, out.Float32s()
	op.task.Run(op.geom.splittable)
	op.dz, op.k, op.dx = nil, nil, nil
	return out, nil
}

// isUnused reports whether nothing in the graph uses the op's result (decided on the first call).
func (op *depthwiseDataGradOp) isUnused() bool {
	if !op.decided {
		n := op.node
		op.skip = false
		if n != nil && len(n.DerivOf()) == 0 {
			parents := n.Graph().To(n.ID())
			op.skip = parents == nil || parents.Len() == 0
		}
		op.decided = true
	}
	return op.skip
}

func (op *depthwiseDataGradOp) chunk(c, chunks, slot int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	g.kern[slot].BackwardData(hi-lo, op.dz[lo*out:hi*out], op.k, op.dx[lo*in:hi*in])
}

// UsePreallocDo is Do (see buffer.go).
func (op *depthwiseDataGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *depthwiseDataGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *depthwiseDataGradOp) Hashcode() uint32      { return opHash(op) }
func (op *depthwiseDataGradOp) String() string {
	return fmt.Sprintf("nnsweep.DepthwiseConv2DInputGrad{%v}", op.geom)
}

// depthwiseFilterGradOp is (x, dZ) → dK, the gradient of a depthwise convolution with respect
// to its kernel, summed over the batch; a split call sums each chunk separately (chunkSums).
type depthwiseFilterGradOp struct {
	opBase
	geom *depthwiseGeometry
	out  opBuffer
	sums chunkSums
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, dz, dk []float32
}

var (
	_ G.Op              = (*depthwiseFilterGradOp)(nil)
	_ G.UsePreallocDoer = (*depthwiseFilterGradOp)(nil)
)

func (op *depthwiseFilterGradOp) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *depthwiseFilterGradOp) Type() hm.Type {
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *depthwiseFilterGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.geom.xShape, op.geom.yShape); err != nil {
		return nil, err
	}
	return op.geom.kShape.Clone(), nil
}

// Do computes the kernel gradient into the op's own buffer and returns it.
func (op *depthwiseFilterGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.geom.xShape, op, "x")
	if err != nil {
		return nil, err
	}
	dz, err := opInput(inputs[1], op.geom.yShape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.geom.kShape)
	dk := out.Float32s()
	chunked := op.geom.splittable
	if chunked {
		op.sums.prepare(len(dk), op.task.Chunks())
	}
	op.x, op.dz, op.dk = x, dz, dk
	op.task.Run(chunked)
	op.x, op.dz, op.dk = nil, nil, nil
	if chunked {
		op.sums.reduce(dk, op.task.Chunks())
	}
	return out, nil
}

func (op *depthwiseFilterGradOp) chunk(c, chunks, slot int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	g.kern[slot].BackwardFilter(hi-lo, op.x[lo*in:hi*in], op.dz[lo*out:hi*out], op.sums.dst(op.dk, c))
}

// UsePreallocDo is Do (see buffer.go).
func (op *depthwiseFilterGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *depthwiseFilterGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *depthwiseFilterGradOp) Hashcode() uint32      { return opHash(op) }
func (op *depthwiseFilterGradOp) String() string {
	return fmt.Sprintf("nnsweep.DepthwiseConv2DKernelGrad{%v}", op.geom)
}
