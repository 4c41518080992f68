package ops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batch normalisation with Keras semantics, on both engines.
//
// x is NCHW [N, C, H, W] (normalised per channel over N, H and W) or [N, F] (per feature over N);
// in what follows c is C or F and s the H·W values of a channel in one example (1 for vectors).
// On a training graph y = γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε), μ and σ² the mean and biased
// variance over the batch's real rows (the first count rows, count being builder.Graph.Count);
// padding rows (from count on) are not part of the statistics and their output is 0, so they add
// nothing to the statistics, the gradients or the moving statistics. After computing μ and σ²,
// the training graph moves the layer's moving statistics towards them as Keras does,
// moving = moving·momentum + batch·(1 − momentum) (the biased variance for the moving variance,
// as Keras; PyTorch's running variance is unbiased). An evaluation graph normalises with the
// moving statistics, y = γ·(x − moving_mean)/√(moving_variance + ε) + β, row by row.
//
// The moving statistics are non-trainable weights (builder.Weights.NonTrainable): the training
// and evaluation graphs bind the same tensors, the training graph updates them in place, and the
// optimizer never sees them.
//
// Stock composes gorgonia's reductions and broadcasts with a 0/1 mask of the real rows, and a
// small op of ours (movingStatsOp) applies the update with the mean and variance nodes as inputs.
// Fast runs one op forward (bnTrainOp: one pass for the per-channel sums, one to normalise, scale
// and shift, then the update) and its gradient in one pass for the sums and one for dx:
// bnSumsOp (dβ = Σ dy and dγ = Σ dy·x̂ over the real rows, per channel), bnPickOp (dγ and dβ from
// them) and bnInputGradOp (the standard dx = γ/√(σ²+ε)·(dy − dβ/m − x̂·dγ/m), m = count·s, 0 on
// padding rows). The gradient ops read the batch's μ and 1/√(σ² + ε) that the forward op keeps
// (c floats each, the op's own memory, not a graph value: the forward op runs before its
// gradient on every step, which needs it for dy); everything else comes through their inputs.
// Every buffer is the op's own, so a step allocates nothing. Each op works channel by channel, so
// a tensor large enough (convSplitMinFloats) is split by channels over both cores (kernels.Pass)
// with the same bits as whole: every channel's sums are made by one goroutine in one order.
//
// Every pass over a channel is one of package kernels' batch-norm passes (kernels.BatchNormSum
// and the rest: AVX-512 where the CPU has it, float64 sums in a fixed order of sixteen lanes on
// every implementation). A ReLU layer right after the batch norm is fused into these ops on Fast
// (fuseReLU): the forward ops write max(0, y) and the gradient ops take the forward op's output
// as one more input, counting dy only where it is positive, with the bits of the separate
// activation op and its gradient.

// batchNormGraph is the batch_norm layer (see above).
func batchNormGraph(lb *builder.LayerBuild, x *G.Node, l spec.ResolvedLayer, _ string, fast bool) (*G.Node, error) {
	s, ok := l.Settings.(spec.BatchNormSettings)
	if !ok {
		return nil, fmt.Errorf("ops: batch_norm: layer %s has no batch_norm settings", l.Name)
	}
	var gamma, beta *G.Node
	if s.Scale {
		gamma = lb.Param()
	}
	if s.Center {
		beta = lb.Param()
	}
	mean, variance := lb.Param(), lb.Param()
	bn := BatchNorm{Momentum: s.Momentum, Epsilon: s.Epsilon,
		MovingMean: lb.Tensor(mean), MovingVariance: lb.Tensor(variance)}
	if !lb.Training() {
		if fast {
			return bn.FusedEval(x, mean, variance, gamma, beta)
		}
		return bn.StockEval(x, mean, variance, gamma, beta)
	}
	if fast {
		return bn.FusedTrain(x, lb.Count(), gamma, beta)
	}
	return bn.StockTrain(x, lb.Count(), gamma, beta)
}

// BatchNorm is one batch normalisation layer's settings and moving statistics (float32 [c]
// tensors, updated in place by its training graph).
type BatchNorm struct {
	Momentum, Epsilon          float64
	MovingMean, MovingVariance *tensor.Dense
}

// bnGeometry is the layout of a batch norm's input: rows examples of c channels of s values.
type bnGeometry struct {
	rows, c, s int
	shape      tensor.Shape
	cShape     tensor.Shape // [c], the shape of γ, β and the statistics
	sumsShape  tensor.Shape // [2, c], the shape of bnSumsOp's output
}

