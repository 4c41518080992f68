package ops

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"unsafe"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/runner/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Shared pieces of the fused ops (dense.go, loss.go).
//
// Every op owns its output buffer and reuses it on every call, so a training step allocates no
// tensors for these ops whether or not the TapeMachine is Reset between steps. The value a node
// of these ops holds is therefore overwritten by the next run of the graph, and a graph made with
// them must not be run by two machines at once.
//
// UsePreallocDo also writes into the op's own buffer, never into prealloc: the tape machine passes
// as prealloc the value of an earlier node whose register it reuses, and writing there would
// change that node's value, which a caller may still read after the run (the trainer reads
// LogProbs and Loss). Returning the op's own buffer costs nothing more.
//
// A backward op reads everything it needs through its graph inputs (never another op's buffer
// directly), so the tape machine's liveness analysis keeps those values intact until it runs.

// sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32 matrices with the semantics
// of BLAS sgemm: op(A) is m×k, op(B) is k×n and C is m×n; op(X) is Xᵀ when the matching trans flag
// is set, so A is stored m×k (transA false) or k×m (true) with row stride lda, likewise B (k×n or
// n×k, ldb), and C with row stride ldc. With beta 0, C need not be initialised.
//
// Every matrix product of the fused ops goes through it: package kernels' packed SGEMM with
// AVX-512 or AVX2 micro-kernels (pure Go elsewhere), split over both cores for large products.
var sgemm = kernels.SgemmParallel

// opBuffer is an output buffer an op reuses on every call.
type opBuffer struct {
	data  []float32
	dense *tensor.Dense
}

// tensor returns a *tensor.Dense of the given shape over the buffer's memory. The Dense is made
// again whenever the one handed out before no longer wraps that memory with that shape (gorgonia
// may return the Dense structs of values it considers dead to tensor's pool, which empties them).
func (b *opBuffer) tensor(shape tensor.Shape) *tensor.Dense {
	if n := shape.TotalSize(); len(b.data) != n {
		b.data = make([]float32, n)
		b.dense = nil
	}
	if d := b.dense; d == nil || d.Dtype() != tensor.Float32 || !d.Shape().Eq(shape) || !opSameMemory(d.Float32s(), b.data) {
		b.dense = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(b.data))
	}
	return b.dense
}

func opSameMemory(a, b []float32) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// opInput returns the backing slice of v, which must be a contiguous float32 *tensor.Dense of
// the given shape; op and what ("input", "output gradient", …) name v in errors.
func opInput(v G.Value, shape tensor.Shape, op fmt.Stringer, what string) ([]float32, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("ops: %v: %s must be a *tensor.Dense, got %T", op, what, v)
	}
	if d.Dtype() != tensor.Float32 || !d.Shape().Eq(shape) {
		return nil, fmt.Errorf("ops: %v: %s must be float32 of shape %v, got %v of shape %v", op, what, shape, d.Dtype(), d.Shape())
	}
	if d.RequiresIterator() {
		return nil, fmt.Errorf("ops: %v: %s must be contiguous", op, what)
	}
	data := d.Float32s()
	if len(data) != shape.TotalSize() {
		return nil, fmt.Errorf("ops: %v: %s holds %d values, its shape %v needs %d", op, what, len(data), shape, shape.TotalSize())
	}
	return data, nil
}

// opScalar returns the value of a float32 scalar: a *G.F32, or a float32 tensor of one element.
func opScalar(v G.Value, op fmt.Stringer, what string) (float32, error) {
	switch s := v.(type) {
	case *G.F32:
		return float32(*s), nil
	case *tensor.Dense:
		if s.Dtype() == tensor.Float32 && s.Shape().TotalSize() == 1 {
			return s.Float32s()[0], nil
		}
	}
	return 0, fmt.Errorf("ops: %v: %s must be a float32 scalar, got %T %v", op, what, v, v)
}

// opCheckShapes returns an error unless inputs are exactly want, in order (for InferShape).
func opCheckShapes(op fmt.Stringer, inputs []G.DimSizer, want ...tensor.Shape) error {
	if len(inputs) != len(want) {
		return fmt.Errorf("ops: %v takes %d inputs, got %d", op, len(want), len(inputs))
	}
	for i, w := range want {
		s, ok := inputs[i].(tensor.Shape)
		if !ok || !s.Eq(w) {
			return fmt.Errorf("ops: %v: input %d must have shape %v, got %v", op, i, w, inputs[i])
		}
	}
	return nil
}

// opCheckArity returns an error unless there are n inputs.
func opCheckArity(op fmt.Stringer, got, n int) error {
	if got != n {
		return fmt.Errorf("ops: %v takes %d inputs, got %d", op, n, got)
	}
	return nil
}

