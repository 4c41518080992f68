package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
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

// TestSgemmParallelConcurrentCalls makes more concurrent SgemmParallel calls than there are cores,
// so that helpers come late or not at all, offers outlive their calls and pooled calls are reused,
// and checks every result bitwise against Sgemm.
func TestSgemmParallelConcurrentCalls(t *testing.T) {
	type product struct {
		transA, transB bool
		m, n, k        int
	}
	products := []product{{false, false, 160, 250, 300}, {true, false, 300, 96, 400}, {false, true, 64, 700, 260}}
	r := rand.New(rand.NewPCG(5, 6))
	type operands struct{ a, b, want []float32 }
	ops := make([]operands, len(products))
	for i, p := range products {
		if 2*float64(p.m)*float64(p.n)*float64(p.k) < ParallelMinFlops {
			t.Fatalf("product %d is too small to be split", i)
		}
		ops[i] = operands{a: randFloats(r, p.m*p.k), b: randFloats(r, p.k*p.n), want: make([]float32, p.m*p.n)}
		lda, ldb := p.k, p.n
		if p.transA {
			lda = p.m
		}
		if p.transB {
			ldb = p.k
		}
		Sgemm(p.transA, p.transB, p.m, p.n, p.k, 1, ops[i].a, lda, ops[i].b, ldb, 0, ops[i].want, p.n)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 3 * runtime.NumCPU() {
		wg.Go(func() {
			for call := range 20 {
				i := (g + call) % len(products)
				p := products[i]
				lda, ldb := p.k, p.n
				if p.transA {
					lda = p.m
				}
				if p.transB {
					ldb = p.k
				}
				got := make([]float32, p.m*p.n)
				SgemmParallel(p.transA, p.transB, p.m, p.n, p.k, 1, ops[i].a, lda, ops[i].b, ldb, 0, got, p.n)
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(ops[i].want[j]) {
						errs <- fmt.Sprintf("goroutine %d call %d, product %d: C[%d] = %v, Sgemm gives %v", g, call, i, j, got[j], ops[i].want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A helper joins only the use of a call its offer names, and only while it is open.
func TestGemmCallJoin(t *testing.T) {
	var c gemmCall
	c.state.Store(3 << gemmGenShift)
	if c.join(2) {
		t.Error("an offer of the call's previous use joined")
	}
	if !c.join(3) || !c.join(3) {
		t.Fatal("two offers of the current use did not both join")
	}
	if s := c.state.Load(); s != 3<<gemmGenShift|2*gemmHelper {
		t.Fatalf("state %#x after two joins, want generation 3 with 2 helpers", s)
	}
	c.state.Store(c.state.Load() | gemmClosed)
	if c.join(3) {
		t.Error("an offer joined the closed call")
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
