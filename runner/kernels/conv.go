package kernels

import (
	"errors"
	"fmt"
)

// ConvGeom is the geometry of a 2-D convolution layer over NCHW batches. As in every
// deep-learning framework the convolution is a cross-correlation: output
//
//	y[b][f][oh][ow] = Σ_{c,kh,kw} w[f][c][kh][kw] · xpad[b][c][oh·StrideH+kh][ow·StrideW+kw]
//
// where xpad is x with PadTop zero rows above, PadBottom below, PadLeft zero columns to the left
// and PadRight to the right. Tensors are dense row-major float32 slices: x is N×C×H×W, y is
// N×F×OutH×OutW and w is F×C×KH×KW. All sizes are counts of floats or elements, not bytes.
type ConvGeom struct {
	C, H, W                              int // input channels, height and width of one example
	F                                    int // output channels (number of filters)
	KH, KW                               int // kernel height and width
	StrideH, StrideW                     int // strides, at least 1
	PadTop, PadBottom, PadLeft, PadRight int // zero padding, at least 0
}

// Validate reports whether g describes a convolution with at least one output pixel.
func (g ConvGeom) Validate() error {
	switch {
	case g.C < 1 || g.H < 1 || g.W < 1 || g.F < 1 || g.KH < 1 || g.KW < 1:
		return fmt.Errorf("kernels: conv sizes must be positive, got C=%d H=%d W=%d F=%d KH=%d KW=%d", g.C, g.H, g.W, g.F, g.KH, g.KW)
	case g.StrideH < 1 || g.StrideW < 1:
		return fmt.Errorf("kernels: conv strides must be at least 1, got %d×%d", g.StrideH, g.StrideW)
	case g.PadTop < 0 || g.PadBottom < 0 || g.PadLeft < 0 || g.PadRight < 0:
		return errors.New("kernels: conv padding must not be negative")
	case g.H+g.PadTop+g.PadBottom < g.KH || g.W+g.PadLeft+g.PadRight < g.KW:
		return fmt.Errorf("kernels: conv kernel %d×%d larger than padded input %d×%d", g.KH, g.KW, g.H+g.PadTop+g.PadBottom, g.W+g.PadLeft+g.PadRight)
	}
	return nil
}

func (g ConvGeom) mustValidate() {
	if err := g.Validate(); err != nil {
		panic(err.Error())
	}
}

// OutH is the output height: (H + PadTop + PadBottom - KH)/StrideH + 1.
func (g ConvGeom) OutH() int { return (g.H+g.PadTop+g.PadBottom-g.KH)/g.StrideH + 1 }

// OutW is the output width: (W + PadLeft + PadRight - KW)/StrideW + 1.
func (g ConvGeom) OutW() int { return (g.W+g.PadLeft+g.PadRight-g.KW)/g.StrideW + 1 }

// InSize is the number of floats of one input example, C·H·W.
func (g ConvGeom) InSize() int { return g.C * g.H * g.W }

// OutSize is the number of floats of one output example, F·OutH·OutW.
func (g ConvGeom) OutSize() int { return g.F * g.OutH() * g.OutW() }

// FilterSize is the number of weights, F·C·KH·KW.
func (g ConvGeom) FilterSize() int { return g.F * g.C * g.KH * g.KW }

// ColRows is the number of rows of one example's im2col matrix, C·KH·KW.
func (g ConvGeom) ColRows() int { return g.C * g.KH * g.KW }

// ColCols is the number of columns of one example's im2col matrix, OutH·OutW.
func (g ConvGeom) ColCols() int { return g.OutH() * g.OutW() }

// Flops is the number of floating-point operations of the forward pass of n examples,
// 2·n·F·C·KH·KW·OutH·OutW (each backward pass costs the same).
func (g ConvGeom) Flops(n int) float64 {
	return 2 * float64(n) * float64(g.FilterSize()) * float64(g.ColCols())
}

// validRange returns the output positions [lo, hi) of an axis whose input index o·stride + off
// falls inside [0, size), for o < out.
func validRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-1-off < 0 {
		return 0, 0
	}
	hi = min(out, (size-1-off)/stride+1)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// Im2col writes the im2col matrix of one example img (C×H×W) into col, a row-major