// fusedInputs parses a fused layer's activation and checks its input x, kernel w (named wName)
// and bias b (nil for none) with check; name (dense, conv2d) prefixes the errors, all of them.
func fusedInputs(name, activation string, check func(n *G.Node, what string) error, x, w *G.Node, wName string, b *G.Node) (activation, error) {
	act, err := parseActivation(activation)
	if err != nil {
		return 0, fmt.Errorf("ops: %s: %w", name, err)
	}
	errs := []error{check(x, "x"), check(w, wName)}
	if b != nil {
		errs = append(errs, check(b, "b"))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("ops: %s: %w", name, err)
	}
	return act, nil
}

// opMatrixType is the type of a float matrix node (type variable a).
var opMatrixType = G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}

// opCheckMatrix returns an error unless n is a float32 matrix; what names it.
func opCheckMatrix(n *G.Node, what string) error {
	if n.Dims() != 2 || n.Dtype() != tensor.Float32 {
		return fmt.Errorf("%s must be a float32 matrix, got shape %v of %v", what, n.Shape(), n.Dtype())
	}
	return nil
}

// opHash is the FNV-1a hash of what an op writes with WriteHash.
func opHash(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// outputGradOp is (y, dy) → dx for an op whose input gradient depends only on its output y and
// the output's gradient dy, example by example (an activation, the log-softmax): grad writes dx
// for whole examples (rows of the first dimension); name (with the shape) makes the op's String
// and hash. An output large enough (convSplitMinFloats) is cut into chunks of examples run on
// both cores when that is measured to pay (see kernels.Pass).
type outputGradOp struct {
	opBase
	name       string
	shape      tensor.Shape
	grad       func(y, dy, dx []float32)
	splittable bool
	task       *kernels.Pass
	out        opBuffer
	// The current call's operands, for the chunks.
	y, dy, dx []float32
}

func newOutputGradOp(name string, shape tensor.Shape, grad func(y, dy, dx []float32)) *outputGradOp {
	op := &outputGradOp{name: name, shape: shape.Clone(), grad: grad,
		splittable: shape[0] >= 2 && shape.TotalSize() >= convSplitMinFloats}
	op.task = kernels.NewPass(op.chunk, shape[0])
	return op
}

var (
	_ G.Op              = (*outputGradOp)(nil)
	_ G.UsePreallocDoer = (*outputGradOp)(nil)
)

func (op *outputGradOp) Arity() int { return 2 }

// Type is T a → T a → T a, T the tensor type of the op's rank.
func (op *outputGradOp) Type() hm.Type {
	t := G.TensorType{Dims: len(op.shape), Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

func (op *outputGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.shape, op.shape); err != nil {
		return nil, err
	}
	return op.shape.Clone(), nil
}

// Do computes the gradient into the op's own buffer and returns it.
func (op *outputGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	y, err := opInput(inputs[0], op.shape, op, "y")
	if err != nil {
		return nil, err
	}
	dy, err := opInput(inputs[1], op.shape, op, "output gradient")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.shape)
	op.y, op.dy, op.dx = y, dy, out.Float32s()
	op.task.Run(op.splittable)
	op.y, op.dy, op.dx = nil, nil, nil
	return out, nil
}

// chunk computes chunk c of chunks of the gradient.
func (op *outputGradOp) chunk(c, chunks, _ int) {
	lo, hi := kernels.ChunkRange(op.shape[0], c, chunks)
	per := len(op.dx) / op.shape[0]
	lo, hi = lo*per, hi*per
	op.grad(op.y[lo:hi], op.dy[lo:hi], op.dx[lo:hi])
}

// UsePreallocDo is Do (see above).
func (op *outputGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *outputGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *outputGradOp) Hashcode() uint32      { return opHash(op) }
func (op *outputGradOp) String() string        { return "nnsweep." + op.name }

// opBase holds the methods every op of this package has alike: none returns a pointer, calls
// outside Go or overwrites an input. Each op embeds it.
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

// optionalBias is what the forward op of a fused layer knows of its bias, its optional last
// input: the op's arity, its type and the shapes its inputs must have. The fused dense and
// convolution ops embed it.
type optionalBias struct{ hasBias bool }

func (o optionalBias) Arity() int {
	if o.hasBias {
		return 3
	}
	return 2
}

// fnType is t → t [→ t] → t.
func (o optionalBias) fnType(t hm.Type) hm.Type {
	if o.hasBias {
		return hm.NewFnType(t, t, t, t)
	}
	return hm.NewFnType(t, t, t)
}

// inferShape checks op's inputs against the shapes x, w and (with a bias) b, and returns a copy of out.
func (o optionalBias) inferShape(op G.Op, inputs []G.DimSizer, x, w, b, out tensor.Shape) (tensor.Shape, error) {
	want := []tensor.Shape{x, w}
	if o.hasBias {
		want = append(want, b)
	}
	if err := opCheckShapes(op, inputs, want...); err != nil {
		return nil, err
	}
	return out.Clone(), nil
}
