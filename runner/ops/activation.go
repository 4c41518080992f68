package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/runner/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// An activation on its own as a gorgonia op: the activation layer on the fast engine, and swish
// after a fused dense or convolution (swish's derivative needs its input, which the fused ops,
// computing their activation in place, do not keep).
//
// The forward op writes activation(x) into its own buffer; its gradient is one outputGradOp:
// activation'(y) ⊙ dy from the output y (relu, leaky_relu, sigmoid, tanh), or swish'(x) ⊙ dy from
// the input x (swish). Neither allocates per call.

// FusedActivation returns activation(x) elementwise for a float32 tensor x of any rank whose first
// dimension is the batch; activation is one of parseActivation's names (linear, softmax and ""
// return x itself). The node's value is the op's own buffer, overwritten by every run of the graph.
func FusedActivation(x *G.Node, activation string) (*G.Node, error) {
	act, err := parseActivation(activation)
	if err != nil {
		return nil, fmt.Errorf("ops: activation: %w", err)
	}
	if x.Dtype() != tensor.Float32 || x.Dims() < 1 || x.Shape().TotalSize() < 1 {
		return nil, fmt.Errorf("ops: activation: x must be a non-empty float32 tensor, got shape %v of %v", x.Shape(), x.Dtype())
	}
	if act == actLinear {
		return x, nil
	}
	return G.ApplyOp(&activationOp{act: act, shape: x.Shape().Clone()}, x)
}

// activationOp is the forward op of FusedActivation: x → activation(x).
type activationOp struct {
	opBase
	act   activation
	shape tensor.Shape
	out   opBuffer
}

var (
	_ G.SDOp            = (*activationOp)(nil)
	_ G.UsePreallocDoer = (*activationOp)(nil)
)

func (op *activationOp) Arity() int { return 1 }

// Type is T a → T a, T the tensor type of the op's rank.
func (op *activationOp) Type() hm.Type {
	t := G.TensorType{Dims: len(op.shape), Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

func (op *activationOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if err := opCheckShapes(op, inputs, op.shape); err != nil {
		return nil, err
	}
	return op.shape.Clone(), nil
}

// Do applies the activation into the op's own buffer and returns it.
func (op *activationOp) Do(inputs ...G.Value) (G.Value, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, err := opInput(inputs[0], op.shape, op, "x")
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.shape)
	y := out.Float32s()
	if op.act == actReLU {
		kernels.ReLUInto(y, x) // one pass, the bits of the copy and biasActivate below
		return out, nil
	}
	copy(y, x)
	biasActivate(y, nil, len(y), op.act)
	return out, nil
}

// UsePreallocDo is Do (see buffer.go for why prealloc is not written).
func (op *activationOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *activationOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

func (op *activationOp) Hashcode() uint32 { return opHash(op) }

func (op *activationOp) String() string {
	return fmt.Sprintf("nnsweep.Activation{%v, %v}", op.act, op.shape)
}

func (op *activationOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns the gradient node of x: activation'(y) ⊙ dy, or swish'(x) ⊙ dy.
func (op *activationOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if err := opCheckArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	var dx *G.Node
	var err error
	if op.act == actSwish {
		dx, err = G.ApplyOp(newOutputGradOp(fmt.Sprintf("SwishGrad{%v}", op.shape), op.shape, swishBackward), inputs[0], grad)
	} else if op.act == actReLU && gradMasked(grad, output) {
		return G.Nodes{grad}, nil
	} else {
		act := op.act
		dx, err = G.ApplyOp(newOutputGradOp(fmt.Sprintf("ActivationGrad{%v, %v}", act, op.shape), op.shape,
			func(y, dy, dx []float32) { activationBackward(act, y, dy, dx) }), output, grad)
	}
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// withSwish applies swish to the output of a fused op that was built linear in its place (see
// the top of this file); for any other activation it returns the fused op's node as it is.
func withSwish(act activation) func(y *G.Node, err error) (*G.Node, error) {
	return func(y *G.Node, err error) (*G.Node, error) {
		if err != nil || act != actSwish {
			return y, err
		}
		return FusedActivation(y, "swish")
	}
}

// The ReLU gradient, fused into the input gradient of the layer after.
//
// A ReLU's gradient dz = dy ⊙ (y > 0) is a pass of its own over the layer's output: it reads y
// and dy and writes dz, each as large as the output, which for a small CNN's first layers is
// larger than the cache. When the layer after computes dy in chunks of examples (a
// convolution's input gradient, a max pooling's), it applies the mask to each chunk while that
// chunk is in cache, and the ReLU layer, finding its output gradient already masked, skips its
// own pass. The mask selects, so the results are bit for bit those of the separate pass.
//
// A consumer masks only when its input is the output of one of this package's ReLU ops
// (reluMaskOf); the ReLU op skips its pass only when its whole output gradient is that
// consumer's masked one (gradMasked). When its output feeds two layers, its gradient is their
// sum, and it applies the mask to the sum again, which the mask's being idempotent makes right.

// reluOutputter is an op whose output is a ReLU's when reluOutput says so.
type reluOutputter interface{ reluOutput() bool }

// reluMasked is a gradient op whose value has the ReLU mask of the node maskedBy returns
// applied (nil when it has none).
type reluMasked interface{ maskedBy() *G.Node }

// fuseReLUGradient says whether graphs built from now on fuse the ReLU gradient into the layer
// after's (tests build graphs without to compare).
var fuseReLUGradient = true

// reluMaskOf returns x when it is the output of one of this package's ReLU ops (so that a
// consumer computing x's gradient may apply the mask), and nil otherwise.
func reluMaskOf(x *G.Node) *G.Node {
	if p, ok := x.Op().(reluOutputter); ok && p.reluOutput() && fuseReLUGradient {
		return x
	}
	return nil
}

// gradMasked reports whether grad, the gradient with respect to the ReLU output y, has the
// mask of y applied already.
func gradMasked(grad, y *G.Node) bool {
	m, ok := grad.Op().(reluMasked)
	return ok && m.maskedBy() == y
}

func (op *activationOp) reluOutput() bool { return op.act == actReLU }