// (C·KH·KW)×(OutH·OutW) matrix: col[(c·KH+kh)·KW+kw][oh·OutW+ow] = xpad[c][oh·StrideH+kh][ow·StrideW+kw].
// In this layout the convolution of one example is the plain product
//
//	y (F×OutH·OutW) = w (F×C·KH·KW) · col
//
// whose result is the example's NCHW output, so no transpose is needed anywhere: the backward
// passes are dw += dy·colᵀ (Sgemm NT) and dcol = wᵀ·dy (Sgemm TN) followed by Col2im.
func Im2col(g ConvGeom, img, col []float32) {
	g.mustValidate()
	active.Load().im2col(g, img, col)
}

// im2col is Im2col on implementation im. Rows wholly inside the input along the width (valid
// padding, stride 1) are copied a kernel tap at a time with the strided row copy; others a row
// at a time.
func (im *impl) im2col(g ConvGeom, img, col []float32) {
	ow := g.OutW()
	g.eachTap(img, col, func(plane, row []float32, kh, off, ylo, yhi, lo, hi int) {
		clear(row[:ylo*ow])
		clear(row[yhi*ow:])
		if g.StrideW == 1 && lo == 0 && hi == ow && yhi > ylo {
			im.copyRows(row[ylo*ow:], ow, plane[(ylo*g.StrideH+kh-g.PadTop)*g.W+off:], g.StrideH*g.W, yhi-ylo, ow, 0)
			return
		}
		for y := ylo; y < yhi; y++ {
			src := plane[(y*g.StrideH+kh-g.PadTop)*g.W:][:g.W]
			dst := row[y*ow : y*ow+ow]
			clear(dst[:lo])
			clear(dst[hi:])
			if g.StrideW == 1 {
				copy(dst[lo:hi], src[lo+off:])
				continue
			}
			for x := lo; x < hi; x++ {
				dst[x] = src[x*g.StrideW+off]
			}
		}
	})
}

