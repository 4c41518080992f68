package kernels

import (
	"errors"
	"fmt"
)

// DepthwiseGeom is the geometry of a depthwise 2-D convolution over NCHW batches: every input
// channel c is convolved with M kernels of its own, and output channel f = c·M + j is input
// channel c's j-th kernel (Keras's DepthwiseConv2D, PyTorch's Conv2d with groups = C):
//
//	y[b][f][oh][ow] = Σ_{kh,kw} w[f][kh][kw] · xpad[b][f/M][oh·StrideH+kh][ow·StrideW+kw]
//
// xpad as in ConvGeom. x is N×C×H×W, y is N×F×OutH×OutW with F = C·M, and w is F×KH×KW (the
// layer's [F, 1, KH, KW] kernel); all sizes count floats.
type DepthwiseGeom struct {
	C, M, H, W                           int // input channels, kernels per channel, height and width
	KH, KW                               int // kernel height and width
	StrideH, StrideW                     int // strides, at least 1
	PadTop, PadBottom, PadLeft, PadRight int // zero padding, at least 0
}

// Validate reports whether g describes a depthwise convolution with at least one output pixel.
func (g DepthwiseGeom) Validate() error {
	switch {
	case g.C < 1 || g.M < 1 || g.H < 1 || g.W < 1 || g.KH < 1 || g.KW < 1:
		return fmt.Errorf("kernels: depthwise sizes must be positive, got C=%d M=%d H=%d W=%d KH=%d KW=%d", g.C, g.M, g.H, g.W, g.KH, g.KW)
	case g.StrideH < 1 || g.StrideW < 1:
		return fmt.Errorf("kernels: depthwise strides must be at least 1, got %d×%d", g.StrideH, g.StrideW)
	case g.PadTop < 0 || g.PadBottom < 0 || g.PadLeft < 0 || g.PadRight < 0:
		return errors.New("kernels: depthwise padding must not be negative")
	case g.H+g.PadTop+g.PadBottom < g.KH || g.W+g.PadLeft+g.PadRight < g.KW:
		return fmt.Errorf("kernels: depthwise kernel %d×%d larger than padded input %d×%d", g.KH, g.KW, g.H+g.PadTop+g.PadBottom, g.W+g.PadLeft+g.PadRight)
	}
	return nil
}

// F is the number of output channels, C·M.
func (g DepthwiseGeom) F() int { return g.C * g.M }

// OutH is the output height: (H + PadTop + PadBottom - KH)/StrideH + 1.
func (g DepthwiseGeom) OutH() int { return (g.H+g.PadTop+g.PadBottom-g.KH)/g.StrideH + 1 }

// OutW is the output width: (W + PadLeft + PadRight - KW)/StrideW + 1.
func (g DepthwiseGeom) OutW() int { return (g.W+g.PadLeft+g.PadRight-g.KW)/g.StrideW + 1 }

// InSize is the floats of one example's input, C·H·W.
func (g DepthwiseGeom) InSize() int { return g.C * g.H * g.W }

// OutSize is the floats of one example's output, F·OutH·OutW.
func (g DepthwiseGeom) OutSize() int { return g.F() * g.OutH() * g.OutW() }

// FilterSize is the floats of the kernel, F·KH·KW.
func (g DepthwiseGeom) FilterSize() int { return g.F() * g.KH * g.KW }

// Flops is the number of floating-point operations of the forward pass of n examples,
// 2·n·F·KH·KW·OutH·OutW (each backward pass costs the same).
func (g DepthwiseGeom) Flops(n int) float64 {
	return 2 * float64(n) * float64(g.FilterSize()) * float64(g.OutH()*g.OutW())
}

// Depthwise runs a depthwise convolution's passes over batches (layouts as in DepthwiseGeom).
// A depthwise convolution sums over no channels, so it is memory-bound. With the AVX-512 kernels
// at stride 1 the passes run in place on the batch's planes (depthwise_inplace.go); at other
// strides each input channel runs as an ordinary convolution of one channel into M filters on
// DirectConv, over the whole batch at once: the channel's planes of every example are gathered
// into a contiguous batch, and its M output planes scattered back (a copy of the data, small next
// to KH·KW taps; measured about 4× faster than the Go loops on 26×26 planes). Otherwise the
// passes run in Go, plane by plane, one kernel tap at a time over each output row (a contiguous
// axpy at stride 1), never through im2col. A Depthwise owns scratch: one value must not be used
// by two goroutines at once.
type Depthwise struct {
	g DepthwiseGeom
	// ip runs the passes in place at stride 1 (depthwise_inplace.go); nil: plane or the Go loops.
	ip *depthwiseInPlace
	// plane is the one-channel convolution of each channel (nil: the Go loops).
	plane Conv2D
	// xs and ys hold one channel's input and output planes of a whole batch, NCHW with C = 1 and
	// C = M (grown to the largest batch seen).
	xs, ys []float32
}

