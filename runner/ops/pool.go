package ops

import (
	"errors"
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Pooling with Keras (TensorFlow) semantics, as gorgonia ops.
//
// gorgonia's own AveragePool2D computes wrong gradients, and its MaxPool2D reads explicit padding
// differently from Keras, so the graphs use these ops instead. Both take an NCHW float32 input and
// explicit padding on each of the four sides, as spec.SamePadding returns it for "same" (and zeros for
// "valid"). Padded cells are not values: max pooling ignores them (as if they held -∞) and average
// pooling divides each window's sum by the number of real input cells in it, as TensorFlow's
// max_pool and avg_pool do with SAME padding.
//
// The forward op of max pooling records, for every output, which input cell held the maximum (the
// first one in row-major window order on ties, as TensorFlow does), and the backward op sends each
// output's gradient there. Every op owns its output buffer and reuses it on every call, so a
// training step allocates no tensors for pooling, whether or not the TapeMachine is Reset between
// steps (Reset drops the machine's registers, so UsePreallocDo alone would not avoid allocating).
// The value a pooling node returns is therefore overwritten by the next run of the graph, and a
// graph with pooling must not be run by two machines at once.
//
// Stock runs the portable Go kernels on the calling goroutine; Fast gives the same ops the
// assembly kernel for whole 2×2 blocks of max pooling (kernels.MaxPool2x2, where the CPU has
// AVX-512) and, for inputs large enough, both cores (kernels.Pass, in chunks of planes); both give
// bit-identical results.

// MaxPool2D returns the max pooling of x, an NCHW float32 node, over kh×kw windows moved by sh
// rows and sw columns, with padTop, padBottom, padLeft and padRight cells of padding that never
// win. The output is [N, C, (H+padTop+padBottom-kh)/sh+1, (W+padLeft+padRight-kw)/sw+1]
// (divisions rounding down). Each padding must be smaller than the window along its axis, so
// that every window holds at least one real cell.
func MaxPool2D(x *G.Node, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight int) (*G.Node, error) {
	return applyPool(maxPool, false, x, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight)
}

// AvgPool2D returns the average pooling of x, an NCHW float32 node, with the arguments of
// MaxPool2D. Each output is the mean of the real (unpadded) input cells of its window.
func AvgPool2D(x *G.Node, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight int) (*G.Node, error) {
	return applyPool(avgPool, false, x, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight)
}

// poolLayer returns layer l's max or average pooling of x, on the fast kernels when fast is set.
func poolLayer(x *G.Node, l spec.ResolvedLayer, fast bool) (*G.Node, error) {
	var top, bottom, left, right int
	if l.Padding == "same" {
		top, bottom = spec.SamePadding(l.InH, l.Window.H, l.Stride.H)
		left, right = spec.SamePadding(l.InW, l.Window.W, l.Stride.W)
	}
	kind := maxPool
	if l.Kind == spec.KindAvgPool2D {
		kind = avgPool
	}
	return applyPool(kind, fast, x, l.Window.H, l.Window.W, l.Stride.H, l.Stride.W, top, bottom, left, right)
}

func applyPool(kind poolKind, fast bool, x *G.Node, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight int) (*G.Node, error) {
	if x.Dims() != 4 || x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("ops: %s: input must be a 4-D NCHW float32 tensor, got shape %v of %v", kind, x.Shape(), x.Dtype())
	}
	geom, err := newPoolGeometry(x.Shape(), kh, kw, sh, sw, padTop, padBottom, padLeft, padRight)
	if err != nil {
		return nil, fmt.Errorf("ops: %s: %w", kind, err)
	}
	return G.ApplyOp(newPoolOp(kind, geom, fast), x)
}

// poolKind tells max pooling from average pooling.
type poolKind uint8

const (
	maxPool poolKind = iota
	avgPool
)

func (k poolKind) String() string {
	if k == maxPool {
		return "MaxPool2D"
	}
	return "AvgPool2D"
}

// poolGeometry is the fixed shape of one pooling: input and output shapes, window, strides,
// padding, and for each output row and column the real input rows and columns its window covers.
type poolGeometry struct {
	inShape, outShape tensor.Shape // NCHW
	batch, channels   int
	inH, inW          int
	outH, outW        int

	kh, kw, sh, sw                       int
	padTop, padBottom, padLeft, padRight int

	// Output row oh covers input rows rowStart[oh] ≤ r < rowEnd[oh] (padding excluded); likewise
	// columns.
	rowStart, rowEnd []int
	colStart, colEnd []int
	// scale is 1/(real cells) of each output position's window, outH×outW row-major.
	scale []float32
	// fast2x2 says the windows are 2×2 with stride 2 and no padding before, so that the first
	// inH/2 × inW/2 outputs of a plane are whole 2×2 blocks of the input (see interior).
	fast2x2 bool
}

