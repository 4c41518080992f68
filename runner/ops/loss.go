package ops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The log-softmax and the cross-entropy as fused gorgonia ops.
//
//	LogSoftmax:    y = x - max(x) - log Σ exp(x - max(x))   per row
//	               dX = dY - softmax(x)·rowsum(dY), with softmax(x) = exp(y)
//	CrossEntropy:  loss = -Σ(logProbs ⊙ labels) / count    (a float32 scalar)
//	               dLogProbs = -labels · dLoss / count; no gradient for labels or count
//
// Sums are accumulated in float64. Like the dense ops, every op owns its output (see
// buffer.go); the loss is a *gorgonia.F32 that the op owns, so Loss.Value().Data().(float32)
// reads it as for the stock graph.

// FusedLogSoftmax returns the log-softmax of logits [batch, classes] (float32) along the classes,
// as one op. It has the meaning of Stock.LogSoftmax.
func FusedLogSoftmax(logits *G.Node) (*G.Node, error) {
	if err := opCheckMatrix(logits, "logits"); err != nil {
		return nil, fmt.Errorf("ops: log-softmax: %w", err)
	}
	return G.ApplyOp(&logSoftmaxOp{shape: logits.Shape()}, logits)
}

// logSoftmaxOp is the forward op of FusedLogSoftmax.
type logSoftmaxOp struct {
	opBase
	shape tensor.Shape // [batch, classes]
	out   opBuffer
}

var (
	_ G.SDOp            = (*logSoftmaxOp)(nil)
	_ G.ADOp            = (*logSoftmaxOp)(nil)
	_ G.UsePreallocDoer = (*logSoftmaxOp)(nil)
)

func (op *logSoftmaxOp) Arity() int { return 1 }

// Type is Matrix a → Matrix a.
func (op *logSoftmaxOp) Type() hm.Type { return hm.NewFnType(opMatrixType, opMatrixType) }

func (op *logSoftmaxOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.shape); err != nil {
		return nil, err
	}
	return op.shape.Clone(), nil
}

// Do computes the log-softmax into the op's own buffer and returns it.
func (op *logSoftmaxOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.shape, op, "logits")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.shape)
	logSoftmax(x, out.Float32s(), op.shape[1])
	return out, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *logSoftmaxOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *logSoftmaxOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *logSoftmaxOp) Hashcode() uint32      { return opHash(op) }
func (op *logSoftmaxOp) String() string        { return fmt.Sprintf("nnsweep.LogSoftmax{%v}", op.shape) }

func (op *logSoftmaxOp) DiffWRT(inputs int) []bool { return []bool{true} }

// SymDiff returns the gradient node of the logits: dX = dY − softmax·rowsum(dY), from (y, grad).
func (op *logSoftmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	shape := op.shape
	dx, err := G.ApplyOp(newOutputGradOp(fmt.Sprintf("LogSoftmaxGrad{%v}", shape), shape,
		func(y, dy, dx []float32) { logSoftmaxBackward(y, dy, dx, shape[1], false) }), output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// DoDiff adds the gradient with respect to the logits to their bound gradient (for gorgonia's
// LispMachine).
func (op *logSoftmaxOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return err
	}
	y, err := opInput(output.Value(), op.shape, op, "output")
	if err != nil {
		return err
	}
	dyv, err := output.Grad()
	if err != nil {
		return fmt.Errorf("ops: %v: output gradient: %w", op, err)
	}
	dy, err := opInput(dyv, op.shape, op, "output gradient")
	if err != nil {
		return err
	}
	dxv, err := inputs[0].Grad()
	if err != nil {
		return fmt.Errorf("ops: %v: logits gradient: %w", op, err)
	}
	dx, err := opInput(dxv, op.shape, op, "logits gradient")
	if err != nil {
		return err
	}
	logSoftmaxBackward(y, dy, dx, op.shape[1], true)
	return nil
}

// logSoftmax writes the log-softmax of every row of x (classes columns) to y.
func logSoftmax(x, y []float32, classes int) {
	y = y[:len(x)]
	for r := 0; r+classes <= len(x); r += classes {
		row, out := x[r:r+classes:r+classes], y[r:r+classes:r+classes]
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - m))
		}
		shift := m + float32(math.Log(sum))
		for j, v := range row {
			out[j] = v - shift
		}
	}
}

// logSoftmaxBackward writes (or with accumulate, adds) dX = dY - exp(y)·rowsum(dY) to dx, for
// the log-softmax y of rows of classes columns.
func logSoftmaxBackward(y, dy, dx []float32, classes int, accumulate bool) {
	y, dx = y[:len(dy)], dx[:len(dy)]
	for r := 0; r+classes <= len(dy); r += classes {
		yr, dyr, dxr := y[r:r+classes:r+classes], dy[r:r+classes:r+classes], dx[r:r+classes:r+classes]
		var sum float64
		for _, g := range dyr {
			sum += float64(g)
		}
		s := float32(sum)
		for j, g := range dyr {
			d := g - float32(math.Exp(float64(yr[j])))*s
			if accumulate {
				dxr[j] += d
			} else {
				dxr[j] = d
			}
		}
	}
}

// FusedCrossEntropy returns the float32 scalar -Σ(logProbs ⊙ labels) / count as one op, for
// logProbs and labels [batch, classes] and count a float32 scalar (the number of real rows; the
// padding rows of labels are all zero). It has the meaning of Stock.CrossEntropy;
// only logProbs is differentiated (labels and count are data).
func FusedCrossEntropy(logProbs, labels, count *G.Node) (*G.Node, error) {
	if err := opCheckMatrix(logProbs, "log-probabilities"); err != nil {
		return nil, fmt.Errorf("ops: cross-entropy: %w", err)
	}
	if !labels.Shape().Eq(logProbs.Shape()) || labels.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("ops: cross-entropy: labels must be float32 of shape %v, got %v of shape %v",
			logProbs.Shape(), labels.Dtype(), labels.Shape())
	}
	if !count.IsScalar() || count.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("ops: cross-entropy: count must be a float32 scalar, got %v of shape %v", count.Dtype(), count.Shape())
	}
	return G.ApplyOp(&crossEntropyOp{shape: logProbs.Shape()}, logProbs, labels, count)
}

