package kernels

import (
	"bytes"
	"unsafe"
)

// Winograd F(2×2, 3×3). A 4×4 input tile d (stride 2) and a 3×3 filter g give the 2×2 output
// tile of their correlation as
//
//	Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
//	     ⎡1  0  0⎤        ⎡1  0 −1  0⎤
//	G  = ⎢½  ½  ½⎥   Bᵀ = ⎢0  1  1  0⎥   Aᵀ = ⎡1  1  1  0⎤
//	     ⎢½ −½  ½⎥        ⎢0 −1  1  0⎥        ⎣0  1 −1 −1⎦
//	     ⎣0  0  1⎦        ⎣0  1  0 −1⎦
//
// so that, with U = G g Gᵀ and V = Bᵀ d B computed once per filter and per tile, each of the 16
// positions ξ of the 4×4 transformed tile is a matrix product over channels,
// M[ξ] (F×tiles) = U[ξ] (F×C) · V[ξ] (C×tiles), and 16 multiplies per tile and channel pair
// replace the direct convolution's 36. The filter gradient follows from the same identity: with
// the output-gradient tile transformed as A dy Aᵀ, dU[ξ] = Σ_tiles (A dy Aᵀ)[ξ] · V[ξ] and
// dg = Gᵀ dU G.

// winoPlaneBlock is the number of planes a transform runs over every tile row of a chunk
// before the next planes, so that the transformed rows it reads or writes (16 per plane) stay
// in L1 from one tile row to the next.
const winoPlaneBlock = 4

// winoChunkFloats bounds the transformed tiles of one chunk of tile rows (input and output, 16
// positions each) so that they stay in L2 between the transforms and the products: 1 MiB.
const winoChunkFloats = 256 << 10

// winoPlan is the tiling of one Winograd pass: the stride-1 3×3 correlation of cin planes of
// h×w, padded by pt rows above and pl columns to the left (and enough below and to the right
// to make oh×ow outputs), into cout planes of oh×ow, computed in th×tw tiles of 2×2 outputs.
type winoPlan struct {
	cin, cout, h, w int
	pt, pl          int
	oh, ow, th, tw  int
	rows            int // tile rows per chunk; a chunk's rows may span images
	// inMasks holds, per chunk of 16 tiles along a tile row, the lanes of the input transform's
	// four row loads that lie inside the plane and the lanes of its stores (tiles): 5 masks.
	inMasks []uint16
	// outMasks holds, per chunk, the tile lanes and the lanes of the two vectors of 16 output
	// columns that lie inside the plane: 3 masks (for the output and output-gradient transforms).
	outMasks []uint16
	// rowMasks holds rowMask(ty) for every tile row.
	rowMasks []uint8
}

// newWinoPlan tiles the correlation of cin planes of h×w into cout planes of oh×ow with the
// padding pt (top) and pl (left).
func newWinoPlan(cin, cout, h, w, pt, pl, oh, ow int) winoPlan {
	p := winoPlan{cin: cin, cout: cout, h: h, w: w, pt: pt, pl: pl, oh: oh, ow: ow, th: (oh + 1) / 2, tw: (ow + 1) / 2}
	p.rows = max(1, winoChunkFloats/(16*(cin+cout)*p.tw))
	mask := func(lo, n int) uint16 { // lanes l < 16 with 0 ≤ lo+l < n
		var m uint16
		for l := 0; l < 16; l++ {
			if lo+l >= 0 && lo+l < n {
				m |= 1 << l
			}
		}
		return m
	}
	for ty := 0; ty < p.th; ty++ {
		p.rowMasks = append(p.rowMasks, uint8(p.rowMask(ty)))
	}
	for t0 := 0; t0 < p.tw; t0 += 16 {
		c := 2*t0 - pl
		p.inMasks = append(p.inMasks, mask(c, w), mask(c+16, w), mask(c+2, w), mask(c+18, w), mask(t0, p.tw))
		p.outMasks = append(p.outMasks, mask(t0, p.tw), mask(2*t0, ow), mask(2*t0+16, ow))
	}
	return p
}

