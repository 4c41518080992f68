package kernels

// The in-place passes of a depthwise convolution at stride 1 with the AVX-512 kernels: each
// output row is computed straight from the input plane of the NCHW batch, vectorised over the
// output width (16 columns a vector, a masked tail), with no gathering of channels and no
// scattering back. Only what padding needs is copied: with padding, one input plane at a time
// into a zero-bordered plane; for the input gradient, the output-gradient planes of one input
// channel into zero-bordered planes, KH−1 and KW−1 wide, so that it is the same tap kernel with
// the kernel flipped.
//
// Per output value the forward and input-gradient sums are the same fused multiply-adds in the
// same order as DirectConv's (taps kh, kw from zero, then the bias when it is not zero): the
// same bits as the gathering path. The filter gradient sums each example's plane in sixteen
// lanes and adds the examples' sums in order.

// dwDotFunc adds to out[t], for the taps t of one call, the dot product of an output-gradient
// plane with the input plane shifted by offs[t] (see genDWDot in gen_asm.go).
type dwDotFunc func(dy *float32, dyRowBytes int, x *float32, xRowBytes int, offs *int32, rows, nvec, mask int, out *float32)

// dwDotNT is the most taps one filter-gradient call takes (gen_asm.go's dwDotNT).
const dwDotNT = 16

// dwTapsKFunc is the tap kernel specialised to one kernel size, its weights in registers: the
// taps (kh, kw) at x + kh·xRow + kw, or with the flipped variant x − kh·xRow − kw (see
// genDWTapsK in gen_asm.go). It gives the bits of dwTaps with those offsets.
type dwTapsKFunc func(y *float32, yRowBytes int, x *float32, xRowBytes int, w *float32, rows, nvec, mask int, bias float32, addBias int)

// dwTapsKMax is the largest kernel side with a specialised tap kernel (gen_asm.go's dwTapsKMax).
const dwTapsKMax = 5

// tapsK returns the specialised tap kernel of g's kernel size (flipped or not), or nil.
func (p *depthwiseInPlace) tapsK(g DepthwiseGeom, flip int) dwTapsKFunc {
	if p.im.dwTapsK[flip] == nil || g.KH > dwTapsKMax || g.KW > dwTapsKMax {
		return nil
	}
	return p.im.dwTapsK[flip][g.KH-1][g.KW-1]
}

// depthwiseInPlace is the state of the in-place passes of one geometry.
type depthwiseInPlace struct {
	im *impl
	// wp is the row length of the (padded) input plane the forward and filter passes read;
	// xpad holds one padded input plane, nil when there is no padding (x is read in place).
	wp   int
	xpad []float32
	// fOffs are the forward taps' offsets in the input plane, kh·wp + kw.
	fOffs []int32
	// The input gradient reads M output-gradient planes of hg×wg floats with borders of KH−1
	// rows and KW−1 columns (dypad), at the offsets bOffs of taps (j, kh, kw) from an input
	// pixel's row: j·hg·wg + (PadTop+KH−1−kh)·wg + PadLeft+KW−1−kw.
	hg, wg int
	dypad  []float32
	bOffs  []int32
}

// newDepthwiseInPlace returns the in-place passes of g, or nil when they do not apply (stride
// other than 1, or no AVX-512 kernels in im).
func newDepthwiseInPlace(im *impl, g DepthwiseGeom) *depthwiseInPlace {
	if im.dwTaps == nil || g.StrideH != 1 || g.StrideW != 1 {
		return nil
	}
	p := &depthwiseInPlace{im: im, wp: g.W}
	if g.PadTop+g.PadBottom+g.PadLeft+g.PadRight > 0 {
		p.wp = g.W + g.PadLeft + g.PadRight
		p.xpad = make([]float32, (g.H+g.PadTop+g.PadBottom)*p.wp)
	}
	for kh := range g.KH {
		for kw := range g.KW {
			p.fOffs = append(p.fOffs, int32(kh*p.wp+kw))
		}
	}
	p.hg, p.wg = g.OutH()+2*(g.KH-1), g.OutW()+2*(g.KW-1)
	p.dypad = make([]float32, g.M*p.hg*p.wg)
	for j := range g.M {
		for kh := range g.KH {
			for kw := range g.KW {
				p.bOffs = append(p.bOffs, int32(j*p.hg*p.wg+(g.PadTop+g.KH-1-kh)*p.wg+g.PadLeft+g.KW-1-kw))
			}
		}
	}
	return p
}

