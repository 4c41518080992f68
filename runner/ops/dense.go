package ops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A fused dense layer as gorgonia ops.
//
// The forward op computes activation(x·w + b) in one GEMM (through sgemm, beta 0) followed by one
// pass over the output that adds the bias and applies the activation. Its symbolic gradient is
//
//	dZ = activation'(y) ⊙ dy   (newActivationGradOp; for linear, dy itself)
//	dX = dZ·wᵀ, dW = xᵀ·dZ      (matMulOps)
//	db = column sums of dZ      (a columnSumOp)
//
// each an op with its own reused output buffer (see buffer.go).
//
// gorgonia asks every differentiated op for the gradients of all its differentiable inputs: the
// backpropagation only visits nodes between the cost and the WRT nodes, but the first dense
// layer is on that path (its kernel is a WRT), so its SymDiff is asked for dX even when x is the
// (flattened) image batch, and the tape machine compiles and runs every node of the graph, used
// or not. The stock graph (gorgonia's Mul) therefore computes dZ·wᵀ of the first layer on every
// step and throws it away. The dX op here instead checks, on its first run, whether anything
// consumes its result (a parent node in the graph, or being the derivative of a node, as the
// gradient of a WRT or of an intermediate node is); if nothing does, it skips the product on
// every run and its value stays zero.

// activation is an elementwise activation function that a fused op applies.
type activation uint8

const (
	actLinear activation = iota
	actReLU
	actSigmoid
	actTanh
	actLeakyReLU
	actSwish
)

// LeakySlope is leaky_relu's slope below 0 (spec.LeakySlope: Keras 3's 0.2).
const LeakySlope = spec.LeakySlope

// parseActivation reads an activation name, for Stock and the fused ops alike: linear, softmax
// (left to the log-softmax, so linear here) and the empty string are the identity.
func parseActivation(name string) (activation, error) {
	switch name {
	case "linear", "softmax", "":
		return actLinear, nil
	case "relu":
		return actReLU, nil
	case "sigmoid":
		return actSigmoid, nil
	case "tanh":
		return actTanh, nil
	case "leaky_relu":
		return actLeakyReLU, nil
	case "swish":
		return actSwish, nil
	}
	return 0, fmt.Errorf("unknown activation %q; use relu, sigmoid, tanh, leaky_relu, swish or linear", name)
}

func (a activation) String() string {
	switch a {
	case actReLU:
		return "relu"
	case actSigmoid:
		return "sigmoid"
	case actTanh:
		return "tanh"
	case actLeakyReLU:
		return "leaky_relu"
	case actSwish:
		return "swish"
	}
	return "linear"
}

// FusedDense returns activation(x·w + b) for x [batch, in], w [in, units] and b [1, units] (or
// without bias when b is nil), all float32, as one op; activation is relu, sigmoid, tanh,
// leaky_relu, swish or linear (softmax and "" mean linear, as in Stock); swish is a second op
// (FusedActivation), since its derivative needs the pre-activation. It has the meaning of
// Stock.Dense, except that the gradient of relu at 0 is 0 (TensorFlow's and
// PyTorch's choice; gorgonia's is 1).
//
// The node's value is the op's own buffer, overwritten by every run of the graph.
func FusedDense(x, w, b *G.Node, activation string) (*G.Node, error) {
	act, err := fusedInputs("dense", activation, opCheckMatrix, x, w, "w", b)
	if err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if xs[1] != ws[0] {
		return nil, fmt.Errorf("ops: dense: x %v has %d columns, w %v has %d rows", xs, xs[1], ws, ws[0])
	}
	fused := act
	if act == actSwish {
		fused = actLinear // swish follows as its own op (activation.go)
	}
	op := newDenseOp(fused, b != nil, xs[0], xs[1], ws[1])
	if b == nil {
		return withSwish(act)(G.ApplyOp(op, x, w))
	}
	if !b.Shape().Eq(op.bShape) {
		return nil, fmt.Errorf("ops: dense: b must have shape %v, got %v", op.bShape, b.Shape())
	}
	return withSwish(act)(G.ApplyOp(op, x, w, b))
}

// denseOp is the forward op of FusedDense: (x, w[, b]) → activation(x·w + b).
type denseOp struct {
	opBase
	optionalBias
	act              activation
	batch, in, units int

	xShape, wShape, bShape, outShape tensor.Shape
	out                              opBuffer
}

func newDenseOp(act activation, hasBias bool, batch, in, units int) *denseOp {
	return &denseOp{
		act: act, optionalBias: optionalBias{hasBias}, batch: batch, in: in, units: units,
		xShape: tensor.Shape{batch, in}, wShape: tensor.Shape{in, units},
		bShape: tensor.Shape{1, units}, outShape: tensor.Shape{batch, units},
	}
}

