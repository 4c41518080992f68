package kernels

import (
	"slices"
	"sync/atomic"
	"time"
)

// Running one pass of an op (a convolution, pooling, an element-wise pass of the fused ops, the
// optimizer's update) on both cores.
//
// A split call cuts its work into a fixed number of chunks (of consecutive examples, planes or
// elements). The calling goroutine offers the call to a helper goroutine and starts taking
// chunks, one at a time, from a shared counter; a helper that takes the offer takes chunks from
// the same counter, and the call ends when every chunk is done. Each of the two goroutines runs
// its chunks on its own scratch (a slot: for a convolution, its own Conv2D), and every chunk
// writes its own part of the output or its own partial sum, added in chunk order at the end. So
// every result bit is the same whichever goroutine ran which chunk, whether a helper came at all,
// and however many cores there are: the chunks depend only on the size of the work.
//
// Chunks rather than two halves because the machine may be shared: when the other core is busy,
// the caller simply takes more chunks instead of waiting for a half that has not started, or that
// started and stalled; it waits at most for the one chunk the helper is running.
//
// Whether a call is split is measured, not assumed: with the other core idle a split pass takes
// about half the time, with it busy the helper joins late or runs slowly and a split pass can be
// slower than a whole one (BenchmarkConvSplit measures both). So each Pass times
// its calls, keeps the last few times of each mode (whole on the caller, or split), runs in the
// mode whose median is lower, and tries the other one now and then (every splitProbeEvery calls,
// less often while it stays clearly slower). A pass eligible for splitting always computes in the
// same chunks, split or not, so the mode never changes a result.
//
// The helpers are the package's (helpers.go), shared with SgemmParallel; an offer that finds
// them all behind is not made (the caller may then run every chunk itself). A helper keeps
// polling for offers for a while after its last chunk, and the caller polls for the helper's last
// chunk, so that neither waits for a sleeping thread to wake.
// Nothing is allocated per call: an offer is a pointer to the op's own Pass.

// Pass runs an op's passes in chunks on the calling goroutine and, when measured faster, a
// helper goroutine (see above). Its zero value is not usable; make one with NewPass.
type Pass struct {
	// run runs chunk (of chunks) of the op's current call on the scratch of slot (0: the caller,
	// 1: a helper); it is set once, when the op is made.
	run func(chunk, chunks, slot int)
	// chunks is the number of chunks of a split call.
	chunks int
	// next is the next chunk to take.
	next atomic.Int32
	// joined is set by whichever comes first of a helper joining the call and the caller, done
	// with every chunk, closing it to helpers.
	joined atomic.Bool
	// done receives one value for each call a helper joined, once the helper has no chunk left.
	done chan struct{}
	// Mode forces every call whole (PassWhole) or split (PassSplit); PassAuto measures.
	Mode PassMode
	// calls counts the eligible calls; times holds the last PassSamples times of calls run
	// whole [0] and split [1], runs how many calls ran each way.
	calls int
	times [2][PassSamples]time.Duration
	runs  [2]int
	// nextProbe is the call that runs in the slower mode; probeGap the calls between probes;
	// fasterSplit which mode was the faster at the last call.
	nextProbe, probeGap int
	fasterSplit         bool
}

// PassMode says how an op eligible for splitting runs its calls.
type PassMode uint8

const (
	PassAuto  PassMode = iota // the faster of whole and split, as measured
	PassWhole                 // every chunk on the calling goroutine
	PassSplit                 // chunks offered to a helper
)

// splitProbeEvery is how often (in calls) an op runs in its slower mode, to notice when that
// mode has become the faster (the other core got busy or idle). While the slower mode stays
// clearly slower (by splitProbeMargin) the gap doubles after each probe, up to splitProbeMaxGap:
// a probe of a pass that runs 1.9× slower whole costs 6% of its calls at a gap of 16 and under
// 1% at 128. When the modes are close, or the faster one changes, the gap is back to 16.
const (
	splitProbeEvery  = 16
	splitProbeMaxGap = 128
	splitProbeMargin = 1.25
)

// PassSamples is how many recent times of each mode an op keeps; it compares their medians, so
// one slow call (the op's first, which makes its buffers, or a preempted one) is ignored.
const PassSamples = 3

