package kernels

import (
	"fmt"
	"os"
	"sync/atomic"
)

// Implementation names accepted by UseImpl and by the NNSWEEP_KERNELS environment variable.
const (
	ImplAVX512  = "avx512"  // AVX-512F micro-kernels (14×32 SGEMM tile, direct-convolution kernels)
	ImplAVX2    = "avx2"    // AVX2+FMA micro-kernels (6×16 SGEMM tile); convolutions in pure Go
	ImplGeneric = "generic" // pure Go throughout: the reference and the fallback on any CPU
)

// EnvImpl is the environment variable read once at start: "generic", "avx2" or "avx512" caps the
// implementation (a CPU lacking the named feature set falls back to the best it has); unset, empty
// or "auto" picks the best the CPU supports.
const EnvImpl = "NNSWEEP_KERNELS"

// sgemmKernelFunc is an SGEMM micro-kernel. It computes the mr×nr tile
//
//	C = alpha·Σ_p A(·,p)·B(p,·) + beta·C   (C is read only when load ≠ 0)
//
// for p < kc, where row i of A at step p is at a + i·aRowBytes + p·aKBytes, the B row at step p
// is the nv full vectors at b + p·bKBytes (lanes past nr are read but ignored), and C row i starts
// at c + i·ldcBytes. nlast is the count of valid lanes in the last vector of each C row.
type sgemmKernelFunc func(kc int, a *float32, aRowBytes, aKBytes int, b *float32, bKBytes int, c *float32, ldcBytes int, alpha, beta float32, nlast int, load int)

// convDotFunc forms nf×nt dot products over nblocks blocks of 16 floats and adds them to out:
// out[f·outStride + t] += Σ_q dy[f·dyStride + q]·x[offs[t] + q] for q < 16·nblocks.
type convDotFunc func(dy *float32, dyStrideBytes int, x *float32, offs *int32, nblocks int, out *float32, outStrideBytes int)

// convDotVecFunc forms nf×nt lane-wise dot products over nblocks blocks of 16 floats and tail
// more, and accumulates or reduces them as mode says (see convDotVecGo; strides in bytes).
type convDotVecFunc func(dy *float32, dyStrideBytes int, x *float32, offs *int32, nblocks int, out *float32, outStrideBytes int, tail int, dw *float32, dwStrideBytes int, mode int)

// convTapsOutFunc accumulates ntaps shifted planes for nf output planes, Σ_t w[t·nf+f]·x[offs[t]+q]
// over blocks of 16-float vectors, and stores each vector's valid lanes into the output planes by
// a table, plus an optional bias (see convTapsOutGo; strides in bytes).
type convTapsOutFunc func(y *float32, yStrideBytes int, x *float32, offs *int32, w *float32, ntaps int, nblocks int, tbl *int32, bias *float32)

// impl is one set of micro-kernels with its register tile.
type impl struct {
	name    string
	mr, nr  int // SGEMM register tile: rows of A, columns of B (floats)
	vec     int // lanes per vector; packed B rows are padded to a multiple of vec
	sgemm   [][]sgemmKernelFunc
	convDot [][]convDotFunc
	// convDotVec[nf-1][nt-1] is the lane-wise filter-gradient kernel (see convDotVecGo); nil
	// entries: the tile does not fit the registers; nil table: pure Go.
	convDotVec [][]convDotVecFunc
	// convTapsOut[nf-1][nv-1] is the tap kernel over blocks of nv vectors that stores into the
	// output (see convTapsOutGo).
	convTapsOut [][]convTapsOutFunc
	// transpose writes dst[c][r] = src[r][c] for r < nrows, c < ncols (≤ 16 each), filling
	// nstore lanes of each dst row with zeros past nrows; nil: packing in pure Go.
	transpose func(src *float32, srcStrideBytes int, dst *float32, dstStrideBytes int, nrows, ncols, nstore int)
	// copyRowsAsm copies rows of cols floats between strided matrices, adding bias when add is
	// 1, or adds them to dst when add is 2; nil: pure Go.
	copyRowsAsm func(dst *float32, dstStrideBytes int, src *float32, srcStrideBytes int, rows, cols int, bias float32, add int)
	// Element-wise epilogue kernels (see epilogue.go); nil: pure Go.
	biasAct      func(y *float32, n int, bias float32, relu int)
	addBiasRows  func(y *float32, ldyBytes int, m int, n int, bias *float32, relu int)
	reluBackward func(y *float32, dy *float32, dx *float32, n int)
	sum          func(x *float32, n int) float32
	addColumns   func(dst *float32, x *float32, ldxBytes int, m int, n int)
	// maxPool2x2 is MaxPool2x2 over 16·nvec + tail columns; nil: pure Go.
	maxPool2x2 func(x *float32, w int, out *float32, argmax *int32, outW int, rows int, nvec int, tail int)
	// Optimizer updates over n elements (see optimizer.go); nil: pure Go.
	rmsprop  func(w, g, a *float32, n int, lr, rho, oneMinusRho, eps float32)
	adadelta func(w, g, a, s *float32, n int, lr, rho, oneMinusRho, eps float32)
	adam     func(w, g, m, v *float32, n int, alpha, oneMinusBeta1, oneMinusBeta2, eps float32)
	// Batch-norm passes over strided channel planes (see batchnorm.go); nil: pure Go.
	bnSum       func(x *float32, strideBytes, rows, nvec, mask int) float64
	bnSqDev     func(x *float32, strideBytes, rows, nvec, mask int, mean float64) float64
	bnAffine    func(y, x *float32, strideBytes, rows, nvec, mask int, mean, scale, shift float32)
	bnGradSums  func(x, dy *float32, strideBytes, rows, nvec, mask int, mean, invStd float32) (float64, float64)
	bnInputGrad func(dx, x, dy *float32, strideBytes, rows, nvec, mask int, mean, invStd, k, meanDy, meanDyXhat float32)
	// The same three passes fused with a ReLU after the batch norm.
	bnAffineReLU    func(y, x *float32, strideBytes, rows, nvec, mask int, mean, scale, shift float32)
	bnGradSumsReLU  func(x, dy, y *float32, strideBytes, rows, nvec, mask int, mean, invStd float32) (float64, float64)
	bnInputGradReLU func(dx, x, dy, y *float32, strideBytes, rows, nvec, mask int, mean, invStd, k, meanDy, meanDyXhat float32)
	// In-place depthwise kernels (see depthwise_inplace.go); nil: the gather path or pure Go.
	dwTaps func(y *float32, yRowBytes int, x *float32, xRowBytes int, offs *int32, w *float32, ntaps, rows, nvec, mask int, bias float32, addBias int)
	dwDot  []dwDotFunc
	// dwTapsK[flip][kh-1][kw-1] are dwTaps specialised to kernels of up to dwTapsKMax a side.
	dwTapsK [2][][]dwTapsKFunc
	// reluInto is ReLUInto over n elements (relu.go); nil: pure Go.
	reluInto func(y, x *float32, n int)
	// Winograd F(2×2, 3×3) transforms of one tile row, 16 tiles per step (see winograd.go); nil:
	// pure Go.
	winoInput   func(x *float32, xcsBytes, ldxBytes, rowOff, rowMask, colOff, nch int, v *float32, vcsBytes, vxsBytes int, masks *uint16, nchunks int)
	winoOutput  func(m *float32, mcsBytes, mxsBytes, nf int, y *float32, ycsBytes, ldyBytes, rows int, bias *float32, masks *uint16, nchunks int)
	winoGradOut func(dy *float32, dycsBytes, ldyBytes, rows, nf int, out *float32, ocsBytes, oxsBytes int, masks *uint16, nchunks int)
	// winoInputRows is winoInput over consecutive tile rows of at most 16 tiles.
	winoInputRows func(x *float32, xcsBytes, ldxBytes, rowOff, colOff, nch int, v *float32, vcsBytes, vxsBytes int, masks *uint16, rowMasks *uint8, nty, vRowBytes int)
}

