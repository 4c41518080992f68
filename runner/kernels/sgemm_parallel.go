package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ParallelMinFlops is the smallest product, in floating-point operations (2·m·n·k), that
// SgemmParallel offers to split across goroutines: about 30 µs on one core, under which packing
// each chunk's panels and the offer cost about what a second core gains (at 2e6 an MLP's 128³
// products split and trained no faster; at 5e6 MLP n=32's 128×784×32 splits, and one such
// training alone runs 25% faster, two side by side as fast as before). Smaller products run on
// the calling goroutine. It is a variable so that the integrator can tune it; set it before any
// concurrent use.
var ParallelMinFlops = 5e6

// gemmCall is one SgemmParallel call, cut into chunks of whole register tiles (rows when op(A)
// is taller than op(B) is wide, columns otherwise); each chunk is an independent Sgemm on its
// block of C, so the result does not depend on who ran which chunk. The calling goroutine and the
// helpers that join take chunks from one counter, as kernels.Pass does: when every other core is
// busy and no helper comes, the caller runs every chunk itself instead of waiting.
//
// Calls are pooled, and an offer (helpOffer) may wait among the helpers' offers after its call
// has ended, so each use of a gemmCall has a generation: state holds generation<<16 | helpers<<1 |
// closed. A helper joins by adding to helpers while the generation is its offer's and the call is
// open; the caller closes the call once no chunk is left, and waits for the helpers that joined.
type gemmCall struct {
	im             *impl
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	splitRows      bool
	tiles, chunks  int

	next  atomic.Int32
	state atomic.Uint64
	done  chan struct{} // one value from each helper that joined, once it has no chunk left
}

const (
	gemmClosed   = 1
	gemmHelper   = 1 << 1
	gemmGenShift = 16
)

var gemmCalls = sync.Pool{New: func() any { return new(gemmCall) }}

// help runs chunks of the use gen of c on a helper, unless c has moved on to another use or is
// closed.
func (c *gemmCall) help(gen uint64) {
	if c.join(gen) {
		c.work()
		c.done <- struct{}{}
	}
}

// join adds a helper to the use gen of c, unless c has moved on to another use or is closed.
func (c *gemmCall) join(gen uint64) bool {
	for {
		s := c.state.Load()
		if s>>gemmGenShift != gen || s&gemmClosed != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+gemmHelper) {
			return true
		}
	}
}

// work runs chunks of c until none is left.
func (c *gemmCall) work() {
	w := workspaces.Get().(*Workspace)
	for {
		i := int(c.next.Add(1)) - 1
		if i >= c.chunks {
			break
		}
		c.chunk(w, i)
	}
	workspaces.Put(w)
}

// chunk runs chunk i of c: Sgemm on its block of whole tiles of C.
func (c *gemmCall) chunk(w *Workspace, i int) {
	lo, hi := i*c.tiles/c.chunks, (i+1)*c.tiles/c.chunks
	m, n, a, b, out := c.m, c.n, c.a, c.b, c.c
	if c.splitRows {
		r0, r1 := lo*c.im.mr, min(c.m, hi*c.im.mr)
		m, out = r1-r0, c.c[r0*c.ldc:]
		if c.transA {
			a = c.a[r0:]
		} else {
			a = c.a[r0*c.lda:]
		}
	} else {
		c0, c1 := lo*c.im.nr, min(c.n, hi*c.im.nr)
		n, out = c1-c0, c.c[c0:]
		if c.transB {
			b = c.b[c0*c.ldb:]
		} else {
			b = c.b[c0:]
		}
	}
	sgemm(c.im, w, c.transA, c.transB, m, n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, out, c.ldc)
}

// gemmChunksPerThread is how many chunks a split call has per goroutine that may run it. Each
// chunk packs the shared operand again, so more chunks cost more than they balance: at 4 a 2048³
// product on two threads ran at 250 GFLOP/s against 311 at 1 (bench/run; BenchmarkSgemm). At 1
// the caller still runs the helper's chunk itself when the helper has not joined by then.
const gemmChunksPerThread = 1

// SgemmParallel is Sgemm split across up to runtime.GOMAXPROCS(0) goroutines when the product
// has at least ParallelMinFlops operations (see gemmCall): the calling goroutine and the helpers
// that join in time share its chunks. Results are bitwise equal to Sgemm's. Smaller products run
// on the calling goroutine. It does not allocate after warm-up.
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
	threads := min(runtime.GOMAXPROCS(0), tiles, helperCount()+1)
	if threads < 2 {
		w := workspaces.Get().(*Workspace)
		sgemm(im, w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		workspaces.Put(w)
		return
	}
	call := gemmCalls.Get().(*gemmCall)
	if call.done == nil {
		call.done = make(chan struct{}, helperCount())
	}
	gen := call.state.Load()>>gemmGenShift + 1
	call.im, call.transA, call.transB, call.m, call.n, call.k = im, transA, transB, m, n, k
	call.alpha, call.beta, call.a, call.b, call.c, call.lda, call.ldb, call.ldc = alpha, beta, a, b, c, lda, ldb, ldc
	call.splitRows, call.tiles, call.chunks = splitRows, tiles, min(tiles, gemmChunksPerThread*threads)
	call.next.Store(0)
	call.state.Store(gen << gemmGenShift)
	for range threads - 1 {
		offerHelp(helpOffer{gemm: call, gen: gen}) // unless every helper is behind: the caller takes their chunks
	}
	call.work()
	helpers := 0
	for {
		s := call.state.Load()
		if call.state.CompareAndSwap(s, s|gemmClosed) {
			helpers = int(s&(1<<gemmGenShift-1)) >> 1
			break
		}
	}
	for range helpers {
		receiveSpinning(call.done)
	}
	call.a, call.b, call.c = nil, nil, nil // drop references to the caller's slices
	gemmCalls.Put(call)
}