func newBNGeometry(x *G.Node) (bnGeometry, error) {
	sh := x.Shape()
	if x.Dtype() != tensor.Float32 || (len(sh) != 2 && len(sh) != 4) {
		return bnGeometry{}, fmt.Errorf("ops: batch_norm: x must be float32 [N, C, H, W] or [N, F], got shape %v of %v", sh, x.Dtype())
	}
	g := bnGeometry{rows: sh[0], c: sh[1], s: 1, shape: sh.Clone(), cShape: tensor.Shape{sh[1]}, sumsShape: tensor.Shape{2, sh[1]}}
	if len(sh) == 4 {
		g.s = sh[2] * sh[3]
	}
	return g, nil
}

// bnSplit runs an op's per-channel work in chunks of channels, on both cores when the tensor is
// large enough (kernels.Pass): every channel is computed whole by one goroutine, in the same
// order, so a split changes no bit of the result.
type bnSplit struct {
	task       *kernels.Pass
	splittable bool
}

func newBNSplit(g bnGeometry, chunk func(lo, hi int)) bnSplit {
	c := g.c
	return bnSplit{splittable: c >= 2 && g.shape.TotalSize() >= convSplitMinFloats,
		task: kernels.NewPass(func(chunk_, chunks, _ int) { chunk(kernels.ChunkRange(c, chunk_, chunks)) }, c)}
}

// run runs the op's chunks over every channel.
func (b bnSplit) run() { b.task.Run(b.splittable) }

func (g bnGeometry) checkParam(n *G.Node, what string) error {
	if n != nil && (n.Dtype() != tensor.Float32 || !n.Shape().Eq(tensor.Shape{g.c})) {
		return fmt.Errorf("ops: batch_norm: %s must be float32 [%d], got shape %v of %v", what, g.c, n.Shape(), n.Dtype())
	}
	return nil
}

// geometry returns the geometry of x after checking the nodes (γ, β or the moving statistics'
// nodes, each [c] or nil) and bn's moving statistics against it.
func (bn BatchNorm) geometry(x *G.Node, nodes map[string]*G.Node) (bnGeometry, error) {
	g, err := newBNGeometry(x)
	if err != nil {
		return bnGeometry{}, err
	}
	for what, n := range nodes {
		if err := g.checkParam(n, what); err != nil {
			return bnGeometry{}, err
		}
	}
	for what, t := range map[string]*tensor.Dense{"moving mean": bn.MovingMean, "moving variance": bn.MovingVariance} {
		if t == nil || t.Dtype() != tensor.Float32 || t.Shape().TotalSize() != g.c {
			return bnGeometry{}, fmt.Errorf("ops: batch_norm: the %s must be a float32 tensor of %d values", what, g.c)
		}
	}
	return g, nil
}

// updateMoving moves each moving statistic towards the batch's: m·momentum + b·(1 − momentum).
func updateMoving(moving []float32, batch []float64, momentum float64) {
	mom := float32(momentum)
	for i, b := range batch {
		moving[i] = moving[i]*mom + float32(b)*(1-mom)
	}
}

// fuseReLU fuses a ReLU into the fast batch norm whose output x is, when x is one (the forward
// op of FusedTrain or FusedEval), and reports whether it did: the op then writes max(0, y) (the
// bits of the activation op's ReLU) and its gradient ops take dy only where that output is
// positive (the bits of ReLUBackward), saving the activation's passes over the tensor. The
// activation layer calls it on its input, which in a chain of layers only that layer reads; a
// node more layers read (a residual block's input, also its shortcut) is marked by keepUnfused
// first and never fused. Fusing twice is a ReLU of a ReLU, the same value.
func fuseReLU(x *G.Node) bool {
	switch op := x.Op().(type) {
	case *bnTrainOp:
		if !op.shared {
			op.relu = true
			return true
		}
	case *bnEvalOp:
		if !op.shared {
			op.relu = true
			return true
		}
	}
	return false
}

// keepUnfused marks x, when a fast batch norm made it, as read by more than the next layer, so
// that fuseReLU leaves its op as it is.
func keepUnfused(x *G.Node) {
	switch op := x.Op().(type) {
	case *bnTrainOp:
		op.shared = true
	case *bnEvalOp:
		op.shared = true
	}
}

// ---- Fast: the fused ops ----

// FusedTrain is the training graph's batch norm of x as one op over the batch's first count rows
// (a float32 scalar node); gamma and beta are [c] or nil (scale or center off).
func (bn BatchNorm) FusedTrain(x, count, gamma, beta *G.Node) (*G.Node, error) {
	g, err := bn.geometry(x, map[string]*G.Node{"gamma": gamma, "beta": beta})
	if err != nil {
		return nil, err
	}
	op := &bnTrainOp{bnGeometry: g, bn: bn, bnAffine: newBNAffine(gamma, beta),
		mean: make([]float64, g.c), variance: make([]float64, g.c), invStd: make([]float32, g.c)}
	op.bnSplit = newBNSplit(g, op.channels)
	return G.ApplyOp(op, bnInputs([]*G.Node{x, count}, gamma, beta)...)
}

