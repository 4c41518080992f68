package kernels

import (
	"runtime"
	"sync"
	"time"
)

// The helpers: goroutines that take a share of a split pass (Pass) or of a parallel Sgemm
// (SgemmParallel) when a core is free. There is one set of them for both, one per core beyond the
// first, living for the life of the process and taking offers from one channel. An offer that
// finds the channel full is not made: whoever offered runs the work itself, and so it does when no
// helper joins in time, so an offer never makes its caller wait for a core that is busy.
//
// Waiting for a helper without a wake-up.
//
// A goroutine blocked on a channel is woken by the sender, and when its thread is asleep that
// takes a futex wake: about 115 µs median on the 2-vCPU KVM machines this is built on, against
// under 1 µs for a goroutine polling the channel (BenchmarkHandoff measures both), which is more
// than a split pass of a small layer gains. So the helpers, after their last work, keep polling
// their channel for spinWindow before they block, and a caller waiting for a helper's last chunk
// polls too: the passes of a training step come every few hundred microseconds, and a helper that
// is still polling joins the next one within a microsecond. The poll yields the core
// (runtime.Gosched) every spinYieldEvery tries, so another training or the garbage collector on
// the same core runs as it would; a helper with nothing to do for spinWindow blocks, and an idle
// process spins at most that long.

// spinWindow is how long receiveSpinning polls before it blocks: longer than the gaps between
// the split passes of a training step (a step of the smallest CNNs runs a split pass every
// 100–500 µs), short enough that a helper stops spinning soon after a training ends.
const spinWindow = 2 * time.Millisecond

// spinYieldEvery is how many polls receiveSpinning makes between two looks at the clock, each
// followed by a yield of the core.
const spinYieldEvery = 32

// helpOffer is work offered to the helpers: a split pass, or the use gen of a parallel Sgemm
// call (see gemmCall); exactly one of pass and gemm is set.
type helpOffer struct {
	pass *Pass
	gemm *gemmCall
	gen  uint64
}

var helpers struct {
	once   sync.Once
	offers chan helpOffer
	count  int
}

// helperCount is how many helpers there are: one per core beyond the first (at least one).
func helperCount() int {
	helpers.once.Do(func() {
		helpers.count = max(1, max(runtime.NumCPU(), runtime.GOMAXPROCS(0))-1)
		helpers.offers = make(chan helpOffer, 16)
		for range helpers.count {
			go helper()
		}
	})
	return helpers.count
}

// offerHelp offers o to the helpers, unless every one of them is behind (the channel is full).
func offerHelp(o helpOffer) {
	helperCount()
	select {
	case helpers.offers <- o:
	default:
	}
}

// helper takes offers until the process ends, joining each that is still open.
func helper() {
	for {
		o, _ := receiveSpinning(helpers.offers)
		if o.pass != nil {
			o.pass.help()
		} else {
			o.gemm.help(o.gen)
		}
	}
}

// receiveSpinning receives from ch as `v, ok := <-ch` does, polling for up to spinWindow first.
func receiveSpinning[T any](ch <-chan T) (T, bool) {
	start := time.Time{}
	for i := 0; ; i++ {
		select {
		case v, ok := <-ch:
			return v, ok
		default:
		}
		if i%spinYieldEvery != spinYieldEvery-1 {
			continue
		}
		if start.IsZero() {
			start = time.Now()
		} else if time.Since(start) > spinWindow {
			break
		}
		runtime.Gosched()
	}
	v, ok := <-ch
	return v, ok
}