// winoTileStride is the distance in floats between the rows of two positions ξ of one channel
// when a chunk has t tiles. The transformed tiles of a chunk are laid out channel by channel,
// each channel's 16 positions one after the other (v[c·16·ts + ξ·ts + tile]), so that a
// transform step touches one contiguous region of 16·ts floats, and the product of position ξ
// reads its C×t matrix with rows 16·ts floats apart. ts is t rounded up to 16·odd, so that the
// 16 rows a step reads or writes at the same tile fall into 16 different sets of the L1 cache.
func winoTileStride(t int) int {
	s := roundUp(t, 16)
	if s/16%2 == 0 {
		s += 16
	}
	return s
}

// tiles is the number of tiles of one image.
func (p *winoPlan) tiles() int { return p.th * p.tw }

// chunks is the number of chunks of 16 tiles along a tile row.
func (p *winoPlan) chunks() int { return (p.tw + 15) / 16 }

// rowMask returns the input rows 2·ty−pt+r (r < 4) of tile row ty that lie inside the plane, as
// bits.
func (p *winoPlan) rowMask(ty int) int {
	m := 0
	for r := 0; r < 4; r++ {
		if row := 2*ty - p.pt + r; row >= 0 && row < p.h {
			m |= 1 << r
		}
	}
	return m
}

// winoInputTiles writes V = Bᵀ d B of tile row ty of nc planes x (nc×h×w): the tile (ty, tx)
// of plane c at position ξ goes to v[ξ·vxs + c·vcs + tx]. Input positions outside the plane
// count as zero.
func (im *impl) winoInputTiles(p *winoPlan, x []float32, nc, ty int, v []float32, vcs, vxs int) {
	_ = x[nc*p.h*p.w-1]
	_ = v[15*vxs+(nc-1)*vcs+p.tw-1]
	if im.winoInput != nil {
		im.winoInput(&x[0], 4*p.h*p.w, 4*p.w, 2*ty-p.pt, p.rowMask(ty), -p.pl, nc, &v[0], 4*vcs, 4*vxs, &p.inMasks[0], p.chunks())
		return
	}
	var d [4][4]float32
	for c := 0; c < nc; c++ {
		plane := x[c*p.h*p.w : (c+1)*p.h*p.w]
		for tx := 0; tx < p.tw; tx++ {
			for r := 0; r < 4; r++ {
				row := 2*ty - p.pt + r
				for s := 0; s < 4; s++ {
					col := 2*tx - p.pl + s
					d[r][s] = 0
					if row >= 0 && row < p.h && col >= 0 && col < p.w {
						d[r][s] = plane[row*p.w+col]
					}
				}
			}
			var e [4][4]float32 // d·B, row by row
			for r := 0; r < 4; r++ {
				e[r] = [4]float32{d[r][0] - d[r][2], d[r][1] + d[r][2], d[r][2] - d[r][1], d[r][1] - d[r][3]}
			}
			for j := 0; j < 4; j++ {
				o := v[c*vcs+tx:]
				o[(0+j)*vxs] = e[0][j] - e[2][j]
				o[(4+j)*vxs] = e[1][j] + e[2][j]
				o[(8+j)*vxs] = e[2][j] - e[1][j]
				o[(12+j)*vxs] = e[1][j] - e[3][j]
			}
		}
	}
}

// winoInputTileRows is winoInputTiles over the nty tile rows ty0… of one image, the tiles of tile
// row ty0+k starting k·tw floats after those of ty0. Rows of at most 16 tiles run in one call,
// which transforms the two input rows adjacent tile rows share once.
func (im *impl) winoInputTileRows(p *winoPlan, x []float32, nc, ty0, nty int, v []float32, vcs, vxs int) {
	if im.winoInputRows == nil || p.chunks() != 1 {
		for k := 0; k < nty; k++ {
			im.winoInputTiles(p, x, nc, ty0+k, v[k*p.tw:], vcs, vxs)
		}
		return
	}
	_ = x[nc*p.h*p.w-1]
	_ = v[15*vxs+(nc-1)*vcs+(nty-1)*p.tw+p.tw-1]
	_ = p.rowMasks[ty0+nty-1]
	im.winoInputRows(&x[0], 4*p.h*p.w, 4*p.w, 2*ty0-p.pt, -p.pl, nc, &v[0], 4*vcs, 4*vxs, &p.inMasks[0], &p.rowMasks[ty0], nty, 4*p.tw)
}