// NewDepthwise returns the kernels of g. It panics if g is invalid.
func NewDepthwise(g DepthwiseGeom) *Depthwise {
	if err := g.Validate(); err != nil {
		panic(err.Error())
	}
	d := &Depthwise{g: g, ip: newDepthwiseInPlace(active.Load(), g)}
	if active.Load().convTapsOut != nil {
		d.plane = NewDirectConv(g.planeGeom())
	}
	return d
}

// planeGeom is the convolution of one channel into its M output channels.
func (g DepthwiseGeom) planeGeom() ConvGeom {
	return ConvGeom{C: 1, H: g.H, W: g.W, F: g.M, KH: g.KH, KW: g.KW, StrideH: g.StrideH, StrideW: g.StrideW,
		PadTop: g.PadTop, PadBottom: g.PadBottom, PadLeft: g.PadLeft, PadRight: g.PadRight}
}

// Geom returns the geometry.
func (d *Depthwise) Geom() DepthwiseGeom { return d.g }

// scratch returns the gathering buffers for n examples.
func (d *Depthwise) scratch(n int) (xs, ys []float32) {
	g := d.g
	if nx := n * g.H * g.W; len(d.xs) < nx {
		d.xs = make([]float32, nx)
	}
	if ny := n * g.M * g.OutH() * g.OutW(); len(d.ys) < ny {
		d.ys = make([]float32, ny)
	}
	return d.xs[:n*g.H*g.W], d.ys[:n*g.M*g.OutH()*g.OutW()]
}

// gather copies block c (of size len(dst)/n) of each of the n examples of src, whose examples
// are per floats apart, into dst, one after the other; scatter copies them back.
func gather(dst, src []float32, n, per, c int) {
	size := len(dst) / n
	for b := range n {
		copy(dst[b*size:(b+1)*size], src[b*per+c*size:])
	}
}

func scatter(dst, src []float32, n, per, c int) {
	size := len(src) / n
	for b := range n {
		copy(dst[b*per+c*size:b*per+(c+1)*size], src[b*size:])
	}
}

// channelKernels returns the M kernels of input channel c in w (KH·KW floats each): those of
// output channels c·M … c·M+M−1.
func (g DepthwiseGeom) channelKernels(w []float32, c int) []float32 {
	size := g.M * g.KH * g.KW
	return w[c*size : (c+1)*size]
}

// depthwiseTap is one kernel tap (kh, kw) of one output plane f of one example b, for the Go
// loops: output plane f gets w[f][kh][kw] times input plane f/M. The tap reaches the output rows
// rlo … rhi−1 and, in each, the columns lo … hi−1 (at least one); output pixel (r, ow) reads
// input column ow·StrideW + off of the input row that rows returns.
type depthwiseTap struct {
	w                int // the tap's index in w: f·KH·KW + kh·KW + kw
	rlo, rhi, lo, hi int
	off              int // kw − PadLeft
	// in and out are where the input plane and the output plane start in x and y; inRow is
	// where the input row of output row 0 would start in the input plane, (kh − PadTop)·W.
	in, out, inRow int
	rowStep, outW  int // StrideH·W and OutW
}

// rows returns the input row of output row r, from its column 0 to the end of x, and the output
// pixels of row r that the tap reaches, columns lo … hi−1 of y.
func (t depthwiseTap) rows(x, y []float32, r int) (xr, yr []float32) {
	o := t.out + r*t.outW
	return x[t.in+t.inRow+r*t.rowStep:], y[o+t.lo : o+t.hi]
}

// eachTap calls visit for every tap of n examples that reaches at least one output pixel, in
// the order of the examples, then the output planes, then kh and kw: the order every pass of
// the Go loops sums in.
func (g DepthwiseGeom) eachTap(n int, visit func(t depthwiseTap)) {
	in, out, plane, oplane := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW()
	taps := g.KH * g.KW
	t := depthwiseTap{rowStep: g.StrideH * g.W, outW: g.OutW()}
	for b := range n {
		for f := range g.F() {
			t.in, t.out = b*in+(f/g.M)*plane, b*out+f*oplane
			for kh := range g.KH {
				t.rlo, t.rhi = validRange(kh-g.PadTop, g.StrideH, g.H, g.OutH())
				t.inRow = (kh - g.PadTop) * g.W
				for kw := range g.KW {
					t.off = kw - g.PadLeft
					t.lo, t.hi = validRange(t.off, g.StrideW, g.W, t.outW)
					if t.lo >= t.hi {
						continue
					}
					t.w = f*taps + kh*g.KW + kw
					visit(t)
				}
			}
		}
	}
}

