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
// A depthwise convolution sums over no channels, so it is memory-bound: it runs directly, plane
// by plane, one kernel tap at a time over each output row (a contiguous axpy at stride 1),
// never through im2col. It holds no scratch, so one value may be used by several goroutines.
type Depthwise struct{ g DepthwiseGeom }

// NewDepthwise returns the kernels of g. It panics if g is invalid.
func NewDepthwise(g DepthwiseGeom) *Depthwise {
	if err := g.Validate(); err != nil {
		panic(err.Error())
	}
	return &Depthwise{g: g}
}

// Geom returns the geometry.
func (d *Depthwise) Geom() DepthwiseGeom { return d.g }

// Forward sets y = depthwise(x, w) + bias for n examples; bias has F entries or is nil.
func (d *Depthwise) Forward(n int, x, w, bias, y []float32) {
	g := d.g
	in, out, plane, oplane := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW()
	checkLen(x, n*in, "x")
	checkLen(y, n*out, "y")
	checkLen(w, g.FilterSize(), "w")
	taps, ow, sw := g.KH*g.KW, g.OutW(), g.StrideW
	for b := range n {
		for f := range g.F() {
			xp := x[b*in+(f/g.M)*plane : b*in+(f/g.M+1)*plane]
			yp := y[b*out+f*oplane : b*out+(f+1)*oplane]
			var b0 float32
			if bias != nil {
				b0 = bias[f]
			}
			for i := range yp {
				yp[i] = b0
			}
			wf := w[f*taps : (f+1)*taps]
			for kh := range g.KH {
				rlo, rhi := validRange(kh-g.PadTop, g.StrideH, g.H, g.OutH())
				for kw := range g.KW {
					off := kw - g.PadLeft
					lo, hi := validRange(off, sw, g.W, ow)
					if lo >= hi {
						continue
					}
					wv := wf[kh*g.KW+kw]
					for r := rlo; r < rhi; r++ {
						xr := xp[(r*g.StrideH+kh-g.PadTop)*g.W:]
						yr := yp[r*ow+lo : r*ow+hi]
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
				}
			}
		}
	}
}

// BackwardData sets dx to the gradient with respect to x of Σ y·dy for n examples.
func (d *Depthwise) BackwardData(n int, dy, w, dx []float32) {
	g := d.g
	in, out, plane, oplane := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW()
	checkLen(dy, n*out, "dy")
	checkLen(dx, n*in, "dx")
	checkLen(w, g.FilterSize(), "w")
	clear(dx[:n*in])
	taps, ow, sw := g.KH*g.KW, g.OutW(), g.StrideW
	for b := range n {
		for f := range g.F() {
			xp := dx[b*in+(f/g.M)*plane : b*in+(f/g.M+1)*plane]
			yp := dy[b*out+f*oplane : b*out+(f+1)*oplane]
			wf := w[f*taps : (f+1)*taps]
			for kh := range g.KH {
				rlo, rhi := validRange(kh-g.PadTop, g.StrideH, g.H, g.OutH())
				for kw := range g.KW {
					off := kw - g.PadLeft
					lo, hi := validRange(off, sw, g.W, ow)
					if lo >= hi {
						continue
					}
					wv := wf[kh*g.KW+kw]
					for r := rlo; r < rhi; r++ {
						xr := xp[(r*g.StrideH+kh-g.PadTop)*g.W:]
						yr := yp[r*ow+lo : r*ow+hi]
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
				}
			}
		}
	}
}

// BackwardFilter sets dw to the gradient with respect to w of Σ y·dy, summed over the n examples
// in order.
func (d *Depthwise) BackwardFilter(n int, x, dy, dw []float32) {
	g := d.g
	in, out, plane, oplane := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW()
	checkLen(x, n*in, "x")
	checkLen(dy, n*out, "dy")
	checkLen(dw, g.FilterSize(), "dw")
	clear(dw[:g.FilterSize()])
	taps, ow, sw := g.KH*g.KW, g.OutW(), g.StrideW
	for b := range n {
		for f := range g.F() {
			xp := x[b*in+(f/g.M)*plane : b*in+(f/g.M+1)*plane]
			yp := dy[b*out+f*oplane : b*out+(f+1)*oplane]
			wf := dw[f*taps : (f+1)*taps]
			for kh := range g.KH {
				rlo, rhi := validRange(kh-g.PadTop, g.StrideH, g.H, g.OutH())
				for kw := range g.KW {
					off := kw - g.PadLeft
					lo, hi := validRange(off, sw, g.W, ow)
					if lo >= hi {
						continue
					}
					var s float32
					for r := rlo; r < rhi; r++ {
						xr := xp[(r*g.StrideH+kh-g.PadTop)*g.W:]
						yr := yp[r*ow+lo : r*ow+hi]
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
					wf[kh*g.KW+kw] += s
				}
			}
		}
	}
}
