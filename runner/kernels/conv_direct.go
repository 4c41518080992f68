package kernels

// DirectConv is the Conv2D that convolves directly, vectorised over the output plane: each
// example's padded input is split by stride phase into planes whose rows are wq floats wide (a
// valid stride-1 input is its own phase planes and is read in place), so every tap (c, kh, kw)
// of the kernel is one contiguous shifted copy of a plane, and the output of up to eight filters
// is accumulated in registers over blocks of 16-float vectors of an oh×wq grid; each vector's
// lanes inside the output (the wq-OutW columns past the output width are computed and dropped)
// are stored straight into y, plus the bias. The input gradient is the same computation on the
// stride-dilated, margin-padded output gradient with the kernel flipped, stored straight into
// dx, and the filter gradient is a set of dot products of output-gradient planes with shifted
// input planes, kept as 16 lane sums per weight over the batch and reduced once. It is fastest
// for few channels, where im2col matrices are tall and thin.
type DirectConv struct {
	g      ConvGeom
	oh, ow int

	// Input phase planes: C·StrideH·StrideW planes of hq×wq, and the offset of each tap in them.
	hq, wq int
	xph    []float32
	xOffs  []int32
	lf     int       // output grid length oh·wq, rounded up to a multiple of 16
	dyg    []float32 // output gradient on the output grid, F planes of lf (filter gradient)

	// inPlace says the phase planes are the input planes themselves (stride 1, no padding), so
	// an example whose planes are followed by xReach floats of the batch is read where it lies.
	inPlace bool
	xReach  int // floats the tap kernels read past the start of the phase planes

	// The filter gradient runs tiles of dotNF filters × dotNT taps, accumulating 16 lane sums
	// per weight in dwv (F·C·KH·KW vectors) over the batch; they are reduced once at its end.
	dotNF, dotNT int
	dwv          []float32

	// Width-compact planes (used where StrideW is 1): for each input channel c, stride phase ph
	// of the rows and kernel column kw, a plane of hq rows × OutW holding xpad[r·StrideH+ph][j+kw],
	// so that tap (c, kh, kw) is one contiguous shift of a plane in the output's own layout: the
	// filter gradient then reads dy where it lies and computes no dropped columns.
	compact bool
	xcw     []float32
	cOffs   []int32

	// Dilated output-gradient planes for the input gradient: F planes of hg×wg, and tap offsets.
	hg, wg int
	dym    []float32
	dOffs  []int32
	lb     int // input-gradient grid length (H+PadTop+PadBottom)·wg, rounded up to 16

	impl *impl // nil: the active implementation (tests pin one)

	// Store tables of the tap kernel (see outTable): the output's window of the oh×wq grid
	// (forward) and dx's of the hp×wg one (input gradient).
	fTbl, bTbl []int32
	wt         []float32 // weights of one pass, tap-major
}

// NewDirectConv returns a DirectConv for g with its scratch buffers; it panics if g is invalid.
func NewDirectConv(g ConvGeom) *DirectConv {
	g.mustValidate()
	return newDirectConv(g, g.StrideW == 1 && compactCheaper(g))
}

// compactCheaper reports whether the filter gradient of g (StrideW 1) is cheaper on the
// width-compact planes than on the grid, by a cost model fitted to BenchmarkConv: about 5 cycles
// per row copied (compact fills C·StrideH·KW planes of ⌈padded H/StrideH⌉ rows per example, the
// grid copies F planes of dy, OutH rows each) and half a cycle per 16-float FMA of the dot
// products (over ⌈OutH·OutW/16⌉ vectors on the compact planes, ⌈OutH·W'/16⌉ on the grid, W' the
// padded input width). It picks the faster on every layer of convBenchShapes, measured at batch
// 16 (a training chunk): compact 1.2–1.9× faster on first layers of 8 or more filters and 3–10%
// on CNN1 n=32's and CNN2 n=32's 24×24 layers, the grid 1.1–1.3× faster with as many filters
// as channels up to 16 (12×12×32 → 10×10×64 is a tie).
func compactCheaper(g ConvGeom) bool {
	oh, ow := g.OutH(), g.OutW()
	hq := (g.H + g.PadTop + g.PadBottom + g.StrideH - 1) / g.StrideH
	wp := g.W + g.PadLeft + g.PadRight
	taps := g.ColRows()
	grid := 10*g.F*oh + g.F*taps*((oh*wp+15)/16)
	compact := 10*g.C*g.StrideH*g.KW*hq + g.F*taps*((oh*ow+15)/16)
	return compact < grid
}