// bnTrainOp is (x, count[, γ][, β]) → y on a training graph (see the top of this file).
type bnTrainOp struct {
	opBase
	bnGeometry
	bnSplit
	bnAffine
	bn  BatchNorm
	out opBuffer
	// relu says a ReLU after the batch norm is fused into the op (fuseReLU): y = max(0, ·);
	// shared forbids it (keepUnfused).
	relu, shared bool
	// The last run's real rows, batch mean and variance and 1/√(σ² + ε), per channel.
	real           int
	mean, variance []float64
	invStd         []float32
	// The current call's operands, for the chunks.
	x, y, gamma, beta []float32
}

var (
	_ G.SDOp            = (*bnTrainOp)(nil)
	_ G.UsePreallocDoer = (*bnTrainOp)(nil)
)

func (op *bnTrainOp) Arity() int { return op.arity(2) }

// Type is T a → a → [Vector a →] [Vector a →] T a.
func (op *bnTrainOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return op.fnType(op.bnGeometry, a)
}

func (op *bnTrainOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	return op.inferShape(op, op.bnGeometry, inputs, tensor.ScalarShape())
}

// bnAffine says which of γ and β a batch norm op takes: its last inputs, after x and the op's
// fixed inputs (count, or the moving statistics), γ first.
type bnAffine struct{ hasGamma, hasBeta bool }

// newBNAffine is the bnAffine of the nodes gamma and beta, nil for those the layer lacks.
func newBNAffine(gamma, beta *G.Node) bnAffine { return bnAffine{gamma != nil, beta != nil} }

// arity is the number of inputs of an op with fixed inputs before γ and β, x counted.
func (p bnAffine) arity(fixed int) int {
	n := fixed
	if p.hasGamma {
		n++
	}
	if p.hasBeta {
		n++
	}
	return n
}

// bnInputs appends γ and β, those the layer has, to an op's fixed input nodes (x first).
func bnInputs(fixed []*G.Node, gamma, beta *G.Node) []*G.Node {
	for _, n := range []*G.Node{gamma, beta} {
		if n != nil {
			fixed = append(fixed, n)
		}
	}
	return fixed
}

// fnType is T a → fixed… → [Vector a →] [Vector a →] T a for an input x of geometry g, fixed
// being the types of the inputs between x and γ.
func (p bnAffine) fnType(g bnGeometry, fixed ...hm.Type) hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: len(g.shape), Of: a}
	ts := append([]hm.Type{t}, fixed...)
	for range p.arity(0) {
		ts = append(ts, G.TensorType{Dims: 1, Of: a})
	}
	return hm.NewFnType(append(ts, t)...)
}

// inferShape checks an op's inputs, x of geometry g, then fixed, then γ and β [c], and returns
// x's shape, the op's output.
func (p bnAffine) inferShape(op fmt.Stringer, g bnGeometry, inputs []G.DimSizer, fixed ...tensor.Shape) (tensor.Shape, error) {
	want := append([]tensor.Shape{g.shape}, fixed...)
	for range p.arity(0) {
		want = append(want, tensor.Shape{g.c})
	}
	if err := opCheckShapes(op, inputs, want...); err != nil {
		return nil, err
	}
	return g.shape.Clone(), nil
}

// params returns γ and β from the inputs that follow x and the fixed ones, nil for those the
// layer lacks.
func (p bnAffine) params(op fmt.Stringer, c tensor.Shape, inputs []G.Value) (gamma, beta []float32, err error) {
	i := 0
	if p.hasGamma {
		if gamma, err = opInput(inputs[i], c, op, "gamma"); err != nil {
			return nil, nil, err
		}
		i++
	}
	if p.hasBeta {
		if beta, err = opInput(inputs[i], c, op, "beta"); err != nil {
			return nil, nil, err
		}
	}
	return gamma, beta, nil
}

// realRows reads the count input as a number of real rows from 1 to rows.
func realRows(op fmt.Stringer, v G.Value, rows int) (int, error) {
	count, err := opScalar(v, op, "count")
	if err != nil {
		return 0, err
	}
	n := int(count)
	if float32(n) != count || n < 1 || n > rows {
		return 0, fmt.Errorf("ops: %v: count %v must be a whole number of rows from 1 to %d", op, count, rows)
	}
	return n, nil
}

// Do normalises x with its batch statistics into the op's own buffer and updates the moving
// statistics.
func (op *bnTrainOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.shape, op, "x")
	if err != nil {
		return nil, err
	}
	if op.real, err = realRows(op, inputs[1], op.rows); err != nil {
		return nil, err
	}
	gamma, beta, err := op.params(op, op.cShape, inputs[2:])
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.shape)
	op.x, op.y, op.gamma, op.beta = x, out.Float32s(), gamma, beta
	op.run()
	op.x, op.y, op.gamma, op.beta = nil, nil, nil, nil
	updateMoving(op.bn.MovingMean.Float32s(), op.mean, op.bn.Momentum)
	updateMoving(op.bn.MovingVariance.Float32s(), op.variance, op.bn.Momentum)
	return out, nil
}

