package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmParallelMatchesSgemm checks that splitting across goroutines gives bitwise the same C
// as the single-threaded Sgemm, on shapes split by rows and by columns.
func TestSgemmParallelMatchesSgemm(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []sgemmCase{
		{false, false, 300, 70, 200, 1, 0, 0},
		{true, false, 50, 900, 120, 0.5, 1, 2},
		{false, true, 129, 513, 64, -2, 0.5, 1},
		{true, true, 200, 200, 100, 1, 0, 0},
		{false, false, 2, 2, 2, 1, 0, 0},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			aRows, aCols := tc.m, tc.k
			if tc.transA {
				aRows, aCols = tc.k, tc.m
			}
			bRows, bCols := tc.k, tc.n
			if tc.transB {
				bRows, bCols = tc.n, tc.k
			}
			lda, ldb, ldc := aCols+tc.pad, bCols+tc.pad, tc.n+tc.pad
			a, b := randFloats(r, aRows*lda), randFloats(r, bRows*ldb)
			c := randFloats(r, tc.m*ldc)
			want := append([]float32(nil), c...)
			Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			old := ParallelMinFlops
			defer func() { ParallelMinFlops = old }()
			ParallelMinFlops = 0
			got := append([]float32(nil), c...)
			SgemmParallel(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("C[%d] = %v, Sgemm gives %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestNoAllocations checks that warmed-up calls do not allocate.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	r := rand.New(rand.NewPCG(1, 3))
	a, b, c := randFloats(r, 128*784), randFloats(r, 784*64), randFloats(r, 128*64)
	g := ConvGeom{C: 2, H: 12, W: 12, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1}
	x, w, y := randFloats(r, 4*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, 4*g.OutSize())
	dx, dw := make([]float32, len(x)), make([]float32, len(w))
	direct, lowered, wino := NewDirectConv(g), NewIm2colConv(g), NewWinogradConv(g)
	for name, f := range map[string]func(){
		"Sgemm":         func() { Sgemm(false, false, 128, 64, 784, 1, a, 784, b, 64, 0, c, 64) },
		"SgemmParallel": func() { SgemmParallel(false, false, 128, 64, 784, 1, a, 784, b, 64, 0, c, 64) },
		"DirectConv": func() {
			direct.Forward(4, x, w, nil, y)
			direct.BackwardData(4, y, w, dx)
			direct.BackwardFilter(4, x, y, dw)
		},
		"Im2colConv": func() {
			lowered.Forward(4, x, w, nil, y)
			lowered.BackwardData(4, y, w, dx)
			lowered.BackwardFilter(4, x, y, dw)
		},
		"WinogradConv": func() {
			wino.Forward(4, x, w, nil, y)
			wino.BackwardData(4, y, w, dx)
			wino.BackwardFilter(4, x, y, dw)
		},
	} {
		f()
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s allocates %v times per call after warm-up", name, n)
		}
	}
}