var (
	_ G.SDOp            = (*denseOp)(nil)
	_ G.ADOp            = (*denseOp)(nil)
	_ G.UsePreallocDoer = (*denseOp)(nil)
)

// Type is Matrix a → Matrix a [→ Matrix a] → Matrix a.
func (op *denseOp) Type() hm.Type { return op.fnType(opMatrixType) }

func (op *denseOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	return op.inferShape(op, inputs, op.xShape, op.wShape, op.bShape, op.outShape)
}

// Do computes the layer into the op's own buffer and returns it.
func (op *denseOp) Do(inputs ...G.Value) (G.Value, error) {
	x, w, b, err := op.inputs(inputs)
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.outShape)
	op.forward(x, w, b, out.Float32s())
	return out, nil
}

// UsePreallocDo is Do (see buffer.go for why prealloc is not written).
func (op *denseOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *denseOp) inputs(inputs []G.Value) (x, w, b []float32, err error) {
	if err = opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, nil, nil, err
	}
	if x, err = opInput(inputs[0], op.xShape, op, "x"); err != nil {
		return nil, nil, nil, err
	}
	if w, err = opInput(inputs[1], op.wShape, op, "w"); err != nil {
		return nil, nil, nil, err
	}
	if op.hasBias {
		if b, err = opInput(inputs[2], op.bShape, op, "b"); err != nil {
			return nil, nil, nil, err
		}
	}
	return x, w, b, nil
}

// forward writes activation(x·w + b) to y (b nil: no bias).
func (op *denseOp) forward(x, w, b, y []float32) {
	sgemm(false, false, op.batch, op.units, op.in, 1, x, op.in, w, op.units, 0, y, op.units)
	biasActivate(y, b, op.units, op.act)
}

