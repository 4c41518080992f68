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
//	dX = BackwardData(dZ, k)      (a convDataGradOp, skipped when nothing uses it)
//	dK = BackwardFilter(x, dZ)    (a convFilterGradOp)
//	db = Σ dZ per channel         (a convBiasGradOp)
//
// each an op with its own reused output buffer (see buffer.go). As for the dense layer (see
// dense.go), gorgonia asks for dX of the first layer, whose input is the image batch, though
// nothing uses it; it is the most expensive of the backward passes there, and the dX op skips it.
//
// When a pass is large enough (convSplitMinFlops, convSplitMinFloats), its batch is cut into
// chunks, every chunk with its own partial sums, run on two goroutines (each with its own
// kernels.Conv2D) when that measures faster; the results do not depend on which goroutine ran
// which chunk, or whether the call was split (see kernels.Pass).

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
	if l.Window != (spec.Pair{}) && (l.Window.H != ks[2] || l.Window.W != ks[3]) {
		return nil, fmt.Errorf("ops: conv2d: the layer's kernel is %v, k %v is %d×%d", l.Window, ks, ks[2], ks[3])
	}
	if l.Stride.H < 1 || l.Stride.W < 1 {
		return nil, fmt.Errorf("ops: conv2d: strides %v must be at least 1×1", l.Stride)
	}
	var top, bottom, left, right int
	switch l.Padding {
	case "same":
		top, bottom = spec.SamePadding(xs[2], ks[2], l.Stride.H)
		left, right = spec.SamePadding(xs[3], ks[3], l.Stride.W)
	case "valid", "":
	default:
		return nil, fmt.Errorf("ops: conv2d: unknown padding %q; use valid or same", l.Padding)
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
	fused := act
	if act == actSwish {
		fused = actLinear // swish follows as its own op (activation.go)
	}
	op := newConvOp(geom, fused, b != nil)
	if b == nil {
		return withSwish(act)(G.ApplyOp(op, x, k))
	}
	if !b.Shape().Eq(geom.bShape) {
		return nil, fmt.Errorf("ops: conv2d: b must have shape %v, got %v", geom.bShape, b.Shape())
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

// convGeometry is the fixed shape of one convolution layer over a batch, and the kernels that
// run it.
type convGeometry struct {
	kernels.ConvGeom
	batch                          int
	xShape, kShape, bShape, yShape tensor.Shape // NCHW; k is [F, C, KH, KW], b [1, F, 1, 1]
	// splittable says the convolution passes are large enough to be split over two goroutines:
	// they run in chunks (see kernels.Pass).
	splittable bool
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
	cg := convGeometry{
		ConvGeom: g, batch: batch,
		xShape: tensor.Shape{batch, g.C, g.H, g.W}, kShape: tensor.Shape{g.F, g.C, g.KH, g.KW},
		bShape: tensor.Shape{1, g.F, 1, 1}, yShape: tensor.Shape{batch, g.F, g.OutH(), g.OutW()},
		splittable: batch >= 2 && g.Flops(batch) >= convSplitMinFlops,
	}
	cg.engine[0] = kernels.NewConv2D(g)
	if cg.splittable {
		cg.engine[1] = kernels.NewConv2D(g)
	}
	return cg, nil
}

// conv returns the kernels.Conv2D of slot (0 or 1).
func (g *convGeometry) conv(slot int) kernels.Conv2D { return g.engine[slot] }

// String describes the geometry for op names: "(128, 1, 28, 28)∗(8, 1, 3, 3), stride 1×1,
// padding t0 b0 l0 r0".
func (g *convGeometry) String() string {
	return fmt.Sprintf("%v∗%v, stride %d×%d, padding t%d b%d l%d r%d", g.xShape, g.kShape,
		g.StrideH, g.StrideW, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight)
}

// convOp is the forward op of FusedConv2D: (x, k[, b]) → activation(conv(x, k) + b).
type convOp struct {
	opBase
	optionalBias
	geom convGeometry
	act  activation
	out  opBuffer
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, k, b, y []float32
}

func newConvOp(geom convGeometry, act activation, hasBias bool) *convOp {
	op := &convOp{geom: geom, act: act, optionalBias: optionalBias{hasBias}}
	op.task = kernels.NewPass(op.chunk, geom.batch)
	return op
}

var (
	_ G.SDOp            = (*convOp)(nil)
	_ G.ADOp            = (*convOp)(nil)
	_ G.UsePreallocDoer = (*convOp)(nil)
)

// Type is Tensor-4 a → Tensor-4 a [→ Tensor-4 a] → Tensor-4 a.
func (op *convOp) Type() hm.Type { return op.fnType(opTensor4Type) }

func (op *convOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	return op.inferShape(op, inputs, op.geom.xShape, op.geom.kShape, op.geom.bShape, op.geom.yShape)
}

// Do computes the layer into the op's own buffer and returns it.
func (op *convOp) Do(inputs ...G.Value) (G.Value, error) {
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

// chunk computes chunk c of chunks of the output on slot's kernels.
func (op *convOp) chunk(c, chunks, slot int) {
	g := &op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	y := op.y[lo*out : hi*out]
	g.conv(slot).Forward(hi-lo, op.x[lo*in:hi*in], op.k, op.b, y)
	biasActivate(y, nil, len(y), op.act)
}

// UsePreallocDo is Do (see buffer.go for why prealloc is not written).
func (op *convOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convOp) inputs(inputs []G.Value) (x, k, b []float32, err error) {
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

func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convOp) Hashcode() uint32      { return opHash(op) }

func (op *convOp) String() string {
	bias := "nobias"
	if op.hasBias {
		bias = "bias"
	}
	return fmt.Sprintf("nnsweep.Conv2D{%v, %s, %v}", op.act, bias, &op.geom)
}

// DiffWRT says the op is differentiable with respect to all its inputs; a dX that nothing uses
// is skipped at run time (see the comment at the top of this file).
func (op *convOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the gradient nodes of x, k and b (see the comment at the top of this file).
func (op *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, k := inputs[0], inputs[1]
	geom := &op.geom
	dz := grad
	if op.act != actLinear {
		var err error
		if dz, err = G.ApplyOp(newConvActivationGradOp(op.act, geom.yShape), output, grad); err != nil {
			return nil, err
		}
	}
	dxOp := &convDataGradOp{geom: geom}
	dxOp.task = kernels.NewPass(dxOp.chunk, geom.batch)
	dx, err := G.ApplyOp(dxOp, dz, k)
	if err != nil {
		return nil, err
	}
	// gorgonia returns an existing node for an identical op on the same inputs; that node's op
	// then runs, and it recorded its node when it was made.
	if d, ok := dx.Op().(*convDataGradOp); ok && d.node == nil {
		d.node = dx
	}
	dkOp := &convFilterGradOp{geom: geom}
	dkOp.task = kernels.NewPass(dkOp.chunk, geom.batch)
	dk, err := G.ApplyOp(dkOp, x, dz)
	if err != nil {
		return nil, err
	}
	if !op.hasBias {
		return G.Nodes{dx, dk}, nil
	}
	dbOp := &convBiasGradOp{geom: geom}
	dbOp.task = kernels.NewPass(dbOp.chunk, geom.batch)
	db, err := G.ApplyOp(dbOp, dz)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dk, db}, nil
}

// DoDiff adds the gradients with respect to x, k and b to their bound gradients (for gorgonia's
// LispMachine). It runs on the calling goroutine and allocates its scratch on every call.
func (op *convOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
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
	g := &op.geom
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
	grads := make([][]float32, len(inputs))
	for i, n := range inputs {
		gv, err := n.Grad()
		if err != nil {
			return fmt.Errorf("ops: %v: gradient of input %d: %w", op, i, err)
		}
		if grads[i], err = opInput(gv, shapes[i], op, "input gradient"); err != nil {
			return err
		}
	}
	conv := g.conv(0)
	add := func(dst, src []float32) {
		for i, v := range src {
			dst[i] += v
		}
	}
	dx := make([]float32, len(x))
	conv.BackwardData(g.batch, dz, k, dx)
	add(grads[0], dx)
	dk := make([]float32, len(k))
	conv.BackwardFilter(g.batch, x, dz, dk)
	add(grads[1], dk)
	if op.hasBias {
		db := make([]float32, g.F)
		kernels.BiasGradNCHW(g.batch, g.F, g.OutH()*g.OutW(), dz, db)
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

// convDataGradOp is (dZ, k) → dX, the gradient of a convolution with respect to its input. Like
// the dense layer's dX (matMulOp with pruneIfUnused), it checks on its first run whether anything
// uses its result, and if nothing does it skips the pass on every run and its value stays zero.
type convDataGradOp struct {
	opBase
	geom *convGeometry
	out  opBuffer
	task *kernels.Pass
	// The current call's operands, for the chunks.
	dz, k, dx []float32

	// node is the op's node (set once it exists); decided and skip record the first run's check.
	node          *G.Node
	decided, skip bool
}

var (
	_ G.Op              = (*convDataGradOp)(nil)
	_ G.UsePreallocDoer = (*convDataGradOp)(nil)
)

func (op *convDataGradOp) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *convDataGradOp) Type() hm.Type {
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *convDataGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.geom.yShape, op.geom.kShape); err != nil {
		return nil, err
	}
	return op.geom.xShape.Clone(), nil
}

// Do computes the input gradient into the op's own buffer (unless nothing uses it) and returns
// the buffer.
func (op *convDataGradOp) Do(inputs ...G.Value) (G.Value, error) {
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

// chunk computes chunk c of chunks of the input gradient on slot's kernels.
func (op *convDataGradOp) chunk(c, chunks, slot int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	g.conv(slot).BackwardData(hi-lo, op.dz[lo*out:hi*out], op.k, op.dx[lo*in:hi*in])
}

// isUnused reports whether nothing in the graph uses the op's result (decided on the first call).
func (op *convDataGradOp) isUnused() bool {
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

// UsePreallocDo is Do (see buffer.go).
func (op *convDataGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convDataGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convDataGradOp) Hashcode() uint32      { return opHash(op) }
func (op *convDataGradOp) String() string {
	return fmt.Sprintf("nnsweep.Conv2DInputGrad{%v}", op.geom)
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

// prepare makes room for the parts of chunks chunks of an output of n floats.
func (s *chunkSums) prepare(n, chunks int) {
	if need := (chunks - 1) * n; len(s.partial) < need {
		s.partial = make([]float32, need)
	}
}

// reduce adds the parts of chunks 1 … chunks-1 onto out, in that order.
func (s *chunkSums) reduce(out []float32, chunks int) {
	for c := 1; c < chunks; c++ {
		for i, v := range s.dst(out, c) {
			out[i] += v
		}
	}
}

// convFilterGradOp is (x, dZ) → dK, the gradient of a convolution with respect to its kernel,
// summed over the batch. A split call sums each chunk separately (chunkSums).
type convFilterGradOp struct {
	opBase
	geom *convGeometry
	out  opBuffer
	sums chunkSums
	task *kernels.Pass
	// The current call's operands, for the chunks.
	x, dz, dk []float32
}

var (
	_ G.Op              = (*convFilterGradOp)(nil)
	_ G.UsePreallocDoer = (*convFilterGradOp)(nil)
)

func (op *convFilterGradOp) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *convFilterGradOp) Type() hm.Type {
	return hm.NewFnType(opTensor4Type, opTensor4Type, opTensor4Type)
}

func (op *convFilterGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.geom.xShape, op.geom.yShape); err != nil {
		return nil, err
	}
	return op.geom.kShape.Clone(), nil
}

// Do computes the kernel gradient into the op's own buffer and returns it.
func (op *convFilterGradOp) Do(inputs ...G.Value) (G.Value, error) {
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

// chunk sums the kernel gradient over the examples of chunk c of chunks on slot's kernels.
func (op *convFilterGradOp) chunk(c, chunks, slot int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	in, out := g.InSize(), g.OutSize()
	g.conv(slot).BackwardFilter(hi-lo, op.x[lo*in:hi*in], op.dz[lo*out:hi*out], op.sums.dst(op.dk, c))
}

// UsePreallocDo is Do (see buffer.go).
func (op *convFilterGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *convFilterGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convFilterGradOp) Hashcode() uint32      { return opHash(op) }
func (op *convFilterGradOp) String() string {
	return fmt.Sprintf("nnsweep.Conv2DKernelGrad{%v}", op.geom)
}

// convBiasGradOp is dZ → db [1, F, 1, 1], the sums of each channel of dZ over the batch and the
// output plane. A split call sums each chunk separately (chunkSums).
type convBiasGradOp struct {
	opBase
	geom *convGeometry
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
	db := out.Float32s()
	chunked := op.splittable()
	if chunked {
		op.sums.prepare(len(db), op.task.Chunks())
	}
	op.dz, op.db = dz, db
	op.task.Run(chunked)
	op.dz, op.db = nil, nil
	if chunked {
		op.sums.reduce(db, op.task.Chunks())
	}
	return out, nil
}

// chunk sums the channels over the examples of chunk c of chunks.
func (op *convBiasGradOp) chunk(c, chunks, _ int) {
	g := op.geom
	lo, hi := kernels.ChunkRange(g.batch, c, chunks)
	out := g.OutSize()
	kernels.BiasGradNCHW(hi-lo, g.F, g.OutH()*g.OutW(), op.dz[lo*out:hi*out], op.sums.dst(op.db, c))
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