// newDirectConv is NewDirectConv with the filter gradient on the width-compact planes or not
// (compact needs StrideW 1).
func newDirectConv(g ConvGeom, compact bool) *DirectConv {
	g.mustValidate()
	d := &DirectConv{g: g, oh: g.OutH(), ow: g.OutW()}
	sh, sw := g.StrideH, g.StrideW
	hp, wp := g.H+g.PadTop+g.PadBottom, g.W+g.PadLeft+g.PadRight
	d.hq, d.wq = (hp+sh-1)/sh, (wp+sw-1)/sw
	d.lf = roundUp(d.oh*d.wq, 16)
	plane := d.hq * d.wq
	maxOff := 0
	for c := 0; c < g.C; c++ {
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				off := ((c*sh+kh%sh)*sw+kw%sw)*plane + (kh/sh)*d.wq + kw/sw
				d.xOffs = append(d.xOffs, int32(off))
				maxOff = max(maxOff, off)
			}
		}
	}
	d.xReach = maxOff + d.lf
	d.inPlace = sh == 1 && sw == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0
	d.xph = alignedFloats(max(g.C*sh*sw*plane, d.xReach))
	d.dotNF, d.dotNT = dotTile(g.F)
	d.compact = compact && sw == 1
	if d.compact {
		cplane := d.hq * d.ow
		maxOff = 0
		for c := 0; c < g.C; c++ {
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					off := ((c*sh+kh%sh)*g.KW+kw)*cplane + (kh/sh)*d.ow
					d.cOffs = append(d.cOffs, int32(off))
					maxOff = max(maxOff, off)
				}
			}
		}
		d.xcw = alignedFloats(max(g.C*sh*g.KW*cplane, maxOff+d.oh*d.ow))
	}
	d.dwv = alignedFloats(16 * g.FilterSize())
	d.dyg = alignedFloats(g.F * d.lf)

	d.hg, d.wg = hp+g.KH-1, wp+g.KW-1
	d.lb = roundUp(hp*d.wg, 16)
	maxOff = 0
	for f := 0; f < g.F; f++ {
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				off := f*d.hg*d.wg + (g.KH-1-kh)*d.wg + (g.KW - 1 - kw)
				d.dOffs = append(d.dOffs, int32(off))
				maxOff = max(maxOff, off)
			}
		}
	}
	d.dym = alignedFloats(max(g.F*d.hg*d.wg, maxOff+d.lb))
	d.fTbl = outTable(d.lf/16, d.wq, 0, 0, d.oh, d.ow)
	d.bTbl = outTable(d.lb/16, d.wg, g.PadTop, g.PadLeft, g.H, g.W)
	d.wt = make([]float32, g.FilterSize())
	return d
}

// Geom returns the layer's geometry.
func (d *DirectConv) Geom() ConvGeom { return d.g }

// dotTile returns the tile of the filter-gradient kernel for f filters: as many filters as fit
// (up to eight) with as many taps as the registers then hold.
func dotTile(f int) (nf, nt int) {
	switch {
	case f >= 8:
		return 8, 3
	case f >= 6:
		return 6, 4
	case f == 5:
		return 5, 5
	}
	return f, 6
}

// phases returns the phase planes of example b of the n in x: x itself where the planes are the
// input planes and the tap kernels' reads stay inside the batch, else the planes filled in d.xph.
func (d *DirectConv) phases(im *impl, n int, x []float32, b int) []float32 {
	in := d.g.InSize()
	if d.inPlace && b*in+d.xReach <= n*in {
		return x[b*in : n*in]
	}
	d.fillPhases(im, x[b*in:(b+1)*in])
	return d.xph
}

