package kernels

import (
	"sync"
	"unsafe"
)

// Cache blocking, in floats. A B block of blockK×blockN floats (640 KiB) is packed to stay in the
// L2 cache; one A micro-panel of mr×blockK floats (18 KiB for AVX-512) stays in L1 while the
// micro-kernel sweeps it across the B block. k is cut into equal blocks of at most blockK.
// Measured on Zen 4 (blockK 128…512, blockN 256…1024): 320×512 was best or within noise.
const (
	blockK = 320
	blockN = 512
)

// Workspace holds the packing buffers of Sgemm. The zero value is ready to use; buffers grow on
// the first call and are reused, so calls after the first do not allocate. A Workspace must not be
// used by two goroutines at once; the package-level Sgemm takes one from a sync.Pool per call.
type Workspace struct {
	packA []float32 // one A micro-panel, mr×blockK
	packB []float32 // one B block, blockK×blockN
	small []float32 // narrow-product scratch: αop(B)ᵀ (n×k) or Cᵀ (n×m), n ≤ narrowN
	// offs are the row offsets the narrow product passes to the dot-product kernel; kept here
	// because a local array would escape through the kernel's function value.
	offs [narrowN]int32
}

// smallBuf returns n floats of the narrow-product scratch.
func (w *Workspace) smallBuf(n int) []float32 {
	if len(w.small) < n {
		w.small = alignedFloats(max(n, 4096))
	}
	return w.small[:n]
}

// alignedFloats returns n zeroed floats whose first element is 64-byte aligned.
func alignedFloats(n int) []float32 {
	buf := make([]float32, n+16)
	skip := 0
	if r := uintptr(unsafe.Pointer(&buf[0])) & 63; r != 0 {
		skip = int(64-r) / 4
	}
	return buf[skip : skip+n : skip+n]
}

func (w *Workspace) buffers(im *impl) (packA, packB []float32) {
	if len(w.packA) < im.mr*blockK {
		w.packA = alignedFloats(16 * blockK)
	}
	if len(w.packB) < blockK*blockN {
		w.packB = alignedFloats(blockK * blockN)
	}
	return w.packA, w.packB
}

var workspaces = sync.Pool{New: func() any { return new(Workspace) }}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32 matrices, single-threaded,
// with the semantics of BLAS sgemm: op(A) is m×k, op(B) is k×n and C is m×n; op(X) is Xᵀ when
// the matching trans flag is set, so A is stored m×k (transA false) or k×m (true) with row stride
// lda ≥ its column count, and likewise B (k×n or n×k, ldb) and C (m×n, ldc ≥ n). When beta is 0,
// C is not read (NaNs in it are overwritten); when alpha is 0 or k is 0, A and B are not read.
// Sgemm panics, with a message prefixed "kernels: ", if a dimension is negative, a stride is too
// small or a slice too short. It is safe for concurrent use on disjoint C.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := workspaces.Get().(*Workspace)
	sgemm(active.Load(), w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	workspaces.Put(w)
}

// Sgemm is the package-level Sgemm using the buffers of w instead of a pooled Workspace.
func (w *Workspace) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(active.Load(), w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernels: negative dimension")
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	check := func(rows, cols, ld int, s []float32, what string) {
		if ld < max(1, cols) {
			panic("kernels: " + what + " stride too small")
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic("kernels: " + what + " slice too short")
		}
	}
	check(m, n, ldc, c, "C")
	if m == 0 || n == 0 {
		return
	}
	check(aRows, aCols, lda, a, "A")
	check(bRows, bCols, ldb, b, "B")
}