// winoOutputTiles writes Y = Aᵀ M A + bias of tile row ty of nf output planes y (nf×oh×ow), M[ξ]
// of plane f and tile tx being m[ξ·mxs + f·mcs + tx]; outputs past the plane's edge are
// dropped. bias has nf entries.
func (im *impl) winoOutputTiles(p *winoPlan, m []float32, mcs, mxs int, y []float32, nf, ty int, bias []float32) {
	_ = m[15*mxs+(nf-1)*mcs+p.tw-1]
	_ = y[nf*p.oh*p.ow-1]
	_ = bias[nf-1]
	rows := min(2, p.oh-2*ty)
	if im.winoOutput != nil {
		im.winoOutput(&m[0], 4*mcs, 4*mxs, nf, &y[2*ty*p.ow], 4*p.oh*p.ow, 4*p.ow, rows, &bias[0], &p.outMasks[0], p.chunks())
		return
	}
	for f := 0; f < nf; f++ {
		plane := y[f*p.oh*p.ow : (f+1)*p.oh*p.ow]
		for tx := 0; tx < p.tw; tx++ {
			var s [2][4]float32 // Aᵀ·M
			for j := 0; j < 4; j++ {
				mj := func(i int) float32 { return m[(4*i+j)*mxs+f*mcs+tx] }
				s[0][j] = mj(0) + mj(1) + mj(2)
				s[1][j] = mj(1) - mj(2) - mj(3)
			}
			for a := 0; a < rows; a++ {
				o := [2]float32{s[a][0] + s[a][1] + s[a][2], s[a][1] - s[a][2] - s[a][3]}
				for b := 0; b < 2 && 2*tx+b < p.ow; b++ {
					plane[(2*ty+a)*p.ow+2*tx+b] = o[b] + bias[f]
				}
			}
		}
	}
}

// winoGradTiles writes A dy Aᵀ of tile row ty of nf output-gradient planes dy (nf×oh×ow): the
// tile (ty, tx) of plane f at position ξ goes to out[ξ·oxs + f·ocs + tx]; positions past the
// plane's edge count as zero.
func (im *impl) winoGradTiles(p *winoPlan, dy []float32, nf, ty int, out []float32, ocs, oxs int) {
	_ = dy[nf*p.oh*p.ow-1]
	_ = out[15*oxs+(nf-1)*ocs+p.tw-1]
	rows := min(2, p.oh-2*ty)
	if im.winoGradOut != nil {
		im.winoGradOut(&dy[2*ty*p.ow], 4*p.oh*p.ow, 4*p.ow, rows, nf, &out[0], 4*ocs, 4*oxs, &p.outMasks[0], p.chunks())
		return
	}
	for f := 0; f < nf; f++ {
		plane := dy[f*p.oh*p.ow : (f+1)*p.oh*p.ow]
		for tx := 0; tx < p.tw; tx++ {
			var g [2][2]float32
			for a := 0; a < rows; a++ {
				for b := 0; b < 2 && 2*tx+b < p.ow; b++ {
					g[a][b] = plane[(2*ty+a)*p.ow+2*tx+b]
				}
			}
			r := [4][2]float32{g[0], {g[0][0] + g[1][0], g[0][1] + g[1][1]}, {g[0][0] - g[1][0], g[0][1] - g[1][1]}, {-g[1][0], -g[1][1]}}
			o := out[f*ocs+tx:]
			for i := 0; i < 4; i++ {
				o[(4*i+0)*oxs] = r[i][0]
				o[(4*i+1)*oxs] = r[i][0] + r[i][1]
				o[(4*i+2)*oxs] = r[i][0] - r[i][1]
				o[(4*i+3)*oxs] = -r[i][1]
			}
		}
	}
}