// fillCompact writes one example's input into the width-compact planes (see DirectConv.xcw).
// Only positions inside the input are written: the padding stays zero from construction.
func (d *DirectConv) fillCompact(im *impl, img []float32) {
	g := d.g
	sh := g.StrideH
	cplane := d.hq * d.ow
	for c := 0; c < g.C; c++ {
		src := img[c*g.H*g.W : (c+1)*g.H*g.W]
		for ph := 0; ph < sh; ph++ {
			ylo, yhi := validRange(ph-g.PadTop, sh, g.H, d.hq)
			for kw := 0; kw < g.KW; kw++ {
				xlo, xhi := validRange(kw-g.PadLeft, 1, g.W, d.ow)
				if yhi <= ylo || xhi <= xlo {
					continue
				}
				dst := d.xcw[((c*sh+ph)*g.KW+kw)*cplane:][:cplane]
				im.copyRows(dst[ylo*d.ow+xlo:], d.ow, src[(ylo*sh+ph-g.PadTop)*g.W+xlo+kw-g.PadLeft:], sh*g.W, yhi-ylo, xhi-xlo, 0)
			}
		}
	}
}

// fillPhases writes one example's padded input into the phase planes.
func (d *DirectConv) fillPhases(im *impl, img []float32) {
	g := d.g
	sh, sw := g.StrideH, g.StrideW
	plane := d.hq * d.wq
	for c := 0; c < g.C; c++ {
		src := img[c*g.H*g.W : (c+1)*g.H*g.W]
		for ph := 0; ph < sh; ph++ {
			for pw := 0; pw < sw; pw++ {
				dst := d.xph[((c*sh+ph)*sw+pw)*plane:][:plane]
				ylo, yhi := validRange(ph-g.PadTop, sh, g.H, d.hq)
				xlo, xhi := validRange(pw-g.PadLeft, sw, g.W, d.wq)
				off := pw - g.PadLeft
				clear(dst[:ylo*d.wq])
				clear(dst[yhi*d.wq:])
				if sw == 1 {
					if xlo > 0 || xhi < d.wq {
						for i := ylo; i < yhi; i++ {
							clear(dst[i*d.wq : i*d.wq+xlo])
							clear(dst[i*d.wq+xhi : (i+1)*d.wq])
						}
					}
					im.copyRows(dst[ylo*d.wq+xlo:], d.wq, src[(ylo*sh+ph-g.PadTop)*g.W+xlo+off:], sh*g.W, yhi-ylo, xhi-xlo, 0)
					continue
				}
				for i := ylo; i < yhi; i++ {
					row := dst[i*d.wq : (i+1)*d.wq]
					srow := src[(i*sh+ph-g.PadTop)*g.W:][:g.W]
					clear(row[:xlo])
					clear(row[xhi:])
					for j := xlo; j < xhi; j++ {
						row[j] = srow[j*sw+off]
					}
				}
			}
		}
	}
}

// tapGroup returns the output planes per call of the tap kernel (gw) and the vectors of 16
// positions per block (bv) for a pass with nout output planes: up to eight planes over three
// vectors where there are more than four (a tap's three x loads then feed up to 24 FMAs, and x
// is read once per eight planes rather than four; measured 7–16% faster than four over four with
// 8 to 64 planes), else four over four.
func tapGroup(nout int) (gw, bv int) {
	if nout > 4 {
		return 8, 3
	}
	return 4, 4
}