func newPoolGeometry(in tensor.Shape, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight int) (poolGeometry, error) {
	if err := checkPoolArgs(in, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight); err != nil {
		return poolGeometry{}, err
	}
	g := poolGeometry{
		inShape: in.Clone(), batch: in[0], channels: in[1], inH: in[2], inW: in[3],
		kh: kh, kw: kw, sh: sh, sw: sw,
		padTop: padTop, padBottom: padBottom, padLeft: padLeft, padRight: padRight,
	}
	g.outH = (g.inH+padTop+padBottom-kh)/sh + 1
	g.outW = (g.inW+padLeft+padRight-kw)/sw + 1
	g.outShape = tensor.Shape{g.batch, g.channels, g.outH, g.outW}
	g.rowStart, g.rowEnd = windowSpans(g.outH, g.inH, kh, sh, padTop)
	g.colStart, g.colEnd = windowSpans(g.outW, g.inW, kw, sw, padLeft)
	g.fast2x2 = kh == 2 && kw == 2 && sh == 2 && sw == 2 && padTop == 0 && padLeft == 0
	g.scale = make([]float32, g.outH*g.outW)
	for oh := range g.outH {
		for ow := range g.outW {
			g.scale[oh*g.outW+ow] = 1 / float32((g.rowEnd[oh]-g.rowStart[oh])*(g.colEnd[ow]-g.colStart[ow]))
		}
	}
	return g, nil
}

// checkPoolArgs reports every problem of a pooling's window, strides, padding and input shape.
func checkPoolArgs(in tensor.Shape, kh, kw, sh, sw, padTop, padBottom, padLeft, padRight int) error {
	var errs []error
	if kh < 1 || kw < 1 {
		errs = append(errs, fmt.Errorf("window %d×%d must be at least 1×1", kh, kw))
	}
	if sh < 1 || sw < 1 {
		errs = append(errs, fmt.Errorf("strides %d×%d must be at least 1×1", sh, sw))
	}
	if padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0 {
		errs = append(errs, fmt.Errorf("padding (top %d, bottom %d, left %d, right %d) must not be negative", padTop, padBottom, padLeft, padRight))
	} else if kh >= 1 && kw >= 1 && (padTop >= kh || padBottom >= kh || padLeft >= kw || padRight >= kw) {
		errs = append(errs, fmt.Errorf("padding (top %d, bottom %d, left %d, right %d) must be smaller than the window %d×%d, or a window could hold no input", padTop, padBottom, padLeft, padRight, kh, kw))
	}
	if len(errs) == 0 && (in[2]+padTop+padBottom < kh || in[3]+padLeft+padRight < kw) {
		errs = append(errs, fmt.Errorf("window %d×%d is larger than the padded input %d×%d", kh, kw, in[2]+padTop+padBottom, in[3]+padLeft+padRight))
	}
	for _, d := range in {
		if d < 1 {
			errs = append(errs, fmt.Errorf("input shape %v has an empty dimension", in))
			break
		}
	}
	return errors.Join(errs...)
}

// windowSpans returns, for each of out windows of size k moved by stride over an input of size n
// padded by pad before it, the first and one-past-last real input index it covers.
func windowSpans(out, n, k, stride, pad int) (start, end []int) {
	start, end = make([]int, out), make([]int, out)
	for o := range out {
		s := o*stride - pad
		start[o], end[o] = max(s, 0), min(s+k, n)
	}
	return start, end
}

func (g *poolGeometry) planes() int       { return g.batch * g.channels }
func (g *poolGeometry) inPlaneSize() int  { return g.inH * g.inW }
func (g *poolGeometry) outPlaneSize() int { return g.outH * g.outW }

func (g *poolGeometry) String() string {
	return fmt.Sprintf("%v, window %d×%d, stride %d×%d, padding t%d b%d l%d r%d",
		[]int(g.inShape), g.kh, g.kw, g.sh, g.sw, g.padTop, g.padBottom, g.padLeft, g.padRight)
}