// winoFilter writes U = G g Gᵀ of every filter of w (F×C×3×3) to u, 16 matrices of rows×cols:
// u[ξ·F·C + f·C + c] when flip is false (rows F, cols C), and, when flip is true, the transform
// of the 180°-rotated filter at u[ξ·C·F + c·F + f] (the filters of the input gradient).
func winoFilter(w []float32, nf, nc int, flip bool, u []float32) {
	_ = w[nf*nc*9-1]
	_ = u[16*nf*nc-1]
	for f := 0; f < nf; f++ {
		for c := 0; c < nc; c++ {
			var g [3][3]float32
			src := w[(f*nc+c)*9 : (f*nc+c)*9+9]
			at := f*nc + c
			for kh := 0; kh < 3; kh++ {
				for kw := 0; kw < 3; kw++ {
					if flip {
						g[2-kh][2-kw] = src[kh*3+kw]
					} else {
						g[kh][kw] = src[kh*3+kw]
					}
				}
			}
			if flip {
				at = c*nf + f
			}
			var t [4][3]float32 // G·g
			for j := 0; j < 3; j++ {
				t[0][j] = g[0][j]
				t[1][j] = 0.5 * (g[0][j] + g[1][j] + g[2][j])
				t[2][j] = 0.5 * (g[0][j] - g[1][j] + g[2][j])
				t[3][j] = g[2][j]
			}
			for i := 0; i < 4; i++ {
				row := [4]float32{t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]), 0.5 * (t[i][0] - t[i][1] + t[i][2]), t[i][2]}
				for j := 0; j < 4; j++ {
					u[(4*i+j)*nf*nc+at] = row[j]
				}
			}
		}
	}
}

// winoFilters is a transform of the filters together with the filters it was made from. A pass
// is run in chunks of the batch, each a call with the same weights until the optimizer's next
// step, so the filters are transformed once per step instead of once per chunk; the transform
// depends only on the filters' bits, so reusing it changes no result.
type winoFilters struct {
	u     []float32 // 16 transformed filter matrices
	from  []float32 // the filters u was made from (F×C×3×3)
	valid bool      // u holds the transform of from
}

func newWinoFilters(nf, nc int) winoFilters {
	return winoFilters{u: alignedFloats(16 * nf * nc), from: make([]float32, 9*nf*nc)}
}

// of returns the transform of the filters w (winoFilter with flip), made again only when w's
// bits differ from the last call's.
func (c *winoFilters) of(w []float32, nf, nc int, flip bool) []float32 {
	w = w[:9*nf*nc]
	if c.valid && bytes.Equal(floatBytes(w), floatBytes(c.from)) {
		return c.u
	}
	winoFilter(w, nf, nc, flip, c.u)
	copy(c.from, w)
	c.valid = true
	return c.u
}

// floatBytes is the memory of x as bytes.
func floatBytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// winoFilterGrad sets dw (F×C×3×3) to Gᵀ dU G, dU being 16 matrices F×C (du[ξ·F·C + f·C + c]).
func winoFilterGrad(du []float32, nf, nc int, dw []float32) {
	_ = du[16*nf*nc-1]
	_ = dw[nf*nc*9-1]
	for k := 0; k < nf*nc; k++ {
		var x [4][4]float32
		for xi := 0; xi < 16; xi++ {
			x[xi/4][xi%4] = du[xi*nf*nc+k]
		}
		var t [3][4]float32 // Gᵀ·X
		for j := 0; j < 4; j++ {
			t[0][j] = x[0][j] + 0.5*(x[1][j]+x[2][j])
			t[1][j] = 0.5 * (x[1][j] - x[2][j])
			t[2][j] = 0.5*(x[1][j]+x[2][j]) + x[3][j]
		}
		o := dw[k*9 : k*9+9]
		for i := 0; i < 3; i++ {
			o[i*3+0] = t[i][0] + 0.5*(t[i][1]+t[i][2])
			o[i*3+1] = 0.5 * (t[i][1] - t[i][2])
			o[i*3+2] = 0.5*(t[i][1]+t[i][2]) + t[i][3]
		}
	}
}