// channels computes channels lo to hi of the current call: their mean and biased variance over
// the real rows (in float64, the variance as the mean of squared deviations from the mean: two
// passes), then y = γ(x − μ)/√(σ² + ε) + β on the real rows and 0 on the padding rows.
func (op *bnTrainOp) channels(lo, hi int) {
	x, y, c, s := op.x, op.y, op.c, op.s
	m := float64(op.real * s)
	for ch := lo; ch < hi; ch++ {
		xc := x[ch*s:]
		mu := kernels.BatchNormSum(xc, op.real, c*s, s) / m
		sq := kernels.BatchNormSquaredDeviations(xc, op.real, c*s, s, mu)
		op.mean[ch], op.variance[ch] = mu, sq/m
		op.invStd[ch] = float32(1 / math.Sqrt(op.variance[ch]+op.bn.Epsilon))
		a, b := op.invStd[ch], float32(0)
		if op.gamma != nil {
			a *= op.gamma[ch]
		}
		if op.beta != nil {
			b = op.beta[ch]
		}
		if op.relu {
			kernels.BatchNormAffineReLU(y[ch*s:], xc, op.real, c*s, s, float32(mu), a, b)
		} else {
			kernels.BatchNormAffine(y[ch*s:], xc, op.real, c*s, s, float32(mu), a, b)
		}
		for r := op.real; r < op.rows; r++ {
			clear(y[(r*c+ch)*s:][:s])
		}
	}
}

// UsePreallocDo is Do (see buffer.go).
func (op *bnTrainOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *bnTrainOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bnTrainOp) Hashcode() uint32      { return opHash(op) }
func (op *bnTrainOp) String() string {
	// The op updates its own moving statistics: its address keeps two layers' ops apart.
	return fmt.Sprintf("nnsweep.BatchNormTrain{%v, ε=%v, γ=%v, β=%v, relu=%v, %p}", op.shape, op.bn.Epsilon, op.hasGamma, op.hasBeta, op.relu, op)
}

// DiffWRT: x, γ and β are differentiated, count is data.
func (op *bnTrainOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = i != 1
	}
	return d
}

// SymDiff returns the gradient nodes of x, (nil for count), γ and β: one bnSumsOp computes both
// per-channel sums, which the input gradient and the parameters' gradients (bnPickOp) read.
func (op *bnTrainOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x := inputs[0]
	so := &bnSumsOp{fwd: op, relu: op.relu}
	so.bnSplit = newBNSplit(op.bnGeometry, so.channels)
	sumsInputs := []*G.Node{x, grad}
	if op.relu {
		sumsInputs = append(sumsInputs, output)
	}
	sums, err := G.ApplyOp(so, sumsInputs...)
	if err != nil {
		return nil, err
	}
	dxInputs := []*G.Node{x, grad, sums}
	if op.hasGamma {
		dxInputs = append(dxInputs, inputs[2])
	}
	if op.relu {
		dxInputs = append(dxInputs, output)
	}
	dxOp := &bnInputGradOp{fwd: op, relu: op.relu}
	dxOp.bnSplit = newBNSplit(op.bnGeometry, dxOp.channels)
	dx, err := G.ApplyOp(dxOp, dxInputs...)
	if err != nil {
		return nil, err
	}
	grads := G.Nodes{dx, nil}
	for _, p := range []struct {
		has bool
		row int
	}{{op.hasGamma, bnSumGamma}, {op.hasBeta, bnSumBeta}} {
		if !p.has {
			continue
		}
		d, err := G.ApplyOp(&bnPickOp{fwd: op, row: p.row}, sums)
		if err != nil {
			return nil, err
		}
		grads = append(grads, d)
	}
	return grads, nil
}

// gradInputs returns x and dy, the first two inputs of the gradient op op of the forward op f.
func (f *bnTrainOp) gradInputs(op fmt.Stringer, inputs []G.Value) (x, dy []float32, err error) {
	if x, err = opInput(inputs[0], f.shape, op, "x"); err != nil {
		return nil, nil, err
	}
	if dy, err = opInput(inputs[1], f.shape, op, "output gradient"); err != nil {
		return nil, nil, err
	}
	return x, dy, nil
}

// The rows of bnSumsOp's output.
const (
	bnSumBeta  = 0 // Σ dy: dβ
	bnSumGamma = 1 // Σ dy·x̂: dγ
)

// bnSumsOp is (x, dy[, y]) → [2, c]: per channel Σ dy (row bnSumBeta) and Σ dy·x̂ (row
// bnSumGamma) over the real rows of the forward op's last run, summed in float64. With relu, the
// forward op's ReLU is fused and y is its output: dy counts only where y > 0.
type bnSumsOp struct {
	opBase
	bnSplit
	fwd  *bnTrainOp
	relu bool
	out  opBuffer
	// The current call's operands, for the chunks.
	x, dy, y, sums []float32
}