func (op *denseOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

func (op *denseOp) Hashcode() uint32 { return opHash(op) }

func (op *denseOp) String() string {
	bias := "nobias"
	if op.hasBias {
		bias = "bias"
	}
	return fmt.Sprintf("nnsweep.Dense{%v, %s, %v×%v}", op.act, bias, op.xShape, op.wShape)
}

// DiffWRT says the op is differentiable with respect to all its inputs; a dX that nothing uses
// is skipped at run time (see the comment at the top of this file).
func (op *denseOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the gradient nodes of x, w and b (see the comment at the top of this file).
func (op *denseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return nil, err
	}
	x, w := inputs[0], inputs[1]
	dz := grad
	if op.act != actLinear {
		var err error
		if dz, err = G.ApplyOp(newActivationGradOp(op.act, op.outShape), output, grad); err != nil {
			return nil, err
		}
	}
	// dX [batch, in] = dZ [batch, units] · wᵀ.
	dx, err := applyMatMul(&matMulOp{role: "DenseInputGrad", transB: true, m: op.batch, n: op.in, k: op.units,
		aShape: op.outShape, bShape: op.wShape, outShape: op.xShape, pruneIfUnused: true}, dz, w)
	if err != nil {
		return nil, err
	}
	// dW [in, units] = xᵀ · dZ.
	dw, err := applyMatMul(&matMulOp{role: "DenseKernelGrad", transA: true, m: op.in, n: op.units, k: op.batch,
		aShape: op.xShape, bShape: op.outShape, outShape: op.wShape}, x, dz)
	if err != nil {
		return nil, err
	}
	if !op.hasBias {
		return G.Nodes{dx, dw}, nil
	}
	db, err := G.ApplyOp(&columnSumOp{inShape: op.outShape, outShape: op.bShape}, dz)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// DoDiff adds the gradients with respect to x, w and b to their bound gradients (for gorgonia's
// LispMachine). It allocates its scratch dZ on every call.
func (op *denseOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if err := opCheckArity(op, len(inputs), op.Arity()); err != nil {
		return err
	}
	x, w, _, err := op.inputs(nodeValues(inputs))
	if err != nil {
		return err
	}
	dz, grads, err := layerDiff(op, op.act, inputs, output, op.outShape, op.xShape, op.wShape, op.bShape)
	if err != nil {
		return err
	}
	sgemm(false, true, op.batch, op.in, op.units, 1, dz, op.units, w, op.units, 1, grads[0], op.in)
	sgemm(true, false, op.in, op.units, op.batch, 1, x, op.in, dz, op.units, 1, grads[1], op.units)
	if op.hasBias {
		columnSums(dz, op.units, grads[2], true)
	}
	return nil
}

// nodeValues returns the values of nodes.
func nodeValues(nodes G.Nodes) []G.Value {
	vals := make([]G.Value, len(nodes))
	for i, n := range nodes {
		vals[i] = n.Value()
	}
	return vals
}

// layerDiff returns what the DoDiff of a fused layer op (output = act(…), inputs x, w[, b])
// needs besides its inputs' values: dz = act'(y) ⊙ dy from the output's value y and gradient dy
// (output shape yShape), allocated, and the bound gradient of each input i, of shape shapes[i].
func layerDiff(op fmt.Stringer, act activation, inputs G.Nodes, output *G.Node, yShape tensor.Shape, shapes ...tensor.Shape) (dz []float32, grads [][]float32, err error) {
	y, err := opInput(output.Value(), yShape, op, "output")
	if err != nil {
		return nil, nil, err
	}
	dyv, err := output.Grad()
	if err != nil {
		return nil, nil, fmt.Errorf("ops: %v: output gradient: %w", op, err)
	}
	dy, err := opInput(dyv, yShape, op, "output gradient")
	if err != nil {
		return nil, nil, err
	}
	dz = make([]float32, len(dy))
	activationBackward(act, y, dy, dz)
	grads = make([][]float32, len(inputs))
	for i, n := range inputs {
		gv, err := n.Grad()
		if err != nil {
			return nil, nil, fmt.Errorf("ops: %v: gradient of input %d: %w", op, i, err)
		}
		if grads[i], err = opInput(gv, shapes[i], op, "input gradient"); err != nil {
			return nil, nil, err
		}
	}
	return dz, grads, nil
}

// biasActivate replaces every row r of y (units columns) with activation(r + b); b nil adds
// nothing. NaNs pass through every activation. The bias and ReLU passes run on package kernels.
func biasActivate(y, b []float32, units int, act activation) {
	if units == 0 {
		return
	}
	rows := len(y) / units
	switch act {
	case actReLU:
		kernels.AddBiasReLU(rows, units, y, units, b)
		return
	case actLinear:
		if b != nil {
			kernels.AddBias(rows, units, y, units, b)
		}
		return
	}
	if b != nil {
		b = b[:units]
	}
	for r := 0; r+units <= len(y); r += units {
		row := y[r : r+units : r+units]
		for j, v := range row {
			if b != nil {
				v += b[j]
			}
			row[j] = activate1(act, v)
		}
	}
}

// activate1 returns activation act of v for sigmoid, tanh, leaky_relu and swish (x·sigmoid(x)).
func activate1(act activation, v float32) float32 {
	switch act {
	case actSigmoid:
		return sigmoid(v)
	case actTanh:
		return float32(math.Tanh(float64(v)))
	case actLeakyReLU:
		if v > 0 || v != v {
			return v
		}
		return LeakySlope * v
	case actSwish:
		return v * sigmoid(v)
	}
	return v
}

// sigmoid returns 1/(1+e^-v) without overflow for large |v|.
func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

// activationBackward writes dz = activation'(·) ⊙ dy, with the derivative written in terms of the
// activation's output y: relu 1 where y > 0 (else 0), leaky_relu 1 where y > 0 (else LeakySlope,
// PyTorch's choice at 0), sigmoid y(1-y), tanh 1-y², linear 1. Swish's derivative needs its input,
// not its output (swishBackward); the fused ops apply swish as a separate activation op.
func activationBackward(act activation, y, dy, dz []float32) {
	y, dz = y[:len(dy)], dz[:len(dy)]
	switch act {
	case actLinear:
		copy(dz, dy)
	case actReLU:
		kernels.ReLUBackward(y, dy, dz)
	case actSigmoid:
		for i, g := range dy {
			dz[i] = g * (y[i] * (1 - y[i]))
		}
	case actTanh:
		for i, g := range dy {
			dz[i] = g * (1 - y[i]*y[i])
		}
	case actLeakyReLU:
		for i, g := range dy {
			if y[i] > 0 {
				dz[i] = g
			} else {
				dz[i] = g * LeakySlope
			}
		}
	case actSwish:
		panic("ops: swish's derivative is computed from its input (swishBackward)")
	}
}

// swishBackward writes dz = swish'(x) ⊙ dy for swish(x) = x·σ(x): swish'(x) = σ(x)·(1 + x·(1-σ(x))).
func swishBackward(x, dy, dz []float32) {
	x, dz = x[:len(dy)], dz[:len(dy)]
	for i, g := range dy {
		s := sigmoid(x[i])
		dz[i] = g * (s * (1 + x[i]*(1-s)))
	}
}

// newActivationGradOp is (y, dy) → activation'(y) ⊙ dy for the matrix output y of a fused layer.
func newActivationGradOp(act activation, shape tensor.Shape) *outputGradOp {
	return newOutputGradOp(fmt.Sprintf("ActivationGrad{%v, %v}", act, shape), shape,
		func(y, dy, dx []float32) { activationBackward(act, y, dy, dx) })
}

// matMulOp is (A, B) → op(A)·op(B) through sgemm, for the gradients of a dense layer: op(A) is
// m×k and op(B) is k×n, stored as aShape and bShape (transposed when the flags say so).
type matMulOp struct {
	opBase
	role           string // what the product is, for String
	transA, transB bool
	m, n, k        int

	aShape, bShape, outShape tensor.Shape
	out                      opBuffer

	// pruneIfUnused makes the op skip the product when nothing uses its result (resultUse).
	pruneIfUnused bool
	resultUse
}

// resultUse records whether anything in the graph uses an op's result, for a gradient op that
// gorgonia asks for though nothing may use it (see the top of this file): node is the op's node
// (set once it exists, recordNode), and decided and skip record the check, made on the first run.
type resultUse struct {
	node          *G.Node
	decided, skip bool
}

func (u *resultUse) use() *resultUse { return u }

// isUnused reports whether nothing in the graph uses the op's result: its node has no parent in
// the graph and is the derivative of no node (decided on the first call).
func (u *resultUse) isUnused() bool {
	if !u.decided {
		n := u.node
		u.skip = false
		if n != nil && len(n.DerivOf()) == 0 {
			parents := n.Graph().To(n.ID())
			u.skip = parents == nil || parents.Len() == 0
		}
		u.decided = true
	}
	return u.skip
}

// recordNode records n in its op, when the op keeps a resultUse. gorgonia returns an existing
// node for an identical op on the same inputs; that node's op then runs, and it recorded its
// node when it was made.
func recordNode(n *G.Node) {
	if op, ok := n.Op().(interface{ use() *resultUse }); ok && op.use().node == nil {
		op.use().node = n
	}
}

// applyMatMul applies op to (a, b) and records the node in the op that runs it.
func applyMatMul(op *matMulOp, a, b *G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(op, a, b)
	if err != nil {
		return nil, err
	}
	recordNode(n)
	return n, nil
}

var (
	_ G.Op              = (*matMulOp)(nil)
	_ G.UsePreallocDoer = (*matMulOp)(nil)
)

func (op *matMulOp) Arity() int { return 2 }

// Type is Matrix a → Matrix a → Matrix a.
func (op *matMulOp) Type() hm.Type { return hm.NewFnType(opMatrixType, opMatrixType, opMatrixType) }

func (op *matMulOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.aShape, op.bShape); err != nil {
		return nil, err
	}
	return op.outShape.Clone(), nil
}

// Do computes the product into the op's own buffer and returns it.
func (op *matMulOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	a, err := opInput(inputs[0], op.aShape, op, "A")
	if err != nil {
		return nil, err
	}
	b, err := opInput(inputs[1], op.bShape, op, "B")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.outShape)
	if op.pruneIfUnused && op.isUnused() {
		return out, nil
	}
	sgemm(op.transA, op.transB, op.m, op.n, op.k, 1, a, op.aShape[1], b, op.bShape[1], 0, out.Float32s(), op.n)
	return out, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *matMulOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *matMulOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *matMulOp) Hashcode() uint32      { return opHash(op) }