// WinogradConv is the Conv2D that computes 3×3 stride-1 convolutions with Winograd's
// F(2×2, 3×3) algorithm (see the comment at the top of winograd.go): the batch's tile rows are
// processed in chunks whose transformed tiles stay in L2, the input and output transforms run
// 16 tiles at a time in zmm registers, and the 16 products per chunk go through Sgemm. The input gradient is
// the same algorithm applied to the output gradient, padded by 2 minus the layer's padding, with
// the filters rotated by 180° and their channels swapped; the filter gradient sums the products
// of transformed output-gradient and input tiles over the batch. Its rounding differs from the
// direct convolution's: the transforms add and subtract up to 9 inputs (or outputs) before and
// after the products, so errors grow with the inputs' magnitude rather than with each
// product's.
type WinogradConv struct {
	g        ConvGeom
	fwd, bwd winoPlan
	u, uT    winoFilters // transformed filters: 16 × F×C (forward), 16 × C×F (input gradient)
	du       []float32   // filter gradient in the transformed domain, 16 × F×C
	v, m     []float32   // transformed tiles of one chunk: inputs and outputs
	zeros    []float32   // a zero bias of max(C, F) entries
	ws       Workspace
	impl     *impl // nil: the active implementation (tests pin one)
}

// WinogradSupports reports whether WinogradConv can run g: a 3×3 kernel, stride 1 and padding
// of at most 2 on every side.
func WinogradSupports(g ConvGeom) bool {
	return g.Validate() == nil && g.KH == 3 && g.KW == 3 && g.StrideH == 1 && g.StrideW == 1 &&
		max(g.PadTop, g.PadBottom, g.PadLeft, g.PadRight) <= 2
}

// NewWinogradConv returns a WinogradConv for g with its scratch buffers; it panics unless
// WinogradSupports(g).
func NewWinogradConv(g ConvGeom) *WinogradConv {
	g.mustValidate()
	if !WinogradSupports(g) {
		panic("kernels: Winograd convolution needs a 3×3 kernel, stride 1 and padding of at most 2")
	}
	cv := &WinogradConv{g: g}
	oh, ow := g.OutH(), g.OutW()
	cv.fwd = newWinoPlan(g.C, g.F, g.H, g.W, g.PadTop, g.PadLeft, oh, ow)
	cv.bwd = newWinoPlan(g.F, g.C, oh, ow, 2-g.PadTop, 2-g.PadLeft, g.H, g.W)
	size := func(p *winoPlan) (int, int) {
		t := p.rows * p.tw
		return 16 * p.cin * winoTileStride(t), 16 * p.cout * winoTileStride(t)
	}
	fv, fm := size(&cv.fwd)
	bv, bm := size(&cv.bwd)
	cv.v = alignedFloats(max(fv, bv))
	cv.m = alignedFloats(max(fm, bm))
	cv.u, cv.uT = newWinoFilters(g.F, g.C), newWinoFilters(g.F, g.C)
	cv.du = alignedFloats(16 * g.C * g.F)
	cv.zeros = make([]float32, max(g.C, g.F))
	return cv
}

// Geom returns the layer's geometry.
func (cv *WinogradConv) Geom() ConvGeom { return cv.g }

// run computes the pass of plan p over n images x into y with the transformed filters u
// (16 × cout×cin) and bias (cout entries), p.rows tile rows (of the n·th in the batch) at a
// time.
func (cv *WinogradConv) run(p *winoPlan, n int, x, u, bias, y []float32) {
	im := pinned(cv.impl)
	out := p.cout * p.oh * p.ow
	for r0 := 0; r0 < n*p.th; r0 += p.rows {
		r1 := min(r0+p.rows, n*p.th)
		t := (r1 - r0) * p.tw
		ts := winoTileStride(t)
		cv.inputRows(im, p, x, r0, r1, ts)
		for xi := 0; xi < 16; xi++ {
			sgemm(im, &cv.ws, false, false, p.cout, t, p.cin, 1, u[xi*p.cout*p.cin:], p.cin, cv.v[xi*ts:], 16*ts, 0, cv.m[xi*ts:], 16*ts)
		}
		for f := 0; f < p.cout; f += winoPlaneBlock {
			nf := min(winoPlaneBlock, p.cout-f)
			for r := r0; r < r1; r++ {
				im.winoOutputTiles(p, cv.m[f*16*ts+(r-r0)*p.tw:], 16*ts, ts, y[r/p.th*out+f*p.oh*p.ow:], nf, r%p.th, bias[f:])
			}
		}
	}
}