var (
	_ G.Op              = (*bnSumsOp)(nil)
	_ G.UsePreallocDoer = (*bnSumsOp)(nil)
)

func (op *bnSumsOp) Arity() int {
	if op.relu {
		return 3
	}
	return 2
}

// Type is T a → T a [→ T a] → Matrix a.
func (op *bnSumsOp) Type() hm.Type {
	t := G.TensorType{Dims: len(op.fwd.shape), Of: hm.TypeVariable('a')}
	if op.relu {
		return hm.NewFnType(t, t, t, opMatrixType)
	}
	return hm.NewFnType(t, t, opMatrixType)
}

func (op *bnSumsOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	want := []tensor.Shape{op.fwd.shape, op.fwd.shape}
	if op.relu {
		want = append(want, op.fwd.shape)
	}
	if err := opCheckShapes(op, inputs, want...); err != nil {
		return nil, err
	}
	return op.fwd.sumsShape.Clone(), nil
}

// Do computes the sums into the op's own buffer and returns it.
func (op *bnSumsOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	f := op.fwd
	x, dy, err := f.gradInputs(op, inputs)
	if err != nil {
		return nil, err
	}
	var y []float32
	if op.relu {
		if y, err = opInput(inputs[2], f.shape, op, "ReLU output"); err != nil {
			return nil, err
		}
	}
	out := op.out.tensor(op.fwd.sumsShape)
	op.x, op.dy, op.y, op.sums = x, dy, y, out.Float32s()
	op.run()
	op.x, op.dy, op.y, op.sums = nil, nil, nil, nil
	return out, nil
}

// channels computes the sums of channels lo to hi.
func (op *bnSumsOp) channels(lo, hi int) {
	f, x, dy := op.fwd, op.x, op.dy
	for ch := lo; ch < hi; ch++ {
		i := ch * f.s
		var sb, sg float64
		if op.y != nil {
			sb, sg = kernels.BatchNormGradSumsReLU(x[i:], dy[i:], op.y[i:], f.real, f.c*f.s, f.s, float32(f.mean[ch]), f.invStd[ch])
		} else {
			sb, sg = kernels.BatchNormGradSums(x[i:], dy[i:], f.real, f.c*f.s, f.s, float32(f.mean[ch]), f.invStd[ch])
		}
		op.sums[bnSumBeta*f.c+ch], op.sums[bnSumGamma*f.c+ch] = float32(sb), float32(sg)
	}
}

// UsePreallocDo is Do (see buffer.go).
func (op *bnSumsOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *bnSumsOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bnSumsOp) Hashcode() uint32      { return opHash(op) }
func (op *bnSumsOp) String() string {
	return fmt.Sprintf("nnsweep.BatchNormSums{relu=%v, %p}", op.relu, op.fwd)
}

// bnPickOp is [2, c] → [c], one row of bnSumsOp's output: dγ or dβ.
type bnPickOp struct {
	opBase
	fwd *bnTrainOp
	row int
	out opBuffer
}

var (
	_ G.Op              = (*bnPickOp)(nil)
	_ G.UsePreallocDoer = (*bnPickOp)(nil)
)

func (op *bnPickOp) Arity() int { return 1 }

// Type is Matrix a → Vector a.
func (op *bnPickOp) Type() hm.Type {
	return hm.NewFnType(opMatrixType, G.TensorType{Dims: 1, Of: hm.TypeVariable('a')})
}

func (op *bnPickOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.fwd.sumsShape); err != nil {
		return nil, err
	}
	return op.fwd.cShape.Clone(), nil
}

// Do copies the row into the op's own buffer and returns it.
func (op *bnPickOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	c := op.fwd.c
	sums, err := opInput(inputs[0], op.fwd.sumsShape, op, "sums")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.fwd.cShape)
	copy(out.Float32s(), sums[op.row*c:(op.row+1)*c])
	return out, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *bnPickOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *bnPickOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bnPickOp) Hashcode() uint32      { return opHash(op) }
func (op *bnPickOp) String() string {
	what := "Beta"
	if op.row == bnSumGamma {
		what = "Gamma"
	}
	return fmt.Sprintf("nnsweep.BatchNorm%sGrad{%p}", what, op.fwd)
}

// bnInputGradOp is (x, dy, sums[, γ][, y]) → dx (see the top of this file), sums being
// bnSumsOp's; with relu, y is the fused ReLU's output and dy counts only where y > 0.
type bnInputGradOp struct {
	opBase
	bnSplit
	fwd  *bnTrainOp
	relu bool
	out  opBuffer
	// The current call's operands, for the chunks.
	x, dy, sums, gamma, y, dx []float32
}