// eachTap calls tap for every kernel tap (c, kh, kw) of one example img (C×H×W) and its im2col
// matrix col: plane is the tap's input channel, row its row of col (OutH·OutW floats), off its
// column offset kw − PadLeft, and output rows [ylo, yhi) and columns [lo, hi) those whose input
// lies inside the image (the others read padding).
func (g ConvGeom) eachTap(img, col []float32, tap func(plane, row []float32, kh, off, ylo, yhi, lo, hi int)) {
	oh, ow := g.OutH(), g.OutW()
	n := oh * ow
	img = img[:g.InSize()]
	col = col[:g.ColRows()*n]
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.KH; kh++ {
			ylo, yhi := validRange(kh-g.PadTop, g.StrideH, g.H, oh)
			for kw := 0; kw < g.KW; kw++ {
				off := kw - g.PadLeft
				lo, hi := validRange(off, g.StrideW, g.W, ow)
				tap(plane, col[((c*g.KH+kh)*g.KW+kw)*n:][:n], kh, off, ylo, yhi, lo, hi)
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it sets img (C×H×W) to the sum, over every entry of col, of
// the entry added at the input position Im2col read it from (padding positions are dropped).
func Col2im(g ConvGeom, col, img []float32) {
	g.mustValidate()
	active.Load().col2im(g, col, img)
}

// col2im is Col2im on implementation im; like im2col, whole rows are added a tap at a time.
func (im *impl) col2im(g ConvGeom, col, img []float32) {
	ow := g.OutW()
	clear(img[:g.InSize()])
	g.eachTap(img, col, func(plane, row []float32, kh, off, ylo, yhi, lo, hi int) {
		if g.StrideW == 1 && lo == 0 && hi == ow && yhi > ylo {
			im.addRows(plane[(ylo*g.StrideH+kh-g.PadTop)*g.W+off:], g.StrideH*g.W, row[ylo*ow:], ow, yhi-ylo, ow)
			return
		}
		for y := ylo; y < yhi; y++ {
			dst := plane[(y*g.StrideH+kh-g.PadTop)*g.W:][:g.W]
			src := row[y*ow+lo : y*ow+hi]
			if g.StrideW == 1 {
				d := dst[lo+off:][:len(src)]
				for i, v := range src {
					d[i] += v
				}
				continue
			}
			for i, v := range src {
				dst[(lo+i)*g.StrideW+off] += v
			}
		}
	})
}

// Conv2D runs a convolution layer's passes over a batch of n examples (layouts as in ConvGeom).
// Implementations own scratch buffers: one value must not be used by two goroutines at once.
type Conv2D interface {
	// Geom returns the layer's geometry.
	Geom() ConvGeom
	// Forward sets y = conv(x, w) + bias; bias has F entries or is nil.
	Forward(n int, x, w, bias, y []float32)
	// BackwardData sets dx to the gradient with respect to x of Σ y·dy.
	BackwardData(n int, dy, w, dx []float32)
	// BackwardFilter sets dw to the gradient with respect to w of Σ y·dy, summed over the batch.
	BackwardFilter(n int, x, dy, dw []float32)
}

// NewConv2D returns the Conv2D that measured fastest for g, pass by pass (see doc.go): with the
// AVX-512 kernels, WinogradConv on the 3×3 stride-1 layers with many channels (winogradWins),
// Im2colConv for the filter gradient of other small output planes with many channels (C·F ≥ 1024
// and OutH·OutW ≤ 100, where its Sgemm wins by about 1.5×), and DirectConv everywhere else;
// without them, Im2colConv. It panics if g is invalid.
func NewConv2D(g ConvGeom) Conv2D {
	g.mustValidate()
	im := active.Load()
	if im.convTapsOut == nil {
		return NewIm2colConv(g)
	}
	many, plane := g.C*g.F >= 1024, g.OutH()*g.OutW()
	m := &mixedConv{g: g}
	for i, small := range [3]bool{false, false, plane <= 100} {
		switch {
		case im.winoInput != nil && winogradWins(g, i):
			m.use[i] = convWinograd
		case many && small:
			m.use[i] = convIm2col
		}
	}
	switch m.use {
	case [3]convKind{}:
		return NewDirectConv(g)
	case [3]convKind{convWinograd, convWinograd, convWinograd}:
		return NewWinogradConv(g)
	}
	for _, k := range m.use {
		switch {
		case k == convDirect && m.d == nil:
			m.d = NewDirectConv(g)
		case k == convIm2col && m.l == nil:
			m.l = NewIm2colConv(g)
		case k == convWinograd && m.w == nil:
			m.w = NewWinogradConv(g)
		}
	}
	return m
}

// winogradWins reports whether WinogradConv measured faster than DirectConv and Im2colConv for
// pass i (0 forward, 1 backward data, 2 backward filter) of g with the AVX-512 kernels
// (BenchmarkConv, cpu-GFLOP/s medians of three runs on a quiet machine): on the 3×3 stride-1
// layers it supports with at least 16 input and 16 output channels and C·F ≥ 512, every pass
// (1.0–3.5× the faster of the two: CNN1 n=32's 26×26×32→64 1.18×, 1.32×, 1.63×; CNN2 n=32's
// 10×10×64→64 1.36×, 1.34×, 2.0×; CNN1 n=16's 16→32 1.11×, 0.99×, 1.09×). At 16→16 the direct
// convolution wins every pass (by 1.1×), and with fewer channels Winograd loses by more.
func winogradWins(g ConvGeom, i int) bool {
	_ = i // the same rule for every pass
	return WinogradSupports(g) && min(g.C, g.F) >= 16 && g.C*g.F >= 512
}

// convKind names the Conv2D a mixedConv runs a pass on.
type convKind uint8

const (
	convDirect convKind = iota
	convIm2col
	convWinograd
)

// mixedConv runs each pass on DirectConv, Im2colConv or WinogradConv, whichever is faster for it.
type mixedConv struct {
	g   ConvGeom
	d   *DirectConv
	l   *Im2colConv
	w   *WinogradConv
	use [3]convKind // forward, backward data, backward filter
}

func (m *mixedConv) Geom() ConvGeom { return m.g }

func (m *mixedConv) pass(i int) Conv2D {
	switch m.use[i] {
	case convIm2col:
		return m.l
	case convWinograd:
		return m.w
	}
	return m.d
}

func (m *mixedConv) Forward(n int, x, w, bias, y []float32) { m.pass(0).Forward(n, x, w, bias, y) }

func (m *mixedConv) BackwardData(n int, dy, w, dx []float32) {
	m.pass(1).BackwardData(n, dy, w, dx)
}

func (m *mixedConv) BackwardFilter(n int, x, dy, dw []float32) {
	m.pass(2).BackwardFilter(n, x, dy, dw)
}

// pinned returns im, or the active implementation when im is nil.
func pinned(im *impl) *impl {
	if im != nil {
		return im
	}
	return active.Load()
}

func checkLen(s []float32, n int, what string) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels: %s has %d floats, need %d", what, len(s), n))
	}
}

// Im2colConv is the Conv2D that lowers each example to its im2col matrix and calls Sgemm.
type Im2colConv struct {
	g    ConvGeom
	col  []float32 // one example's im2col matrix
	ws   Workspace
	impl *impl // nil: the active implementation (tests pin one)
}

// NewIm2colConv returns an Im2colConv for g; it panics if g is invalid.
func NewIm2colConv(g ConvGeom) *Im2colConv {
	g.mustValidate()
	return &Im2colConv{g: g}
}

// Geom returns the layer's geometry.
func (cv *Im2colConv) Geom() ConvGeom { return cv.g }

// identityCol reports whether the im2col matrix of an example is the example itself (1×1
// kernel, stride 1, no padding), so it need not be built.
func (g ConvGeom) identityCol() bool {
	return g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0
}

func (cv *Im2colConv) colOf(img []float32) []float32 {
	if cv.g.identityCol() {
		return img
	}
	if cv.col == nil {
		cv.col = make([]float32, cv.g.ColRows()*cv.g.ColCols())
	}
	pinned(cv.impl).im2col(cv.g, img, cv.col)
	return cv.col
}

// Forward sets y = conv(x, w) + bias, one Sgemm per example.
func (cv *Im2colConv) Forward(n int, x, w, bias, y []float32) {
	g := cv.g
	in, out, kk, p := g.InSize(), g.OutSize(), g.ColRows(), g.ColCols()
	checkLen(x, n*in, "x")
	checkLen(w, g.FilterSize(), "w")
	checkLen(y, n*out, "y")
	im := pinned(cv.impl)
	for b := 0; b < n; b++ {
		col := cv.colOf(x[b*in : (b+1)*in])
		yb := y[b*out : (b+1)*out]
		sgemm(im, &cv.ws, false, false, g.F, p, kk, 1, w, kk, col, p, 0, yb, p)
		if bias != nil {
			AddBiasNCHW(1, g.F, p, yb, bias)
		}
	}
}

// BackwardData sets dx = col2im(wᵀ·dy) for each example.
func (cv *Im2colConv) BackwardData(n int, dy, w, dx []float32) {
	g := cv.g
	in, out, kk, p := g.InSize(), g.OutSize(), g.ColRows(), g.ColCols()
	checkLen(dy, n*out, "dy")
	checkLen(w, g.FilterSize(), "w")
	checkLen(dx, n*in, "dx")
	im := pinned(cv.impl)
	for b := 0; b < n; b++ {
		dxb := dx[b*in : (b+1)*in]
		if g.identityCol() {
			sgemm(im, &cv.ws, true, false, kk, p, g.F, 1, w, kk, dy[b*out:(b+1)*out], p, 0, dxb, p)
			continue
		}
		if cv.col == nil {
			cv.col = make([]float32, kk*p)
		}
		sgemm(im, &cv.ws, true, false, kk, p, g.F, 1, w, kk, dy[b*out:(b+1)*out], p, 0, cv.col, p)
		im.col2im(g, cv.col, dxb)
	}
}

// BackwardFilter sets dw = Σ_b dy_b·col_bᵀ.
func (cv *Im2colConv) BackwardFilter(n int, x, dy, dw []float32) {
	g := cv.g
	in, out, kk, p := g.InSize(), g.OutSize(), g.ColRows(), g.ColCols()
	checkLen(x, n*in, "x")
	checkLen(dy, n*out, "dy")
	checkLen(dw, g.FilterSize(), "dw")
	if n == 0 {
		clear(dw[:g.FilterSize()])
		return
	}
	im := pinned(cv.impl)
	for b := 0; b < n; b++ {
		col := cv.colOf(x[b*in : (b+1)*in])
		beta := float32(1)
		if b == 0 {
			beta = 0
		}
		sgemm(im, &cv.ws, false, true, g.F, kk, p, 1, dy[b*out:(b+1)*out], p, col, p, beta, dw, kk)
	}
}
