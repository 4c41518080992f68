package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmMicroKernels checks every assembly micro-kernel against sgemmKernelGo on the same
// operands: every tile height, every lane count of the last vector, packed and strided A, with
// and without reading C.
func TestSgemmMicroKernels(t *testing.T) {
	t.Parallel()
	asm := asmImpls()
	if len(asm) < 2 {
		t.Logf("CPU supports only %d assembly implementation(s) of 2 (avx512 needs AVX-512F, avx2 needs AVX2+FMA); the others are not tested", len(asm))
	}
	if len(asm) == 0 {
		t.Skip("no assembly micro-kernels on this CPU or build (purego tag or not amd64)")
	}
	for _, im := range asm {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			for mr := 1; mr <= im.mr; mr++ {
				for nr := 1; nr <= im.nr; nr++ {
					for _, kc := range []int{1, 3, 4, 9} {
						for _, strided := range []bool{false, true} {
							for _, load := range []bool{false, true} {
								checkMicroKernel(t, r, im, mr, nr, kc, strided, load)
							}
						}
					}
				}
			}
		})
	}
}

func checkMicroKernel(t *testing.T, r *rand.Rand, im *impl, mr, nr, kc int, strided, load bool) {
	t.Helper()
	name := fmt.Sprintf("%s %dx%d kc=%d strided=%v load=%v", im.name, mr, nr, kc, strided, load)
	aRow, aK := 1, mr // packed
	if strided {
		aRow, aK = kc+3, 1 // rows of a row-major matrix with lda = kc+3
	}
	a := randFloats(r, (mr-1)*aRow+(kc-1)*aK+1)
	bK := roundUp(nr, im.vec) + 5
	b := randFloats(r, (kc-1)*bK+roundUp(nr, im.vec))
	ldc := nr + 7
	c := randFloats(r, mr*ldc)
	want := append([]float32(nil), c...)
	got := append([]float32(nil), c...)
	alpha, beta := float32(0.75), float32(-1.5)
	sgemmKernelGo(mr, nr, kc, &a[0], 4*aRow, 4*aK, &b[0], 4*bK, &want[0], 4*ldc, alpha, beta, load)
	im.kernel(mr, nr, kc, &a[0], 4*aRow, 4*aK, &b[0], 4*bK, &got[0], 4*ldc, alpha, beta, load)
	for i, g := range got {
		if math.Abs(float64(g-want[i])) > 1e-5*float64(kc+2) {
			t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i/ldc, i%ldc, g, want[i])
		}
	}
}