var (
	_ G.Op              = (*bnInputGradOp)(nil)
	_ G.UsePreallocDoer = (*bnInputGradOp)(nil)
)

func (op *bnInputGradOp) Arity() int {
	n := 3
	if op.fwd.hasGamma {
		n++
	}
	if op.relu {
		n++
	}
	return n
}

// Type is T a → T a → Matrix a [→ Vector a] [→ T a] → T a.
func (op *bnInputGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: len(op.fwd.shape), Of: a}
	ts := []hm.Type{t, t, opMatrixType}
	if op.fwd.hasGamma {
		ts = append(ts, G.TensorType{Dims: 1, Of: a})
	}
	if op.relu {
		ts = append(ts, t)
	}
	return hm.NewFnType(append(ts, t)...)
}

func (op *bnInputGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	want := []tensor.Shape{op.fwd.shape, op.fwd.shape, op.fwd.sumsShape}
	if op.fwd.hasGamma {
		want = append(want, op.fwd.cShape)
	}
	if op.relu {
		want = append(want, op.fwd.shape)
	}
	if err := opCheckShapes(op, inputs, want...); err != nil {
		return nil, err
	}
	return op.fwd.shape.Clone(), nil
}

// Do computes dx = γ/√(σ²+ε)·(dy − dβ/m − x̂·dγ/m) on the real rows, 0 on padding rows, into the
// op's own buffer.
func (op *bnInputGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	f := op.fwd
	x, dy, err := f.gradInputs(op, inputs)
	if err != nil {
		return nil, err
	}
	sums, err := opInput(inputs[2], f.sumsShape, op, "sums")
	if err != nil {
		return nil, err
	}
	var gamma, y []float32
	next := 3
	if f.hasGamma {
		if gamma, err = opInput(inputs[next], f.cShape, op, "gamma"); err != nil {
			return nil, err
		}
		next++
	}
	if op.relu {
		if y, err = opInput(inputs[next], f.shape, op, "ReLU output"); err != nil {
			return nil, err
		}
	}
	out := op.out.tensor(f.shape)
	op.x, op.dy, op.sums, op.gamma, op.y, op.dx = x, dy, sums, gamma, y, out.Float32s()
	op.run()
	op.x, op.dy, op.sums, op.gamma, op.y, op.dx = nil, nil, nil, nil, nil, nil
	return out, nil
}

// channels computes dx for channels lo to hi.
func (op *bnInputGradOp) channels(lo, hi int) {
	f, x, dy, dx := op.fwd, op.x, op.dy, op.dx
	m := float32(f.real * f.s)
	for ch := lo; ch < hi; ch++ {
		k := f.invStd[ch]
		if op.gamma != nil {
			k *= op.gamma[ch]
		}
		mu, inv := float32(f.mean[ch]), f.invStd[ch]
		mb, mg := op.sums[bnSumBeta*f.c+ch]/m, op.sums[bnSumGamma*f.c+ch]/m
		i := ch * f.s
		if op.y != nil {
			kernels.BatchNormInputGradReLU(dx[i:], x[i:], dy[i:], op.y[i:], f.real, f.c*f.s, f.s, mu, inv, k, mb, mg)
		} else {
			kernels.BatchNormInputGrad(dx[i:], x[i:], dy[i:], f.real, f.c*f.s, f.s, mu, inv, k, mb, mg)
		}
		for r := f.real; r < f.rows; r++ {
			clear(dx[(r*f.c+ch)*f.s:][:f.s])
		}
	}
}

// UsePreallocDo is Do (see buffer.go).
func (op *bnInputGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *bnInputGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bnInputGradOp) Hashcode() uint32      { return opHash(op) }
func (op *bnInputGradOp) String() string {
	return fmt.Sprintf("nnsweep.BatchNormInputGrad{relu=%v, %p}", op.relu, op.fwd)
}

// FusedEval is the evaluation graph's batch norm of x with the moving statistics (the nodes of
// the layer's moving mean and variance, [c]) as one op.
func (bn BatchNorm) FusedEval(x, mean, variance, gamma, beta *G.Node) (*G.Node, error) {
	g, err := bn.geometry(x, map[string]*G.Node{"moving mean": mean, "moving variance": variance, "gamma": gamma, "beta": beta})
	if err != nil {
		return nil, err
	}
	op := &bnEvalOp{bnGeometry: g, eps: bn.Epsilon, bnAffine: newBNAffine(gamma, beta),
		a: make([]float32, g.c), b: make([]float32, g.c)}
	op.bnSplit = newBNSplit(g, op.channels)
	return G.ApplyOp(op, bnInputs([]*G.Node{x, mean, variance}, gamma, beta)...)
}