// inputRows transforms the tile rows r0…r1-1 of the batch x (counted over all images) into
// cv.v, whose tiles are ts floats per position and channel, winoPlaneBlock planes at a time,
// image by image.
func (cv *WinogradConv) inputRows(im *impl, p *winoPlan, x []float32, r0, r1, ts int) {
	in := p.cin * p.h * p.w
	for c := 0; c < p.cin; c += winoPlaneBlock {
		nc := min(winoPlaneBlock, p.cin-c)
		for r := r0; r < r1; {
			ty := r % p.th
			k := min(r1-r, p.th-ty)
			im.winoInputTileRows(p, x[r/p.th*in+c*p.h*p.w:], nc, ty, k, cv.v[c*16*ts+(r-r0)*p.tw:], 16*ts, ts)
			r += k
		}
	}
}

// Forward sets y = conv(x, w) + bias.
func (cv *WinogradConv) Forward(n int, x, w, bias, y []float32) {
	g := cv.g
	checkLen(x, n*g.InSize(), "x")
	checkLen(w, g.FilterSize(), "w")
	checkLen(y, n*g.OutSize(), "y")
	if bias == nil {
		bias = cv.zeros
	}
	checkLen(bias, g.F, "bias")
	cv.run(&cv.fwd, n, x, cv.u.of(w, g.F, g.C, false), bias, y)
}

// BackwardData sets dx to the correlation of dy, padded by 2 minus the layer's padding, with the
// rotated filters.
func (cv *WinogradConv) BackwardData(n int, dy, w, dx []float32) {
	g := cv.g
	checkLen(dy, n*g.OutSize(), "dy")
	checkLen(w, g.FilterSize(), "w")
	checkLen(dx, n*g.InSize(), "dx")
	cv.run(&cv.bwd, n, dy, cv.uT.of(w, g.F, g.C, true), cv.zeros, dx)
}

// BackwardFilter sets dw = Gᵀ (Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ x B)) G, the products summed over the
// batch through Sgemm.
func (cv *WinogradConv) BackwardFilter(n int, x, dy, dw []float32) {
	g := cv.g
	checkLen(x, n*g.InSize(), "x")
	checkLen(dy, n*g.OutSize(), "dy")
	checkLen(dw, g.FilterSize(), "dw")
	if n == 0 {
		clear(dw[:g.FilterSize()])
		return
	}
	im := pinned(cv.impl)
	p := &cv.fwd
	out := g.OutSize()
	for r0 := 0; r0 < n*p.th; r0 += p.rows {
		r1 := min(r0+p.rows, n*p.th)
		t := (r1 - r0) * p.tw
		ts := winoTileStride(t)
		cv.inputRows(im, p, x, r0, r1, ts)
		for f := 0; f < p.cout; f += winoPlaneBlock {
			nf := min(winoPlaneBlock, p.cout-f)
			for r := r0; r < r1; r++ {
				im.winoGradTiles(p, dy[r/p.th*out+f*p.oh*p.ow:], nf, r%p.th, cv.m[f*16*ts+(r-r0)*p.tw:], 16*ts, ts)
			}
		}
		beta := float32(1)
		if r0 == 0 {
			beta = 0
		}
		for xi := 0; xi < 16; xi++ {
			sgemm(im, &cv.ws, false, true, g.F, g.C, t, 1, cv.m[xi*ts:], 16*ts, cv.v[xi*ts:], 16*ts, beta, cv.du[xi*g.F*g.C:], g.C)
		}
	}
	winoFilterGrad(cv.du, g.F, g.C, dw)
}