// The kernels work on one plane (one example's channel, row-major H×W) at a time. Max pooling
// compares order keys (kernels.OrderKey) with arithmetic masks instead of branches, as
// kernels.MaxPool2x2Go does.

// interior returns how many output rows and columns of a plane the 2×2 fast path computes: the
// whole 2×2 blocks of the input, when the window and stride are 2×2 with no padding before.
func (g *poolGeometry) interior() (rows, cols int) {
	if g.fast2x2 {
		return g.inH / 2, g.inW / 2
	}
	return 0, 0
}

// maxForward writes the max of every window of planes [p0, p1) of x to out, and to argmax the
// index within its input plane (row*inW + column) of the window's first maximum in row-major
// order.
func (g *poolGeometry) maxForward(x, out []float32, argmax []int32, p0, p1 int, blocks func([]float32, int, []float32, []int32, int, int, int)) {
	inPlane, outPlane := g.inPlaneSize(), g.outPlaneSize()
	fh, fw := g.interior()
	w := g.inW
	for p := p0; p < p1; p++ {
		xp := x[p*inPlane : (p+1)*inPlane]
		op := out[p*outPlane : (p+1)*outPlane]
		ap := argmax[p*outPlane : (p+1)*outPlane]
		if fh > 0 && fw > 0 {
			blocks(xp, w, op, ap, g.outW, fh, fw)
		}
		for oh := range g.outH {
			r0, r1 := g.rowStart[oh], g.rowEnd[oh]
			ow0 := 0
			if oh < fh {
				ow0 = fw
			}
			for ow := ow0; ow < g.outW; ow++ {
				c0, c1 := g.colStart[ow], g.colEnd[ow]
				bi := r0*w + c0
				best := kernels.OrderKey(xp[bi])
				for r := r0; r < r1; r++ {
					base := r * w
					for c := c0; c < c1; c++ {
						k := kernels.OrderKey(xp[base+c])
						m := kernels.GreaterMask(k, best)
						best ^= (best ^ k) & int32(m)
						bi ^= (bi ^ (base + c)) & m
					}
				}
				op[oh*g.outW+ow], ap[oh*g.outW+ow] = xp[bi], int32(bi)
			}
		}
	}
}

// maxBackward adds each output gradient of planes [p0, p1) to the input cell argmax names. The
// planes of gradIn are zeroed first unless accumulate is set.
func (g *poolGeometry) maxBackward(gradOut []float32, argmax []int32, gradIn []float32, p0, p1 int, accumulate bool) {
	inPlane, outPlane := g.inPlaneSize(), g.outPlaneSize()
	if !accumulate {
		clear(gradIn[p0*inPlane : p1*inPlane])
	}
	for p := p0; p < p1; p++ {
		gi := gradIn[p*inPlane : (p+1)*inPlane]
		gop := gradOut[p*outPlane : (p+1)*outPlane]
		for o, a := range argmax[p*outPlane : (p+1)*outPlane] {
			gi[a] += gop[o]
		}
	}
}

// avgForward writes the mean of the real cells of every window of planes [p0, p1) of x to out.
func (g *poolGeometry) avgForward(x, out []float32, p0, p1 int) {
	inPlane, outPlane := g.inPlaneSize(), g.outPlaneSize()
	fh, fw := g.interior()
	w := g.inW
	for p := p0; p < p1; p++ {
		xp := x[p*inPlane : (p+1)*inPlane]
		op := out[p*outPlane : (p+1)*outPlane]
		for oh := range fh {
			r := 2 * oh * w
			row0 := xp[r : r+2*fw]
			row1 := xp[r+w : r+w+2*fw]
			orow := op[oh*g.outW : oh*g.outW+fw]
			for ow := range orow {
				c := 2 * ow
				orow[ow] = ((row0[c] + row0[c+1]) + (row1[c] + row1[c+1])) * 0.25
			}
		}
		g.edgeWindows(fh, fw, func(o, r0, r1, c0, c1 int) {
			var sum float32
			for r := r0; r < r1; r++ {
				for _, v := range xp[r*w+c0 : r*w+c1] {
					sum += v
				}
			}
			op[o] = sum * g.scale[o]
		})
	}
}