// crossEntropyOp is the forward op of FusedCrossEntropy.
type crossEntropyOp struct {
	opBase
	shape tensor.Shape // of logProbs and labels
	loss  G.F32
}

var (
	_ G.SDOp            = (*crossEntropyOp)(nil)
	_ G.ADOp            = (*crossEntropyOp)(nil)
	_ G.UsePreallocDoer = (*crossEntropyOp)(nil)
	_ G.UsePreallocDoer = (*crossEntropyGradOp)(nil)
)

func (op *crossEntropyOp) Arity() int { return 3 }

// Type is Matrix a → Matrix a → a → a.
func (op *crossEntropyOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(opMatrixType, opMatrixType, a, a)
}

func (op *crossEntropyOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.shape, op.shape, tensor.ScalarShape()); err != nil {
		return nil, err
	}
	return tensor.ScalarShape(), nil
}

// Do computes the loss into the op's own scalar and returns it.
func (op *crossEntropyOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	lp, err := opInput(inputs[0], op.shape, op, "log-probabilities")
	if err != nil {
		return nil, err
	}
	labels, err := opInput(inputs[1], op.shape, op, "labels")
	if err != nil {
		return nil, err
	}
	count, err := opScalar(inputs[2], op, "count")
	if err != nil {
		return nil, err
	}
	var sum float64
	labels = labels[:len(lp)]
	for i, l := range labels {
		sum += float64(lp[i]) * float64(l)
	}
	op.loss = G.F32(float32(-sum / float64(count)))
	return &op.loss, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *crossEntropyOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *crossEntropyOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *crossEntropyOp) Hashcode() uint32      { return opHash(op) }
func (op *crossEntropyOp) String() string        { return fmt.Sprintf("nnsweep.CrossEntropy{%v}", op.shape) }

// DiffWRT: only the log-probabilities are differentiated; labels and count are data.
func (op *crossEntropyOp) DiffWRT(inputs int) []bool { return []bool{true, false, false} }

// SymDiff returns the gradient node of the log-probabilities, crossEntropyGradOp applied to
// (labels, count, grad), and nil for labels and count.
func (op *crossEntropyOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	d, err := G.ApplyOp(&crossEntropyGradOp{shape: op.shape}, inputs[1], inputs[2], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d, nil, nil}, nil
}

// DoDiff adds the gradient with respect to the log-probabilities to their bound gradient (for
// gorgonia's LispMachine).
func (op *crossEntropyOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if err := opCheckArity(op, len(inputs), 3); err != nil {
		return err
	}
	labels, err := opInput(inputs[1].Value(), op.shape, op, "labels")
	if err != nil {
		return err
	}
	count, err := opScalar(inputs[2].Value(), op, "count")
	if err != nil {
		return err
	}
	gv, err := output.Grad()
	if err != nil {
		return fmt.Errorf("ops: %v: output gradient: %w", op, err)
	}
	g, err := opScalar(gv, op, "output gradient")
	if err != nil {
		return err
	}
	dv, err := inputs[0].Grad()
	if err != nil {
		return fmt.Errorf("ops: %v: log-probabilities gradient: %w", op, err)
	}
	d, err := opInput(dv, op.shape, op, "log-probabilities gradient")
	if err != nil {
		return err
	}
	crossEntropyBackward(labels, count, g, d, true)
	return nil
}

// crossEntropyBackward writes (or with accumulate, adds) -labels·g/count to d.
func crossEntropyBackward(labels []float32, count, g float32, d []float32, accumulate bool) {
	s := -g / count
	d = d[:len(labels)]
	for i, l := range labels {
		if accumulate {
			d[i] += l * s
		} else {
			d[i] = l * s
		}
	}
}

// crossEntropyGradOp is (labels, count, dLoss) → -labels·dLoss/count, the gradient of the
// cross-entropy with respect to the log-probabilities.
type crossEntropyGradOp struct {
	opBase
	shape tensor.Shape
	out   opBuffer
}

func (op *crossEntropyGradOp) Arity() int { return 3 }

// Type is Matrix a → a → a → Matrix a.
func (op *crossEntropyGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(opMatrixType, a, a, opMatrixType)
}

func (op *crossEntropyGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.shape, tensor.ScalarShape(), tensor.ScalarShape()); err != nil {
		return nil, err
	}
	return op.shape.Clone(), nil
}

// Do computes the gradient into the op's own buffer and returns it.
func (op *crossEntropyGradOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	labels, err := opInput(inputs[0], op.shape, op, "labels")
	if err != nil {
		return nil, err
	}
	count, err := opScalar(inputs[1], op, "count")
	if err != nil {
		return nil, err
	}
	g, err := opScalar(inputs[2], op, "output gradient")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.shape)
	crossEntropyBackward(labels, count, g, out.Float32s(), false)
	return out, nil
}

// UsePreallocDo is Do (see buffer.go).
func (op *crossEntropyGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *crossEntropyGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *crossEntropyGradOp) Hashcode() uint32      { return opHash(op) }
func (op *crossEntropyGradOp) String() string {
	return fmt.Sprintf("nnsweep.CrossEntropyGrad{%v}", op.shape)
}