// inputPlane returns input plane src (H×W) as the pass reads it: src itself, or its copy in the
// padded plane.
func (p *depthwiseInPlace) inputPlane(g DepthwiseGeom, src []float32) []float32 {
	if p.xpad == nil {
		return src
	}
	p.im.copyRows(p.xpad[g.PadTop*p.wp+g.PadLeft:], p.wp, src, g.W, g.H, g.W, 0)
	return p.xpad
}

// forward is Depthwise.Forward.
func (p *depthwiseInPlace) forward(g DepthwiseGeom, n int, x, w, bias, y []float32) {
	in, out, plane, oplane, kk := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW(), g.KH*g.KW
	oh, ow := g.OutH(), g.OutW()
	nvec, mask := bnVec(ow)
	for b := range n {
		for c := range g.C {
			xp := p.inputPlane(g, x[b*in+c*plane:][:plane])
			for j := range g.M {
				f := c*g.M + j
				var bv float32
				if bias != nil {
					bv = bias[f]
				}
				if k := p.tapsK(g, 0); k != nil {
					k(&y[b*out+f*oplane], 4*ow, &xp[0], 4*p.wp, &w[f*kk], oh, nvec, mask, bv, boolInt(bv != 0))
					continue
				}
				p.im.dwTaps(&y[b*out+f*oplane], 4*ow, &xp[0], 4*p.wp, &p.fOffs[0], &w[f*kk], kk, oh, nvec, mask, bv, boolInt(bv != 0))
			}
		}
	}
}

// backwardData is Depthwise.BackwardData.
func (p *depthwiseInPlace) backwardData(g DepthwiseGeom, n int, dy, w, dx []float32) {
	in, out, plane, oplane, kk := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW(), g.KH*g.KW
	oh, ow := g.OutH(), g.OutW()
	nvec, mask := bnVec(g.W)
	for b := range n {
		for c := range g.C {
			for j := range g.M {
				f := c*g.M + j
				p.im.copyRows(p.dypad[j*p.hg*p.wg+(g.KH-1)*p.wg+g.KW-1:], p.wg, dy[b*out+f*oplane:], ow, oh, ow, 0)
			}
			if k := p.tapsK(g, 1); k != nil && g.M == 1 {
				// The flipped taps from the last row and column tap (0, 0) reaches.
				k(&dx[b*in+c*plane], 4*g.W, &p.dypad[p.bOffs[0]], 4*p.wg, &w[c*kk], g.H, nvec, mask, 0, 0)
				continue
			}
			p.im.dwTaps(&dx[b*in+c*plane], 4*g.W, &p.dypad[0], 4*p.wg, &p.bOffs[0], &w[c*g.M*kk], g.M*kk, g.H, nvec, mask, 0, 0)
		}
	}
}

// backwardFilter is Depthwise.BackwardFilter.
func (p *depthwiseInPlace) backwardFilter(g DepthwiseGeom, n int, x, dy, dw []float32) {
	in, out, plane, oplane, kk := g.InSize(), g.OutSize(), g.H*g.W, g.OutH()*g.OutW(), g.KH*g.KW
	oh, ow := g.OutH(), g.OutW()
	nvec, mask := bnVec(ow)
	clear(dw[:g.FilterSize()])
	for b := range n {
		for c := range g.C {
			xp := p.inputPlane(g, x[b*in+c*plane:][:plane])
			for j := range g.M {
				f := c*g.M + j
				for t0 := 0; t0 < kk; t0 += dwDotNT {
					nt := min(dwDotNT, kk-t0)
					p.im.dwDot[nt-1](&dy[b*out+f*oplane], 4*ow, &xp[0], 4*p.wp, &p.fOffs[t0], oh, nvec, mask, &dw[f*kk+t0])
				}
			}
		}
	}
}