// edgeWindows calls window for every output outside the fh×fw interior of full 2×2 windows that
// avgForward and avgBackward take apart: o is the output's index in its plane, rows [r0, r1) and
// columns [c0, c1) of the input plane its window's real cells.
func (g *poolGeometry) edgeWindows(fh, fw int, window func(o, r0, r1, c0, c1 int)) {
	for oh := range g.outH {
		ow0 := 0
		if oh < fh {
			ow0 = fw
		}
		for ow := ow0; ow < g.outW; ow++ {
			window(oh*g.outW+ow, g.rowStart[oh], g.rowEnd[oh], g.colStart[ow], g.colEnd[ow])
		}
	}
}

// avgBackward spreads each output gradient of planes [p0, p1) evenly over the real cells of its
// window. The planes of gradIn are zeroed first unless accumulate is set.
func (g *poolGeometry) avgBackward(gradOut, gradIn []float32, p0, p1 int, accumulate bool) {
	inPlane, outPlane := g.inPlaneSize(), g.outPlaneSize()
	if !accumulate {
		clear(gradIn[p0*inPlane : p1*inPlane])
	}
	fh, fw := g.interior()
	w := g.inW
	for p := p0; p < p1; p++ {
		gi := gradIn[p*inPlane : (p+1)*inPlane]
		gop := gradOut[p*outPlane : (p+1)*outPlane]
		for oh := range fh {
			r := 2 * oh * w
			row0 := gi[r : r+2*fw]
			row1 := gi[r+w : r+w+2*fw]
			for ow, d := range gop[oh*g.outW : oh*g.outW+fw] {
				d *= 0.25
				c := 2 * ow
				row0[c] += d
				row0[c+1] += d
				row1[c] += d
				row1[c+1] += d
			}
		}
		g.edgeWindows(fh, fw, func(o, r0, r1, c0, c1 int) {
			d := gop[o] * g.scale[o]
			for r := r0; r < r1; r++ {
				row := gi[r*w+c0 : r*w+c1]
				for j := range row {
					row[j] += d
				}
			}
		})
	}
}

// poolOp is the forward op of MaxPool2D and AvgPool2D.
type poolOp struct {
	opBase
	kind poolKind
	geom poolGeometry
	out  opBuffer
	// argmax (max pooling) holds, for every output of the last forward pass, the index within its
	// input plane (row*inW + column) of the cell that won; argmaxFilled says a pass has filled it.
	argmax       []int32
	argmaxFilled bool

	// blocks is the kernel for whole 2×2 blocks (kernels.MaxPool2x2, or MaxPool2x2Go for Stock).
	blocks func(x []float32, w int, out []float32, argmax []int32, outW, rows, cols int)
	// runForward and runBackward run a pass over the planes (serially, or see planeSplit); forwardPass
	// and backwardPass are the passes, made once so that a call allocates nothing.
	runForward, runBackward   func(pass func(p0, p1 int))
	forwardPass, backwardPass func(p0, p1 int)
	// The operands of the pass in progress; mask, when set, is the input x, a ReLU's output, by
	// whose mask the backward pass multiplies its gradient (see poolGradOp).
	x, y, dy, dx, mask []float32
	accumulate         bool
}

// poolSplitMode is the mode of the fast pooling passes made from now on (tests force modes).
var poolSplitMode = kernels.PassAuto

// newPoolOp returns the forward op of a pooling, on the fast kernels when fast is set.
func newPoolOp(kind poolKind, geom poolGeometry, fast bool) *poolOp {
	op := &poolOp{kind: kind, geom: geom, blocks: kernels.MaxPool2x2Go}
	op.forwardPass, op.backwardPass = op.forwardPlanes, op.backwardPlanes
	planes := geom.planes()
	if !fast {
		serial := func(pass func(p0, p1 int)) { pass(0, planes) }
		op.runForward, op.runBackward = serial, serial
		return op
	}
	if kernels.MaxPool2x2Asm() {
		op.blocks = kernels.MaxPool2x2
	}
	eligible := planes >= 2 && geom.inShape.TotalSize() >= convSplitMinFloats
	op.runForward, op.runBackward = newPlaneSplit(planes, eligible), newPlaneSplit(planes, eligible)
	return op
}

// planeSplit runs a pooling pass over planes in chunks (see kernels.Pass).
type planeSplit struct {
	planes   int
	eligible bool
	task     *kernels.Pass
	pass     func(p0, p1 int) // the pass in progress
}

func newPlaneSplit(planes int, eligible bool) func(pass func(p0, p1 int)) {
	ps := &planeSplit{planes: planes, eligible: eligible}
	ps.task = kernels.NewPass(ps.chunk, planes)
	ps.task.Mode = poolSplitMode
	return ps.run
}