// Forward sets y = depthwise(x, w) + bias for n examples; bias has F entries or is nil.
func (d *Depthwise) Forward(n int, x, w, bias, y []float32) {
	g := d.g
	in, out := g.InSize(), g.OutSize()
	checkLen(x, n*in, "x")
	checkLen(y, n*out, "y")
	checkLen(w, g.FilterSize(), "w")
	if d.ip != nil {
		d.ip.forward(g, n, x, w, bias, y)
		return
	}
	if d.plane != nil {
		if g.C == 1 {
			d.plane.Forward(n, x, w, bias, y)
			return
		}
		xs, ys := d.scratch(n)
		for c := range g.C {
			var bc []float32
			if bias != nil {
				bc = bias[c*g.M : (c+1)*g.M]
			}
			gather(xs, x, n, in, c)
			d.plane.Forward(n, xs, g.channelKernels(w, c), bc, ys)
			scatter(y, ys, n, out, c)
		}
		return
	}
	oplane := g.OutH() * g.OutW()
	for b := range n {
		for f := range g.F() {
			var b0 float32
			if bias != nil {
				b0 = bias[f]
			}
			yp := y[b*out+f*oplane : b*out+(f+1)*oplane]
			for i := range yp {
				yp[i] = b0
			}
		}
	}
	sw := g.StrideW
	g.eachTap(n, func(t depthwiseTap) {
		wv, lo, hi, off := w[t.w], t.lo, t.hi, t.off
		for r := t.rlo; r < t.rhi; r++ {
			xr, yr := t.rows(x, y, r)
			if sw == 1 {
				xs := xr[lo+off : hi+off]
				for i := range yr {
					yr[i] += wv * xs[i]
				}
				continue
			}
			for i := range yr {
				yr[i] += wv * xr[(lo+i)*sw+off]
			}
		}
	})
}

// BackwardData sets dx to the gradient with respect to x of Σ y·dy for n examples.
func (d *Depthwise) BackwardData(n int, dy, w, dx []float32) {
	g := d.g
	in, out := g.InSize(), g.OutSize()
	checkLen(dy, n*out, "dy")
	checkLen(dx, n*in, "dx")
	checkLen(w, g.FilterSize(), "w")
	if d.ip != nil {
		d.ip.backwardData(g, n, dy, w, dx)
		return
	}
	if d.plane != nil {
		if g.C == 1 {
			d.plane.BackwardData(n, dy, w, dx)
			return
		}
		xs, ys := d.scratch(n)
		for c := range g.C {
			gather(ys, dy, n, out, c)
			d.plane.BackwardData(n, ys, g.channelKernels(w, c), xs)
			scatter(dx, xs, n, in, c)
		}
		return
	}
	clear(dx[:n*in])
	sw := g.StrideW
	g.eachTap(n, func(t depthwiseTap) {
		wv, lo, hi, off := w[t.w], t.lo, t.hi, t.off
		for r := t.rlo; r < t.rhi; r++ {
			xr, yr := t.rows(dx, dy, r)
			if sw == 1 {
				xs := xr[lo+off : hi+off]
				for i, v := range yr {
					xs[i] += wv * v
				}
				continue
			}
			for i, v := range yr {
				xr[(lo+i)*sw+off] += wv * v
			}
		}
	})
}

// BackwardFilter sets dw to the gradient with respect to w of Σ y·dy, summed over the n examples
// in order.
func (d *Depthwise) BackwardFilter(n int, x, dy, dw []float32) {
	g := d.g
	in, out := g.InSize(), g.OutSize()
	checkLen(x, n*in, "x")
	checkLen(dy, n*out, "dy")
	checkLen(dw, g.FilterSize(), "dw")
	if d.ip != nil {
		d.ip.backwardFilter(g, n, x, dy, dw)
		return
	}
	if d.plane != nil {
		if g.C == 1 {
			d.plane.BackwardFilter(n, x, dy, dw)
			return
		}
		xs, ys := d.scratch(n)
		for c := range g.C {
			gather(xs, x, n, in, c)
			gather(ys, dy, n, out, c)
			d.plane.BackwardFilter(n, xs, ys, g.channelKernels(dw, c))
		}
		return
	}
	clear(dw[:g.FilterSize()])
	sw := g.StrideW
	g.eachTap(n, func(t depthwiseTap) {
		lo, hi, off := t.lo, t.hi, t.off
		var s float32
		for r := t.rlo; r < t.rhi; r++ {
			xr, yr := t.rows(x, dy, r)
			if sw == 1 {
				xs := xr[lo+off : hi+off]
				for i, v := range yr {
					s += xs[i] * v
				}
				continue
			}
			for i, v := range yr {
				s += xr[(lo+i)*sw+off] * v
			}
		}
		dw[t.w] += s
	})
}