// copyRows sets dst[r·dstStride+j] = src[r·srcStride+j] + bias for r < rows, j < cols
// (strides in floats).
func (im *impl) copyRows(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int, bias float32) {
	add := 0
	if bias != 0 {
		add = 1
	}
	im.rows(dst, dstStride, src, srcStride, rows, cols, bias, add)
}

// addRows adds src[r·srcStride+j] to dst[r·dstStride+j] for r < rows, j < cols.
func (im *impl) addRows(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int) {
	im.rows(dst, dstStride, src, srcStride, rows, cols, 0, 2)
}

// rows is copyRows (add 0 or 1) or addRows (add 2).
func (im *impl) rows(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int, bias float32, add int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+cols-1]
	_ = src[(rows-1)*srcStride+cols-1]
	if im.copyRowsAsm != nil {
		im.copyRowsAsm(&dst[0], 4*dstStride, &src[0], 4*srcStride, rows, cols, bias, add)
		return
	}
	for r := 0; r < rows; r++ {
		d := dst[r*dstStride : r*dstStride+cols]
		s := src[r*srcStride : r*srcStride+cols]
		switch add {
		case 0:
			copy(d, s)
		case 1:
			for j, v := range s {
				d[j] = v + bias
			}
		default:
			for j, v := range s {
				d[j] += v
			}
		}
	}
}

// genericImpl is the pure-Go implementation; its 4×8 tile keeps the loops short.
var genericImpl = &impl{name: ImplGeneric, mr: 4, nr: 8, vec: 1}

// active is the implementation the exported functions use.
var active atomic.Pointer[impl]

func init() {
	im, err := pickImpl(os.Getenv(EnvImpl))
	if err != nil {
		im = bestImpl()
	}
	active.Store(im)
}

// supportedImpls lists the implementations this CPU and build can run, best first; the last is
// always the generic one.
func supportedImpls() []*impl {
	return append(asmImpls(), genericImpl)
}

func bestImpl() *impl { return supportedImpls()[0] }

// pickImpl resolves a name as EnvImpl does.
func pickImpl(name string) (*impl, error) {
	switch name {
	case "", "auto":
		return bestImpl(), nil
	case ImplGeneric:
		return genericImpl, nil
	case ImplAVX2, ImplAVX512:
		all := supportedImpls()
		for i, im := range all {
			if im.name == name {
				return all[i], nil
			}
		}
		// Capped: the best implementation that is no better than the one named.
		for _, im := range all {
			if name == ImplAVX2 && im.name == ImplAVX512 {
				continue
			}
			return im, nil
		}
		return genericImpl, nil
	}
	return nil, fmt.Errorf("kernels: unknown implementation %q; use %q, %q, %q or \"auto\"", name, ImplAVX512, ImplAVX2, ImplGeneric)
}

// Impl returns the name of the implementation in use: "avx512", "avx2" or "generic".
func Impl() string { return active.Load().name }

// UseImpl selects the implementation by name, as EnvImpl does ("auto" for the best), and returns
// the name now in use. It is safe to call concurrently with the kernels: a call already running
// finishes on the implementation it started with.
func UseImpl(name string) (string, error) {
	im, err := pickImpl(name)
	if err != nil {
		return Impl(), err
	}
	active.Store(im)
	return im.name, nil
}