func (ps *planeSplit) run(pass func(p0, p1 int)) {
	ps.pass = pass
	ps.task.Run(ps.eligible)
	ps.pass = nil
}

func (ps *planeSplit) chunk(c, chunks, _ int) {
	lo, hi := kernels.ChunkRange(ps.planes, c, chunks)
	ps.pass(lo, hi)
}

var (
	_ G.SDOp            = (*poolOp)(nil)
	_ G.ADOp            = (*poolOp)(nil)
	_ G.UsePreallocDoer = (*poolOp)(nil)
	_ G.UsePreallocDoer = (*poolGradOp)(nil)
)

func (op *poolOp) Arity() int { return 1 }

// Type is Tensor-4 a → Tensor-4 a.
func (op *poolOp) Type() hm.Type {
	t := G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

func (op *poolOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("ops: %s takes 1 input, got %d", op.kind, len(inputs))
	}
	if s, ok := inputs[0].(tensor.Shape); !ok || !s.Eq(op.geom.inShape) {
		return nil, fmt.Errorf("ops: %s was built for input shape %v, got %v", op.kind, op.geom.inShape, inputs[0])
	}
	return op.geom.outShape.Clone(), nil
}

// Do pools inputs[0] into the op's own output buffer and returns it.
func (op *poolOp) Do(inputs ...G.Value) (G.Value, error) {
	x, err := op.input(inputs)
	if err != nil {
		return nil, err
	}
	out := op.out.tensor(op.geom.outShape)
	op.forward(x, out.Float32s())
	return out, nil
}

// UsePreallocDo is Do: the op writes its own buffer, never prealloc (see buffer.go).
func (op *poolOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *poolOp) input(inputs []G.Value) ([]float32, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("ops: %s takes 1 input, got %d", op.kind, len(inputs))
	}
	return opInput(inputs[0], op.geom.inShape, op, "input")
}

func (op *poolOp) forward(x, out []float32) {
	if op.kind == maxPool && len(op.argmax) != len(out) {
		op.argmax = make([]int32, len(out))
	}
	op.x, op.y = x, out
	op.runForward(op.forwardPass)
	op.x, op.y = nil, nil
	op.argmaxFilled = op.kind == maxPool
}

// forwardPlanes is the forward pass over planes [p0, p1).
func (op *poolOp) forwardPlanes(p0, p1 int) {
	if op.kind == avgPool {
		op.geom.avgForward(op.x, op.y, p0, p1)
		return
	}
	op.geom.maxForward(op.x, op.y, op.argmax, p0, p1, op.blocks)
}

// backward writes (or with accumulate, adds) the gradient with respect to the input x to gradIn,
// given the gradient gradOut with respect to the output; with masked (and not accumulate), it
// writes that gradient ⊙ (x > 0) instead, x being a ReLU's output (see poolGradOp).
func (op *poolOp) backward(x, gradOut, gradIn []float32, accumulate, masked bool) {
	if op.kind == maxPool && !op.argmaxFilled {
		// The backward pass ran without a forward pass before it (not on a TapeMachine or
		// LispMachine): find the maxima now.
		op.forward(x, make([]float32, len(gradOut)))
	}
	op.dy, op.dx, op.accumulate = gradOut, gradIn, accumulate
	if masked && !accumulate {
		op.mask = x
	}
	op.runBackward(op.backwardPass)
	op.dy, op.dx, op.mask = nil, nil, nil
}

// backwardPlanes is the backward pass over planes [p0, p1). With a mask it runs plane by plane,
// masking each plane just written while it is in L1 (a test of x per window in maxBackward's
// loop is a branch that mispredicts half the time, and measured slower than this vector pass).
func (op *poolOp) backwardPlanes(p0, p1 int) {
	if op.mask == nil {
		op.kindBackward(p0, p1)
		return
	}
	size := op.geom.inPlaneSize()
	for p := p0; p < p1; p++ {
		op.kindBackward(p, p+1)
		kernels.ReLUBackward(op.mask[p*size:(p+1)*size], op.dx[p*size:(p+1)*size], op.dx[p*size:(p+1)*size])
	}
}