// groupTaps computes nout output planes (plane floats each, contiguous in y) in groups of gw
// whose tap-major weights start at w[o0·len(offs)], over n grid positions (a multiple of 16)
// whose store table is tbl, adding bias (nil or nout entries): each group over every block of bv
// vectors and then over the remaining vectors. (Running every group over one block before the
// next, to keep a large input's block in L1, measured slower with groups of eight: the weights
// of all groups then no longer stay there.)
func groupTaps(im *impl, gw, bv, nout int, y []float32, plane int, x []float32, offs []int32, w []float32, n int, tbl []int32, bias []float32) {
	ntaps := len(offs)
	_ = y[nout*plane-1]
	_ = x[int(slicesMax(offs))+n-1]
	_ = w[nout*ntaps-1]
	_ = tbl[n/8-1]
	if bias != nil {
		_ = bias[nout-1]
	}
	// group runs output planes o0… over nblocks blocks of nv vectors from grid position q.
	group := func(o0, q, nv, nblocks int) {
		nf := min(gw, nout-o0)
		if im.convTapsOut == nil {
			var b []float32
			if bias != nil {
				b = bias[o0:]
			}
			convTapsOutGo(nf, y[o0*plane:], plane, x[q:], offs, w[o0*ntaps:], nv*nblocks, tbl[q/8:], b)
			return
		}
		var bp *float32
		if bias != nil {
			bp = &bias[o0]
		}
		im.convTapsOut[nf-1][nv-1](&y[o0*plane], 4*plane, &x[q], &offs[0], &w[o0*ntaps], ntaps, nblocks, &tbl[q/8], bp)
	}
	nvec := n / 16
	full, rest := nvec/bv, nvec%bv
	for o0 := 0; o0 < nout; o0 += gw {
		if full > 0 {
			group(o0, 0, bv, full)
		}
		if rest > 0 {
			group(o0, 16*bv*full, rest, 1)
		}
	}
}

// Forward sets y = conv(x, w) + bias.
func (d *DirectConv) Forward(n int, x, w, bias, y []float32) {
	g := d.g
	in, out, taps := g.InSize(), g.OutSize(), g.ColRows()
	checkLen(x, n*in, "x")
	checkLen(w, g.FilterSize(), "w")
	checkLen(y, n*out, "y")
	im := pinned(d.impl)
	// Tap-major weights per group of gw filters: wt[f0·taps + t·nf + f] = w[f0+f][t].
	gw, bv := tapGroup(g.F)
	for f0 := 0; f0 < g.F; f0 += gw {
		nf := min(gw, g.F-f0)
		for t := 0; t < taps; t++ {
			for f := 0; f < nf; f++ {
				d.wt[f0*taps+t*nf+f] = w[(f0+f)*taps+t]
			}
		}
	}
	hw := d.oh * d.ow
	if bias != nil {
		bias = bias[:g.F]
	}
	for b := 0; b < n; b++ {
		xb := d.phases(im, n, x, b)
		groupTaps(im, gw, bv, g.F, y[b*out:(b+1)*out], hw, xb, d.xOffs, d.wt, d.lf, d.fTbl, bias)
	}
}

// BackwardData sets dx to the input gradient.
func (d *DirectConv) BackwardData(n int, dy, w, dx []float32) {
	g := d.g
	in, out := g.InSize(), g.OutSize()
	checkLen(dy, n*out, "dy")
	checkLen(w, g.FilterSize(), "w")
	checkLen(dx, n*in, "dx")
	im := pinned(d.impl)
	kk := g.KH * g.KW
	taps := g.F * kk
	// Tap-major weights per group of gw input channels: tap (f, kh, kw), channel c.
	gw, bv := tapGroup(g.C)
	for c0 := 0; c0 < g.C; c0 += gw {
		nc := min(gw, g.C-c0)
		for f := 0; f < g.F; f++ {
			for k := 0; k < kk; k++ {
				for c := 0; c < nc; c++ {
					d.wt[c0*taps+(f*kk+k)*nc+c] = w[(f*g.C+c0+c)*kk+k]
				}
			}
		}
	}
	hw := d.oh * d.ow
	plane := d.hg * d.wg
	for b := 0; b < n; b++ {
		// Dilate dy by the strides into planes with KH-1 zero rows above and KW-1 columns left.
		// Positions never written stay zero, so only a strided dy needs clearing between examples.
		if g.StrideH > 1 || g.StrideW > 1 || b == 0 {
			clear(d.dym[:g.F*plane])
		}
		for f := 0; f < g.F; f++ {
			src := dy[b*out+f*hw:][:hw]
			dst := d.dym[f*plane+(g.KH-1)*d.wg+g.KW-1:]
			if g.StrideW == 1 {
				im.copyRows(dst, g.StrideH*d.wg, src, d.ow, d.oh, d.ow, 0)
				continue
			}
			for i := 0; i < d.oh; i++ {
				row := dst[i*g.StrideH*d.wg:]
				for j, v := range src[i*d.ow : (i+1)*d.ow] {
					row[j*g.StrideW] = v
				}
			}
		}
		groupTaps(im, gw, bv, g.C, dx[b*in:(b+1)*in], g.H*g.W, d.dym, d.dOffs, d.wt, d.lb, d.bTbl, nil)
	}
}