// bnEvalOp is (x, moving mean, moving variance[, γ][, β]) → y = a·x + b per channel, with
// a = γ/√(moving_variance + ε) and b = β − a·moving_mean. It is not differentiable: evaluation
// graphs take no gradients.
type bnEvalOp struct {
	opBase
	bnGeometry
	bnSplit
	bnAffine
	eps  float64
	out  opBuffer
	a, b []float32
	// relu says a ReLU after the batch norm is fused into the op (fuseReLU); shared forbids it
	// (keepUnfused).
	relu, shared bool
	// The current call's operands, for the chunks.
	x, y []float32
}

var (
	_ G.Op              = (*bnEvalOp)(nil)
	_ G.UsePreallocDoer = (*bnEvalOp)(nil)
)

func (op *bnEvalOp) Arity() int { return op.arity(3) }

// Type is T a → Vector a → Vector a → [Vector a →] [Vector a →] T a.
func (op *bnEvalOp) Type() hm.Type {
	v := G.TensorType{Dims: 1, Of: hm.TypeVariable('a')}
	return op.fnType(op.bnGeometry, v, v)
}

func (op *bnEvalOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	return op.inferShape(op, op.bnGeometry, inputs, op.cShape, op.cShape)
}

func (op *bnEvalOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.shape, op, "x")
	if err != nil {
		return nil, err
	}
	mean, err := opInput(inputs[1], op.cShape, op, "moving mean")
	if err != nil {
		return nil, err
	}
	variance, err := opInput(inputs[2], op.cShape, op, "moving variance")
	if err != nil {
		return nil, err
	}
	gamma, beta, err := op.params(op, op.cShape, inputs[3:])
	if err != nil {
		return nil, err
	}
	for ch := range op.c {
		a := float32(1 / math.Sqrt(float64(variance[ch])+op.eps))
		if gamma != nil {
			a *= gamma[ch]
		}
		op.a[ch] = a
		op.b[ch] = -a * mean[ch]
		if beta != nil {
			op.b[ch] += beta[ch]
		}
	}
	out := op.out.tensor(op.shape)
	op.x, op.y = x, out.Float32s()
	op.run()
	op.x, op.y = nil, nil
	return out, nil
}

// channels computes y = a·x + b for channels lo to hi.
func (op *bnEvalOp) channels(lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		// (x − 0)·a + b is x·a + b to the bit.
		if op.relu {
			kernels.BatchNormAffineReLU(op.y[ch*op.s:], op.x[ch*op.s:], op.rows, op.c*op.s, op.s, 0, op.a[ch], op.b[ch])
		} else {
			kernels.BatchNormAffine(op.y[ch*op.s:], op.x[ch*op.s:], op.rows, op.c*op.s, op.s, 0, op.a[ch], op.b[ch])
		}
	}
}

func (op *bnEvalOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *bnEvalOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bnEvalOp) Hashcode() uint32      { return opHash(op) }
func (op *bnEvalOp) String() string {
	return fmt.Sprintf("nnsweep.BatchNormEval{%v, ε=%v, γ=%v, β=%v, relu=%v}", op.shape, op.eps, op.hasGamma, op.hasBeta, op.relu)
}

// ---- Stock: gorgonia's operations ----

// stockAxes returns the axes a batch norm of x reduces over and the shape of a per-channel
// parameter broadcast against x ([1, c, 1, 1] or [1, c]).
func stockAxes(g bnGeometry) (axes []int, param tensor.Shape, pattern []byte) {
	if len(g.shape) == 4 {
		return []int{0, 2, 3}, tensor.Shape{1, g.c, 1, 1}, []byte{0, 2, 3}
	}
	return []int{0}, tensor.Shape{1, g.c}, []byte{0}
}

// stockAffine returns x̂·γ + β with gorgonia's broadcasts (γ, β [c] or nil).
func stockAffine(g bnGeometry, xhat, gamma, beta *G.Node) (*G.Node, error) {
	_, param, pattern := stockAxes(g)
	y := xhat
	var err error
	if gamma != nil {
		var g4 *G.Node
		if g4, err = G.Reshape(gamma, param); err == nil {
			y, err = G.BroadcastHadamardProd(y, g4, nil, pattern)
		}
	}
	if err == nil && beta != nil {
		var b4 *G.Node
		if b4, err = G.Reshape(beta, param); err == nil {
			y, err = G.BroadcastAdd(y, b4, nil, pattern)
		}
	}
	return y, err
}

