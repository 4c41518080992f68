package kernels

import (
	"runtime"
	"sync"
)

// ParallelMinFlops is the smallest product, in floating-point operations (2·m·n·k), that
// SgemmParallel splits across goroutines; smaller ones run on the calling goroutine, where they
// finish before a second core could be woken. It is a variable so that the integrator can tune it;
// set it before any concurrent use.
var ParallelMinFlops = 2e7

// gemmPart is one share of a parallel Sgemm: an independent Sgemm on a block of rows or columns.
type gemmPart struct {
	im             *impl
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	done           chan struct{}
}

func (p *gemmPart) run() {
	w := workspaces.Get().(*Workspace)
	sgemm(p.im, w, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
	workspaces.Put(w)
}

var (
	startWorkers sync.Once
	gemmParts    chan *gemmPart
	numWorkers   int
)

// worker runs parts sent by SgemmParallel; workers live for the life of the process.
func worker() {
	for {
		p, ok := receiveSpinning(gemmParts)
		if !ok {
			return
		}
		p.run()
		p.done <- struct{}{}
	}
}

// parallelJob is the reusable state of one SgemmParallel call.
type parallelJob struct {
	done  chan struct{} // one value from each helper's part when it is done
	parts []gemmPart
}

var jobs = sync.Pool{New: func() any { return new(parallelJob) }}

// SgemmParallel is Sgemm split across up to runtime.GOMAXPROCS(0) goroutines when the product
// has at least ParallelMinFlops operations: C is cut into blocks of whole register tiles, rows
// when op(A) is taller than op(B) is wide, columns otherwise, and each block is an independent
// Sgemm (the shared operand is packed by each). Results are bitwise equal to Sgemm's. Smaller
// products run on the calling goroutine. It does not allocate after warm-up.
func SgemmParallel(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	im := active.Load()
	if alpha == 0 || 2*float64(m)*float64(n)*float64(k) < ParallelMinFlops {
		w := workspaces.Get().(*Workspace)
		sgemm(im, w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		workspaces.Put(w)
		return
	}
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	rowTiles, colTiles := (m+im.mr-1)/im.mr, (n+im.nr-1)/im.nr
	splitRows := rowTiles >= colTiles
	tiles := colTiles
	if splitRows {
		tiles = rowTiles
	}
	startWorkers.Do(func() {
		numWorkers = max(runtime.NumCPU(), runtime.GOMAXPROCS(0)) - 1
		gemmParts = make(chan *gemmPart, numWorkers)
		for range numWorkers {
			go worker()
		}
	})
	threads := min(runtime.GOMAXPROCS(0), tiles, numWorkers+1)
	if threads < 2 {
		w := workspaces.Get().(*Workspace)
		sgemm(im, w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		workspaces.Put(w)
		return
	}
	job := jobs.Get().(*parallelJob)
	if cap(job.parts) < threads {
		job.parts = make([]gemmPart, threads)
		job.done = make(chan struct{}, threads)
	}
	parts := job.parts[:threads]
	for t := range parts {
		lo, hi := t*tiles/threads, (t+1)*tiles/threads
		p := gemmPart{im: im, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
			a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, done: job.done}
		if splitRows {
			r0, r1 := lo*im.mr, min(m, hi*im.mr)
			p.m = r1 - r0
			p.c = c[r0*ldc:]
			if transA {
				p.a = a[r0:]
			} else {
				p.a = a[r0*lda:]
			}
		} else {
			c0, c1 := lo*im.nr, min(n, hi*im.nr)
			p.n = c1 - c0
			p.c = c[c0:]
			if transB {
				p.b = b[c0*ldb:]
			} else {
				p.b = b[c0:]
			}
		}
		parts[t] = p
	}
	for t := 1; t < threads; t++ {
		gemmParts <- &parts[t]
	}
	parts[0].run()
	for range threads - 1 {
		receiveSpinning(job.done)
	}
	clear(parts) // drop references to the caller's slices
	jobs.Put(job)
}