// BackwardFilter sets dw to the filter gradient summed over the batch.
func (d *DirectConv) BackwardFilter(n int, x, dy, dw []float32) {
	g := d.g
	in, out := g.InSize(), g.OutSize()
	checkLen(x, n*in, "x")
	checkLen(dy, n*out, "dy")
	checkLen(dw, g.FilterSize(), "dw")
	dw = dw[:g.FilterSize()]
	im := pinned(d.impl)
	if n == 0 {
		clear(dw)
		return
	}
	hw := d.oh * d.ow
	for b := 0; b < n; b++ {
		// The lane sums accumulate in d.dwv from the first example on; the last reduces them.
		mode := 0
		if b > 0 {
			mode |= dotVecAdd
		}
		if b == n-1 {
			mode |= dotVecReduce
		}
		if d.compact {
			d.fillCompact(im, x[b*in:(b+1)*in])
			d.dotTiles(im, dy[b*out:(b+1)*out], hw, d.xcw, d.cOffs, hw, dw, mode)
			continue
		}
		xb := d.phases(im, n, x, b)
		// dy on the output grid; the columns past OutW and the tail stay zero.
		for f := 0; f < g.F; f++ {
			im.copyRows(d.dyg[f*d.lf:], d.wq, dy[b*out+f*hw:], d.ow, d.oh, d.ow, 0)
		}
		d.dotTiles(im, d.dyg, d.lf, xb, d.xOffs, d.lf, dw, mode)
	}
}

// dotTiles runs the lane-wise dot products of the F planes of dy (dyStride floats apart, n
// floats each) with the taps of x at offs, accumulating into d.dwv or reducing into dw by mode.
func (d *DirectConv) dotTiles(im *impl, dy []float32, dyStride int, x []float32, offs []int32, n int, dw []float32, mode int) {
	g := d.g
	taps := g.ColRows()
	_ = dy[(g.F-1)*dyStride+n-1]
	_ = x[int(slicesMax(offs))+n-1]
	_ = d.dwv[16*g.F*taps-1]
	_ = dw[g.F*taps-1]
	for f0 := 0; f0 < g.F; f0 += d.dotNF {
		nf := min(d.dotNF, g.F-f0)
		for t0 := 0; t0 < taps; t0 += d.dotNT {
			nt := min(d.dotNT, taps-t0)
			to := offs[t0 : t0+nt]
			i := f0*taps + t0
			if im.convDotVec != nil {
				im.convDotVec[nf-1][nt-1](&dy[f0*dyStride], 4*dyStride, &x[0], &to[0], n/16, &d.dwv[16*i], 64*taps, n%16, &dw[i], 4*taps, mode)
				continue
			}
			convDotVecGo(nf, dy[f0*dyStride:], dyStride, x, to, n, d.dwv[16*i:], 16*taps, dw[i:], taps, mode)
		}
	}
}

// slicesMax returns the largest of offs (not empty).
func slicesMax(offs []int32) int32 {
	m := offs[0]
	for _, o := range offs[1:] {
		m = max(m, o)
	}
	return m
}
