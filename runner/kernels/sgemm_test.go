package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveSgemm is the reference: a triple loop accumulating in float64.
func naiveSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if alpha == 0 {
				s = 0
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(r)
		}
	}
}

func randFloats(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// sgemmCase is one Sgemm call; pad is added to every leading dimension.
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int
}

func (tc sgemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s_%dx%dx%d_a%g_b%g_pad%d", t(tc.transA), t(tc.transB), tc.m, tc.k, tc.n, tc.alpha, tc.beta, tc.pad)
}

// checkSgemmCase runs tc on im and on the reference and compares C, including the padding
// columns of C, which must be untouched.
func checkSgemmCase(t *testing.T, im *impl, w *Workspace, tc sgemmCase, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	aRows, aCols := tc.m, tc.k
	if tc.transA {
		aRows, aCols = tc.k, tc.m
	}
	bRows, bCols := tc.k, tc.n
	if tc.transB {
		bRows, bCols = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, aCols)+tc.pad, max(1, bCols)+tc.pad, max(1, tc.n)+tc.pad
	// Slices are exactly as long as BLAS requires, so any over-read past them faults or panics.
	size := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	a := randFloats(r, size(aRows, aCols, lda))
	b := randFloats(r, size(bRows, bCols, ldb))
	c := randFloats(r, size(tc.m, tc.n, ldc))
	if tc.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := append([]float32(nil), c...)
	naiveSgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	got := append([]float32(nil), c...)
	sgemm(im, w, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	// Each product is within 2⁻²⁴ relative error and each of the k additions adds at most one
	// more rounding of a partial sum bounded by the sum of |products| ≤ k (entries are in [-1, 1]).
	tol := 1e-6 * float64(tc.k+4) * math.Max(1, math.Abs(float64(tc.alpha)))
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			g, w := got[i*ldc+j], want[i*ldc+j]
			if j >= tc.n {
				if math.Float32bits(g) != math.Float32bits(c[i*ldc+j]) {
					t.Fatalf("%v on %s: C[%d][%d] outside the n columns changed: %v, was %v", tc, im.name, i, j, g, c[i*ldc+j])
				}
				continue
			}
			if math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol {
				t.Fatalf("%v on %s: C[%d][%d] = %v, want %v (tol %.2g)", tc, im.name, i, j, g, w, tol)
			}
		}
	}
}

// sgemmShapes returns the shapes the exhaustive tests run: every tail up to the largest tile + 1,
// primes, k=1, degenerate sizes and several cache blocks.
func sgemmShapes() [][3]int {
	shapes := [][3]int{
		{1, 1, 1}, {7, 13, 29}, {13, 29, 7}, {29, 7, 13}, {1, 33, 1}, {33, 1, 1}, {1, 1, 300},
		{0, 5, 5}, {5, 0, 5}, {5, 5, 0}, {17, 65, 1}, {15, 33, 257}, {29, 70, 513}, {30, 1030, 5},
		{128, 10, 64}, {2, 2, 9}, {40, 2, 9}, {3, 100, 3},
	}
	for mn := 1; mn <= 17; mn++ {
		shapes = append(shapes, [3]int{mn, 34 - mn, 3}, [3]int{mn, mn + 16, 5})
	}
	for n := 1; n <= 33; n++ {
		shapes = append(shapes, [3]int{15, n, 4})
	}
	return shapes
}

func TestSgemmAgainstNaive(t *testing.T) {
	t.Parallel()
	for _, im := range supportedImpls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			w := new(Workspace)
			seed := uint64(0)
			for _, s := range sgemmShapes() {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						for _, pad := range []int{0, 3} {
							seed++
							ab := [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.5}, {1, -2}, {0, 0.5}, {0, 0}}[seed%6]
							checkSgemmCase(t, im, w, sgemmCase{ta, tb, s[0], s[1], s[2], ab[0], ab[1], pad}, seed)
						}
					}
				}
			}
		})
	}
}

func TestSgemmAlphaBeta(t *testing.T) {
	t.Parallel()
	vals := []float32{0, 1, 0.5, -2}
	for _, im := range supportedImpls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			w := new(Workspace)
			seed := uint64(1000)
			for _, alpha := range vals {
				for _, beta := range vals {
					for _, s := range [][3]int{{20, 37, 300}, {3, 5, 2}, {16, 32, 8}} {
						for _, ta := range []bool{false, true} {
							for _, tb := range []bool{false, true} {
								seed++
								checkSgemmCase(t, im, w, sgemmCase{ta, tb, s[0], s[1], s[2], alpha, beta, 1}, seed)
							}
						}
					}
				}
			}
		})
	}
}

// TestSgemmPaths covers the shapes that switch between packed and in-place operands and the
// narrow (n ≤ narrowN) dot-product and transposed paths.
func TestSgemmPaths(t *testing.T) {
	t.Parallel()
	for _, im := range supportedImpls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			w := new(Workspace)
			seed := uint64(5000)
			shapes := [][3]int{{100, 200, 40}, {64, 600, 30}, {200, 64, 20}, {70, 90, 270}, {9, 530, 17}}
			for n := 1; n <= narrowN+1; n++ {
				for _, mk := range [][2]int{{1, 16}, {5, 17}, {4, 33}, {70, 300}, {64, 15}, {130, 64}} {
					shapes = append(shapes, [3]int{mk[0], n, mk[1]})
				}
			}
			for _, s := range shapes {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						for _, pad := range []int{0, 5} {
							seed++
							checkSgemmCase(t, im, w, sgemmCase{ta, tb, s[0], s[1], s[2], 1.5, 0.5, pad}, seed)
						}
					}
				}
			}
		})
	}
}

func TestSgemmPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, "kernels: negative dimension"},
		{"lda", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}, "kernels: A stride too small"},
		{"short B", func() {
			Sgemm(false, true, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 3), 2, 0, make([]float32, 4), 2)
		}, "kernels: B slice too short"},
		{"short C", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}, "kernels: C slice too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("panic %v, want %q", r, tc.want)
				}
			}()
			tc.call()
		})
	}
}