// scaleC sets C = beta·C (C = 0 without reading it when beta is 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// sgemm is Sgemm on implementation im with workspace w.
func sgemm(im *impl, w *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if n <= narrowN && im.convDot != nil {
		// The k%16 tail of each dot product is summed in Go: worth it only when it is short.
		if !transA && k >= 16 && (k%16 == 0 || k >= 64) {
			sgemmNarrowDot(im, w, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		if transA && m >= 2*im.nr {
			sgemmNarrowSwap(im, w, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
	}
	bufA, bufB := w.buffers(im)
	mr, nr, vec := im.mr, im.nr, im.vec
	colTiles := (n + nr - 1) / nr
	// Pack B unless it is read in place: B not transposed, the full vectors of the last column
	// panel stay inside the slice, and B is narrow or reused by few row tiles.
	packB := transB || (k-1)*ldb+roundUp(n, vec) > len(b) || (ldb > 2*nr && m > 4*mr)
	// Read A in place (rows strided by lda when A is not transposed, by one float when it is)
	// unless many column tiles reuse a micro-panel whose in-place layout would thrash L1.
	packA := false
	if colTiles > 2 {
		kcMax := kcOf(k, (k+blockK-1)/blockK, 0)
		if transA {
			packA = l1Conflicts(lda, kcMax, mr) > l1Ways/2
		} else {
			packA = l1Conflicts(lda, mr, kcMax) > l1Ways/2
		}
	}
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		// k is cut into equal blocks of at most blockK, so no block is a short remainder.
		kBlocks := (k + blockK - 1) / blockK
		for pc, kb := 0, 0; pc < k; pc, kb = pc+kcOf(k, kBlocks, kb), kb+1 {
			kc := kcOf(k, kBlocks, kb)
			betaK, load := beta, beta != 0
			if pc > 0 {
				betaK, load = 1, true
			}
			if packB {
				im.packBBlock(transB, b, ldb, pc, kc, jc, nc, nr, vec, bufB)
			}
			for ir := 0; ir < m; ir += mr {
				mrr := min(mr, m-ir)
				var ap *float32
				var aRow, aK int
				switch {
				case packA:
					im.packAPanel(transA, a, lda, ir, mrr, pc, kc, bufA)
					ap, aRow, aK = &bufA[0], 1, mrr
				case transA:
					ap, aRow, aK = &a[pc*lda+ir], 1, lda
				default:
					ap, aRow, aK = &a[ir*lda+pc], lda, 1
				}
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					var bp *float32
					var bK int
					if packB {
						bp, bK = &bufB[jr*kc], roundUp(nrr, vec)
					} else {
						bp, bK = &b[pc*ldb+jc+jr], ldb
					}
					im.kernel(mrr, nrr, kc, ap, 4*aRow, 4*aK, bp, 4*bK, &c[ir*ldc+jc+jr], 4*ldc, alpha, betaK, load)
				}
			}
		}
	}
}

// kcOf is the length of block kb when k is cut into kBlocks nearly equal blocks.
func kcOf(k, kBlocks, kb int) int { return (k*(kb+1))/kBlocks - (k*kb)/kBlocks }

// Level-1 data cache geometry assumed by l1Conflicts (Zen 4, and most x86 cores: 32 KiB, 8-way).
const (
	l1Sets = 64
	l1Ways = 8
)

// l1Conflicts returns the most cache lines that map to one L1 set when count segments of
// length floats each start ld floats apart: how badly an in-place micro-panel aliases.
func l1Conflicts(ld, count, length int) int {
	var sets [l1Sets]int
	worst := 0
	for i := 0; i < count; i++ {
		start := (i * ld * 4) / 64
		end := (i*ld*4 + length*4 - 1) / 64
		for line := start; line <= end && line < start+l1Sets; line++ {
			s := &sets[line%l1Sets]
			*s++
			worst = max(worst, *s)
		}
	}
	return worst
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// kernel runs the micro-kernel for an mr×nr tile (strides in bytes).
func (im *impl) kernel(mr, nr, kc int, a *float32, aRowBytes, aKBytes int, b *float32, bKBytes int, c *float32, ldcBytes int, alpha, beta float32, load bool) {
	if im.sgemm == nil {
		sgemmKernelGo(mr, nr, kc, a, aRowBytes, aKBytes, b, bKBytes, c, ldcBytes, alpha, beta, load)
		return
	}
	nv := (nr + im.vec - 1) / im.vec
	l := 0
	if load {
		l = 1
	}
	im.sgemm[mr-1][nv-1](kc, a, aRowBytes, aKBytes, b, bKBytes, c, ldcBytes, alpha, beta, nr-(nv-1)*im.vec, l)
}

// packAPanel copies op(A)[ir:ir+mr, pc:pc+kc] into dst step by step: dst[p·mr+i] = op(A)(ir+i, pc+p).
func (im *impl) packAPanel(transA bool, a []float32, lda, ir, mr, pc, kc int, dst []float32) {
	dst = dst[:mr*kc]
	if !transA && im.transpose != nil {
		_ = a[(ir+mr-1)*lda+pc+kc-1]
		for p0 := 0; p0 < kc; p0 += 16 {
			im.transpose(&a[ir*lda+pc+p0], 4*lda, &dst[p0*mr], 4*mr, mr, min(16, kc-p0), mr)
		}
		return
	}
	if transA {
		for p := 0; p < kc; p++ {
			copy(dst[p*mr:p*mr+mr], a[(pc+p)*lda+ir:])
		}
		return
	}
	for i := 0; i < mr; i++ {
		row := a[(ir+i)*lda+pc : (ir+i)*lda+pc+kc]
		d := dst[i:]
		for p, v := range row {
			d[p*mr] = v
		}
	}
}

// packBBlock copies op(B)[pc:pc+kc, jc:jc+nc] into column panels of nr: panel j starts at
// j·nr·kc and holds kc rows of roundUp(width, vec) floats, zero-padded past the panel's width.
func (im *impl) packBBlock(transB bool, b []float32, ldb, pc, kc, jc, nc, nr, vec int, dst []float32) {
	for j0 := 0; j0 < nc; j0 += nr {
		w := min(nr, nc-j0)
		stride := roundUp(w, vec)
		panel := dst[j0*kc : j0*kc+stride*kc]
		if transB && im.transpose != nil {
			_ = b[(jc+j0+w-1)*ldb+pc+kc-1]
			for h := 0; 16*h < w; h++ {
				rows, lanes := min(16, w-16*h), min(16, stride-16*h)
				for p0 := 0; p0 < kc; p0 += 16 {
					im.transpose(&b[(jc+j0+16*h)*ldb+pc+p0], 4*ldb, &panel[p0*stride+16*h], 4*stride, rows, min(16, kc-p0), lanes)
				}
			}
			continue
		}
		if transB {
			if stride != w {
				clear(panel)
			}
			for j := 0; j < w; j++ {
				col := b[(jc+j0+j)*ldb+pc : (jc+j0+j)*ldb+pc+kc]
				d := panel[j:]
				for p, v := range col {
					d[p*stride] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			row := panel[p*stride : p*stride+stride]
			copy(row, b[(pc+p)*ldb+jc+j0:(pc+p)*ldb+jc+j0+w])
			clear(row[w:])
		}
	}
}

// narrowN is the widest op(B) that takes the narrow paths: a register tile 16 or 32 floats wide
// would waste most of its lanes there, and such products (an MLP layer of width 1…4 at batch
// 128) are common in the sweeps.
const narrowN = 4

// sgemmNarrowDot computes C = alpha·A·op(B) + beta·C for n ≤ narrowN and A not transposed as
// m·n dot products along k, vectorised over k: rows of A are contiguous there, and the n columns
// of alpha·op(B) are packed as rows. Uses the dot-product kernels of the direct convolution.
func sgemmNarrowDot(im *impl, w *Workspace, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	bt := w.smallBuf(n * k)
	for j := 0; j < n; j++ {
		row := bt[j*k : (j+1)*k]
		if transB {
			src := b[j*ldb : j*ldb+k]
			for p, v := range src {
				row[p] = alpha * v
			}
			continue
		}
		for p := range row {
			row[p] = alpha * b[p*ldb+j]
		}
	}
	scaleC(m, n, beta, c, ldc)
	offs := &w.offs
	for j := range n {
		offs[j] = int32(j * k)
	}
	k16 := k &^ 15
	for i0 := 0; i0 < m; i0 += 4 {
		rows := min(4, m-i0)
		_ = a[(i0+rows-1)*lda+k-1]
		_ = c[(i0+rows-1)*ldc+n-1]
		im.convDot[rows-1][n-1](&a[i0*lda], 4*lda, &bt[0], &offs[0], k16/16, &c[i0*ldc], 4*ldc)
		if k16 == k {
			continue
		}
		for i := i0; i < i0+rows; i++ {
			for j := 0; j < n; j++ {
				var s float32
				for p := k16; p < k; p++ {
					s += a[i*lda+p] * bt[j*k+p]
				}
				c[i*ldc+j] += s
			}
		}
	}
}

// sgemmNarrowSwap computes C = alpha·Aᵀ·op(B) + beta·C for n ≤ narrowN through its transpose
// Cᵀ = op(B)ᵀ·A, whose rows are the m-long rows of the stored A (so the register tile is full),
// into scratch, then adds Cᵀ transposed into C.
func sgemmNarrowSwap(im *impl, w *Workspace, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ct := w.smallBuf(n * m)
	sgemm(im, w, !transB, false, n, m, k, alpha, b, ldb, a, lda, 0, ct, m)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			if beta == 0 {
				row[j] = ct[j*m+i]
			} else {
				row[j] = ct[j*m+i] + beta*row[j]
			}
		}
	}
}