// TestTranspose checks the packing transpose against plain loops for every block shape.
func TestTranspose(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range asmImpls() {
		if im.transpose != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no assembly transpose on this CPU or build (needs AVX-512F)")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, im := range ims {
		for nrows := 1; nrows <= 16; nrows++ {
			for ncols := 1; ncols <= 16; ncols++ {
				for _, nstore := range []int{nrows, 16} {
					const ss, ds = 19, 21 // strides in floats
					src := randFloats(r, (nrows-1)*ss+ncols)
					dst := randFloats(r, 16*ds)
					want := append([]float32(nil), dst...)
					for c := 0; c < ncols; c++ {
						for l := 0; l < nstore; l++ {
							want[c*ds+l] = 0
							if l < nrows {
								want[c*ds+l] = src[l*ss+c]
							}
						}
					}
					im.transpose(&src[0], 4*ss, &dst[0], 4*ds, nrows, ncols, nstore)
					for i := range dst {
						if dst[i] != want[i] {
							t.Fatalf("%s %dx%d store %d: dst[%d][%d] = %v, want %v", im.name, nrows, ncols, nstore, i/ds, i%ds, dst[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestConvKernels checks the assembly dot-product kernels (the narrow Sgemm's) against the pure-Go
// one for every filter count and tap-group size.
func TestConvKernels(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range asmImpls() {
		if im.convDot != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no assembly convolution kernels on this CPU or build (need AVX-512F)")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, im := range ims {
		for _, n := range []int{64, 192} {
			x := randFloats(r, 3*n+100)
			for nf := 1; nf <= 4; nf++ {
				for nt := 1; nt <= 4; nt++ {
					offs := make([]int32, nt)
					for i := range offs {
						offs[i] = int32(r.IntN(3*n + 100 - n))
					}
					dyStride := n + 16
					dy := randFloats(r, nf*dyStride)
					want := randFloats(r, nf*nt)
					got := append([]float32(nil), want...)
					convDotGo(nf, dy, dyStride, x, offs, n, want, nt)
					im.convDot[nf-1][nt-1](&dy[0], 4*dyStride, &x[0], &offs[0], n/16, &got[0], 4*nt)
					closeTo(t, fmt.Sprintf("%s dot nf=%d nt=%d n=%d", im.name, nf, nt, n), got, want, 1e-5*float64(n))
				}
			}
		}
	}
}

// TestConvDotVecKernels checks every assembly lane-wise filter-gradient tile against the pure-Go
// kernel, on lengths of one block and more, with planes strided apart and accumulating into
// random vectors.
func TestConvDotVecKernels(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range asmImpls() {
		if im.convDotVec != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no assembly convolution kernels on this CPU or build (need AVX-512F)")
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, im := range ims {
		tiles := 0
		for _, n := range []int{0, 5, 16, 48, 63, 640, 676} {
			x := randFloats(r, 3*n+100)
			for nf := 1; nf <= len(im.convDotVec); nf++ {
				for nt := 1; nt <= len(im.convDotVec[nf-1]); nt++ {
					kernel := im.convDotVec[nf-1][nt-1]
					if kernel == nil {
						continue
					}
					tiles++
					offs := make([]int32, nt)
					for i := range offs {
						offs[i] = int32(r.IntN(3*n + 100 - n))
					}
					// NaNs between and after dy's planes: reading past n floats of one would show.
					dyStride := n + 1 + r.IntN(20)
					dy := randFloats(r, nf*dyStride)
					for f := 0; f < nf; f++ {
						for q := n; q < dyStride; q++ {
							dy[f*dyStride+q] = float32(math.NaN())
						}
					}
					outStride := 16*nt + 16*r.IntN(3)
					dwStride := nt + r.IntN(3)
					for mode := 0; mode < 4; mode++ {
						want := randFloats(r, nf*outStride)
						got := append([]float32(nil), want...)
						wantDw := randFloats(r, nf*dwStride)
						gotDw := append([]float32(nil), wantDw...)
						convDotVecGo(nf, dy, dyStride, x, offs, n, want, outStride, wantDw, dwStride, mode)
						kernel(&dy[0], 4*dyStride, &x[0], &offs[0], n/16, &got[0], 4*outStride, n%16, &gotDw[0], 4*dwStride, mode)
						closeTo(t, fmt.Sprintf("%s dotvec nf=%d nt=%d n=%d mode=%d dw", im.name, nf, nt, n, mode), gotDw, wantDw, 1e-5*float64(n+16))
						closeTo(t, fmt.Sprintf("%s dotvec nf=%d nt=%d n=%d mode=%d", im.name, nf, nt, n, mode), got, want, 1e-5*float64(n/16+1))
					}
				}
			}
		}
		if tiles == 0 {
			t.Fatalf("%s: no lane-wise dot-product tile tested", im.name)
		}
	}
}

// TestConvTapsOutKernels checks the assembly tap kernels that store through a table against the
// pure-Go one, with and without a bias, for windows that drop columns on either side, rows above
// and below, and a table that ends inside a block; output positions outside the window must keep
// their NaN.
func TestConvTapsOutKernels(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range asmImpls() {
		if im.convTapsOut != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no assembly convolution kernels on this CPU or build (need AVX-512F)")
	}
	windows := []struct{ gridW, gridH, rowOff, colOff, rows, cols int }{
		{26, 24, 0, 0, 24, 24},
		{28, 26, 0, 0, 26, 26},
		{10, 8, 0, 0, 8, 8},
		{12, 10, 1, 1, 8, 9},
		{5, 7, 2, 0, 3, 5},
		{17, 3, 0, 16, 3, 1},
		{1, 70, 0, 0, 70, 1},
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, im := range ims {
		for _, wd := range windows {
			n := roundUp(wd.gridW*wd.gridH, 16)
			tbl := outTable(n/16, wd.gridW, wd.rowOff, wd.colOff, wd.rows, wd.cols)
			plane := wd.rows * wd.cols
			x := randFloats(r, 3*n+100)
			for nf := 1; nf <= len(im.convTapsOut); nf++ {
				for _, ntaps := range []int{0, 1, 9} {
					for _, withBias := range []bool{false, true} {
						offs := make([]int32, max(1, ntaps))
						for i := range offs {
							offs[i] = int32(r.IntN(2*n + 100))
						}
						w := randFloats(r, nf*max(1, ntaps))
						var bias []float32
						if withBias {
							bias = randFloats(r, nf)
						}
						stride := plane + 3
						want := nanFloats(nf * stride)
						got := nanFloats(nf * stride)
						convTapsOutGo(nf, want, stride, x, offs[:ntaps], w, n/16, tbl, bias)
						var bp *float32
						if withBias {
							bp = &bias[0]
						}
						// Whole blocks of the widest tile, then the rest with the kernel of as many
						// vectors.
						bv := 4
						for im.convTapsOut[nf-1][bv-1] == nil {
							bv--
						}
						if full := n / 16 / bv; full > 0 {
							im.convTapsOut[nf-1][bv-1](&got[0], 4*stride, &x[0], &offs[0], &w[0], ntaps, full, &tbl[0], bp)
						}
						if q, rest := n/16/bv*bv*16, n/16%bv; rest > 0 {
							im.convTapsOut[nf-1][rest-1](&got[0], 4*stride, &x[q], &offs[0], &w[0], ntaps, 1, &tbl[q/8], bp)
						}
						what := fmt.Sprintf("%s tapsOut %v nf=%d ntaps=%d bias=%v", im.name, wd, nf, ntaps, withBias)
						for i := range want {
							inPlane := i%stride < plane
							if math.IsNaN(float64(want[i])) == inPlane || math.IsNaN(float64(got[i])) == inPlane {
								t.Fatalf("%s: y[%d] = %v (Go %v): written iff inside the window", what, i, got[i], want[i])
							}
							if inPlane {
								closeTo(t, fmt.Sprintf("%s y[%d]", what, i), got[i:i+1], want[i:i+1], 1e-5*float64(ntaps+1))
							}
						}
					}
				}
			}
		}
	}
}

// TestSum16 checks the pairwise reduction against a float64 sum.
func TestSum16(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	for range 100 {
		v := randFloats(r, 16)
		var want float64
		for _, x := range v {
			want += float64(x)
		}
		if got := sum16(v); math.Abs(float64(got)-want) > 1e-5 {
			t.Fatalf("sum16(%v) = %v, want %v", v, got, want)
		}
	}
}

// TestCopyRows checks the assembly strided row copy against the pure-Go one, with and without
// a bias, and adding to the destination, for every tail length.
func TestCopyRows(t *testing.T) {
	t.Parallel()
	var ims []*impl
	for _, im := range asmImpls() {
		if im.copyRowsAsm != nil {
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Skip("no assembly row copy on this CPU or build (needs AVX-512F)")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, im := range ims {
		for cols := 1; cols <= 50; cols++ {
			for _, mode := range []struct {
				bias float32
				add  int
			}{{0, 0}, {0.25, 1}, {0, 2}} {
				const rows = 3
				src := randFloats(r, rows*(cols+5))
				want := randFloats(r, rows*(cols+9))
				got := append([]float32(nil), want...)
				genericImpl.rows(want, cols+9, src, cols+5, rows, cols, mode.bias, mode.add)
				im.rows(got, cols+9, src, cols+5, rows, cols, mode.bias, mode.add)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s cols=%d bias=%v add=%d: dst[%d] = %v, want %v", im.name, cols, mode.bias, mode.add, i, got[i], want[i])
					}
				}
			}
		}
	}
}