// PassChunks is the number of chunks of a split call: enough that the caller can take over most
// of the work of a late or stalled helper, few enough that each chunk is several examples.
const PassChunks = 8

// NewPass returns the task of an op that runs chunks with run, over batches of batch
// examples.
func NewPass(run func(chunk, chunks, slot int), batch int) *Pass {
	return &Pass{run: run, chunks: max(1, min(PassChunks, batch)), done: make(chan struct{}, 1)}
}

// Chunks returns the number of chunks of a split call.
func (t *Pass) Chunks() int { return t.chunks }

// Runs returns how many calls ran whole and how many split while measuring (PassAuto).
func (t *Pass) Runs() (whole, split int) { return t.runs[0], t.runs[1] }

// SetChunks sets the number of chunks of the calls to come, for benchmarks that compare chunk
// counts; a result depends on it, so an op's chunks must not change between its passes.
func (t *Pass) SetChunks(n int) { t.chunks = max(1, n) }

// help runs chunks of t's current call on a helper, unless the call has a helper already or is
// over.
func (t *Pass) help() {
	if t.joined.CompareAndSwap(false, true) {
		t.work(1)
		t.done <- struct{}{}
	}
}

// work runs chunks of the current call on slot's scratch until none is left.
func (t *Pass) work(slot int) {
	for {
		c := int(t.next.Add(1)) - 1
		if c >= t.chunks {
			return
		}
		t.run(c, t.chunks, slot)
	}
}

// runSplit runs every chunk of t's current call, on the calling goroutine and a helper when one
// joins in time. The caller must have set up the call's operands before, and must not run the
// same task from two goroutines at once.
func (t *Pass) runSplit() {
	t.next.Store(0)
	t.joined.Store(false)
	offerHelp(helpOffer{pass: t}) // an older offer of t may still be taken
	t.work(0)
	if t.joined.CompareAndSwap(false, true) {
		return // no helper joined
	}
	receiveSpinning(t.done)
}

// Run runs a call of the op whose pass t is. A call not eligible for splitting is one chunk
// on the calling goroutine; an eligible one is t.chunks chunks, split over two goroutines or run
// whole as t's mode and measurements say.
func (t *Pass) Run(eligible bool) {
	if !eligible {
		t.run(0, 1, 0)
		return
	}
	split := t.chooseSplit()
	start := time.Now()
	if split {
		t.runSplit()
	} else {
		for c := range t.chunks {
			t.run(c, t.chunks, 0)
		}
	}
	t.record(split, time.Since(start))
}

// chooseSplit says whether the next call runs split.
func (t *Pass) chooseSplit() bool {
	switch t.Mode {
	case PassWhole:
		return false
	case PassSplit:
		return true
	}
	t.calls++
	if t.runs[0] < PassSamples {
		return false
	}
	if t.runs[1] < PassSamples {
		return true
	}
	whole, split := t.median(0), t.median(1)
	faster := split < whole
	if t.probeGap == 0 || faster != t.fasterSplit {
		t.probeGap, t.nextProbe, t.fasterSplit = splitProbeEvery, t.calls+splitProbeEvery, faster
	}
	if t.calls < t.nextProbe {
		return faster
	}
	// A probe: the gap grows while the slower mode stays clearly slower.
	if float64(max(whole, split)) > splitProbeMargin*float64(min(whole, split)) {
		t.probeGap = min(2*t.probeGap, splitProbeMaxGap)
	} else {
		t.probeGap = splitProbeEvery
	}
	t.nextProbe = t.calls + t.probeGap
	return !faster
}

// record keeps the time d of a call run split or whole.
func (t *Pass) record(split bool, d time.Duration) {
	i := 0
	if split {
		i = 1
	}
	t.times[i][t.runs[i]%PassSamples] = d
	t.runs[i]++
}

// median returns the median of the kept times of mode i (0 whole, 1 split).
func (t *Pass) median(i int) time.Duration {
	s := t.times[i]
	slices.Sort(s[:])
	return s[len(s)/2]
}

// ChunkRange returns the examples [lo, hi) of chunk c of chunks over a batch of n.
func ChunkRange(n, c, chunks int) (lo, hi int) {
	return c * n / chunks, (c + 1) * n / chunks
}