// StockTrain is FusedTrain composed of gorgonia's operations: a 0/1 mask of the real rows
// (row index < count) weighs the sums, and movingStatsOp updates the moving statistics.
func (bn BatchNorm) StockTrain(x, count, gamma, beta *G.Node) (*G.Node, error) {
	g, err := bn.geometry(x, map[string]*G.Node{"gamma": gamma, "beta": beta})
	if err != nil {
		return nil, err
	}
	axes, param, pattern := stockAxes(g)
	rowShape := make(tensor.Shape, len(g.shape))
	rowPattern := []byte{}
	for i := range rowShape {
		rowShape[i] = 1
		if i > 0 {
			rowPattern = append(rowPattern, byte(i))
		}
	}
	rowShape[0] = g.rows
	index := make([]float32, g.rows)
	for i := range index {
		index[i] = float32(i)
	}
	var mask, sum, mean, mean4, d, dm, sq, variance, std, std4, xhat, y, m *G.Node
	steps := []func() error{
		func() (err error) {
			rows := G.NewConstant(tensor.New(tensor.WithShape(rowShape...), tensor.WithBacking(index)), G.WithName(fmt.Sprintf("bn_rows_%p", x)))
			mask, err = G.Lt(rows, count, true)
			return err
		},
		func() (err error) { m, err = G.Mul(count, G.NewConstant(float32(g.s))); return err },
		func() (err error) { sum, err = G.BroadcastHadamardProd(x, mask, nil, rowPattern); return err },
		func() (err error) { sum, err = G.Sum(sum, axes...); return err },
		func() (err error) { mean, err = G.Div(sum, m); return err },
		func() (err error) { mean4, err = G.Reshape(mean, param); return err },
		func() (err error) { d, err = G.BroadcastSub(x, mean4, nil, pattern); return err },
		func() (err error) { dm, err = G.BroadcastHadamardProd(d, mask, nil, rowPattern); return err },
		func() (err error) { sq, err = G.Square(dm); return err },
		func() (err error) { variance, err = G.Sum(sq, axes...); return err },
		func() (err error) { variance, err = G.Div(variance, m); return err },
		func() (err error) { std, err = G.Add(variance, G.NewConstant(float32(bn.Epsilon))); return err },
		func() (err error) { std, err = G.Sqrt(std); return err },
		func() (err error) { std4, err = G.Reshape(std, param); return err },
		func() (err error) { xhat, err = G.BroadcastHadamardDiv(dm, std4, nil, pattern); return err },
		func() (err error) { y, err = stockAffine(g, xhat, gamma, beta); return err },
		func() (err error) { y, err = G.BroadcastHadamardProd(y, mask, nil, rowPattern); return err },
		func() (err error) {
			_, err = G.ApplyOp(&movingStatsOp{bn: bn, c: g.c, cShape: g.cShape, batch: make([]float64, g.c)}, mean, variance)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("ops: batch_norm: %w", err)
		}
	}
	return y, nil
}

// StockEval is FusedEval composed of gorgonia's operations.
func (bn BatchNorm) StockEval(x, mean, variance, gamma, beta *G.Node) (*G.Node, error) {
	g, err := bn.geometry(x, map[string]*G.Node{"moving mean": mean, "moving variance": variance, "gamma": gamma, "beta": beta})
	if err != nil {
		return nil, err
	}
	_, param, pattern := stockAxes(g)
	var mean4, d, std, std4, xhat *G.Node
	steps := []func() error{
		func() (err error) { mean4, err = G.Reshape(mean, param); return err },
		func() (err error) { d, err = G.BroadcastSub(x, mean4, nil, pattern); return err },
		func() (err error) { std, err = G.Add(variance, G.NewConstant(float32(bn.Epsilon))); return err },
		func() (err error) { std, err = G.Sqrt(std); return err },
		func() (err error) { std4, err = G.Reshape(std, param); return err },
		func() (err error) { xhat, err = G.BroadcastHadamardDiv(d, std4, nil, pattern); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("ops: batch_norm: %w", err)
		}
	}
	return stockAffine(g, xhat, gamma, beta)
}

// movingStatsOp is (batch mean, batch variance) → 0, updating the moving statistics of bn as it
// runs (Stock's training graph: the tape machine runs every node, whether used or not).
type movingStatsOp struct {
	opBase
	bn     BatchNorm
	c      int
	cShape tensor.Shape
	batch  []float64
	out    G.F32
}

func (op *movingStatsOp) Arity() int { return 2 }

func (op *movingStatsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	v := G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(v, v, a)
}

func (op *movingStatsOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, tensor.Shape{op.c}, tensor.Shape{op.c}); err != nil {
		return nil, err
	}
	return tensor.ScalarShape(), nil
}

func (op *movingStatsOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	for i, t := range []*tensor.Dense{op.bn.MovingMean, op.bn.MovingVariance} {
		v, err := opInput(inputs[i], op.cShape, op, "batch statistic")
		if err != nil {
			return nil, err
		}
		for j, s := range v {
			op.batch[j] = float64(s)
		}
		updateMoving(t.Float32s(), op.batch, op.bn.Momentum)
	}
	return &op.out, nil
}

func (op *movingStatsOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *movingStatsOp) Hashcode() uint32      { return opHash(op) }
func (op *movingStatsOp) String() string        { return fmt.Sprintf("nnsweep.BatchNormMovingStats{%p}", op) }