// kindBackward is the max or average pooling's backward pass over planes [p0, p1).
func (op *poolOp) kindBackward(p0, p1 int) {
	if op.kind == avgPool {
		op.geom.avgBackward(op.dy, op.dx, p0, p1, op.accumulate)
		return
	}
	op.geom.maxBackward(op.dy, op.argmax, op.dx, p0, p1, op.accumulate)
}

func (op *poolOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

func (op *poolOp) Hashcode() uint32 { return opHash(op) }

func (op *poolOp) String() string {
	return fmt.Sprintf("nnsweep.%s{%v}", op.kind, &op.geom)
}

func (op *poolOp) DiffWRT(inputs int) []bool { return []bool{true} }

// SymDiff returns the gradient node of x: poolGradOp applied to (x, grad), with the ReLU's mask
// fused in when x is a ReLU's output (see activation.go).
func (op *poolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("ops: %s takes 1 input, got %d", op.kind, len(inputs))
	}
	dx, err := G.ApplyOp(&poolGradOp{fwd: op, mask: reluMaskOf(inputs[0])}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// DoDiff adds the gradient with respect to the input to the input's bound gradient (for
// gorgonia's LispMachine).
func (op *poolOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if len(inputs) != 1 {
		return fmt.Errorf("ops: %s takes 1 input, got %d", op.kind, len(inputs))
	}
	x, err := opInput(inputs[0].Value(), op.geom.inShape, op, "input")
	if err != nil {
		return err
	}
	dxv, err := inputs[0].Grad()
	if err != nil {
		return fmt.Errorf("ops: %s input gradient: %w", op.kind, err)
	}
	dyv, err := output.Grad()
	if err != nil {
		return fmt.Errorf("ops: %s output gradient: %w", op.kind, err)
	}
	dx, err := opInput(dxv, op.geom.inShape, op, "input gradient")
	if err != nil {
		return err
	}
	dy, err := opInput(dyv, op.geom.outShape, op, "output gradient")
	if err != nil {
		return err
	}
	op.backward(x, dy, dx, true, false)
	return nil
}

// poolGradOp is the backward op of a poolOp: from (x, gradient with respect to the output) it
// computes the gradient with respect to x. Max pooling's uses the argmax its forward op recorded.
// With a mask (the node x, a ReLU's output), it computes that gradient ⊙ (x > 0), the ReLU's
// gradient fused in.
type poolGradOp struct {
	opBase
	fwd  *poolOp
	mask *G.Node
	out  opBuffer
}

func (op *poolGradOp) maskedBy() *G.Node { return op.mask }

func (op *poolGradOp) Arity() int { return 2 }

// Type is Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *poolGradOp) Type() hm.Type {
	t := G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

func (op *poolGradOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("ops: %s gradient takes 2 inputs, got %d", op.fwd.kind, len(inputs))
	}
	return op.fwd.geom.inShape.Clone(), nil
}

// Do computes the input gradient into the op's own buffer and returns it.
func (op *poolGradOp) Do(inputs ...G.Value) (G.Value, error) {
	x, dy, err := op.inputs(inputs)
	if err != nil {
		return nil, err
	}
	dx := op.out.tensor(op.fwd.geom.inShape)
	op.fwd.backward(x, dy, dx.Float32s(), false, op.mask != nil)
	return dx, nil
}

// UsePreallocDo is Do: the op writes its own buffer, never prealloc (see buffer.go).
func (op *poolGradOp) UsePreallocDo(_ G.Value, inputs ...G.Value) (G.Value, error) {
	return op.Do(inputs...)
}

func (op *poolGradOp) inputs(inputs []G.Value) (x, dy []float32, err error) {
	if len(inputs) != 2 {
		return nil, nil, fmt.Errorf("ops: %s gradient takes 2 inputs, got %d", op.fwd.kind, len(inputs))
	}
	if x, err = opInput(inputs[0], op.fwd.geom.inShape, op, "input"); err != nil {
		return nil, nil, err
	}
	if dy, err = opInput(inputs[1], op.fwd.geom.outShape, op, "output gradient"); err != nil {
		return nil, nil, err
	}
	return x, dy, nil
}

func (op *poolGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

func (op *poolGradOp) Hashcode() uint32 { return opHash(op) }

func (op *poolGradOp) String() string {
	if op.mask != nil {
		return fmt.Sprintf("nnsweep.%sGrad{%v, relu-masked}", op.fwd.kind, &op.fwd.geom)
	}
	return fmt.Sprintf("nnsweep.%sGrad{%v}", op.fwd.kind, &op.fwd.geom)
}