func (op *matMulOp) String() string {
	t := func(tr bool) string {
		if tr {
			return "ᵀ"
		}
		return ""
	}
	return fmt.Sprintf("nnsweep.%s{%v%s×%v%s}", op.role, op.aShape, t(op.transA), op.bShape, t(op.transB))
}

// columnSums writes (or with accumulate, adds) the sums of the columns of x (cols columns) to out.
func columnSums(x []float32, cols int, out []float32, accumulate bool) {
	out = out[:cols]
	if !accumulate {
		clear(out)
	}
	for r := 0; r+cols <= len(x); r += cols {
		row := x[r : r+cols : r+cols]
		for j, v := range row {
			out[j] += v
		}
	}
}

// columnSumOp is x [rows, cols] → its column sums [1, cols] (a dense layer's bias gradient).
type columnSumOp struct {
	opBase
	inShape, outShape tensor.Shape
	out               opBuffer
}

var (
	_ G.Op              = (*columnSumOp)(nil)
	_ G.UsePreallocDoer = (*columnSumOp)(nil)
)

func (op *columnSumOp) Arity() int { return 1 }

// Type is Matrix a → Matrix a.
func (op *columnSumOp) Type() hm.Type { return hm.NewFnType(opMatrixType, opMatrixType) }

func (op *columnSumOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.inShape); err != nil {
		return nil, err
	}
	return op.outShape.Clone(), nil
}

// Do sums the columns into the op's own buffer and returns it.
func (op *columnSumOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.inShape, op, "x")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.outShape)
	kernels.BiasGrad(op.inShape[0], op.inShape[1], x, op.inShape[1], out.Float32s())
	return out, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *columnSumOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *columnSumOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *columnSumOp) Hashcode() uint32      { return opHash(op) }
func (op *columnSumOp) String() string {
	return fmt.Sprintf("nnsweep.ColumnSum{%v}", op.inShape)
}
