package kernels

import (
	"runtime"
	"time"
)

// Waiting for a helper without a wake-up.
//
// A goroutine blocked on a channel is woken by the sender, and when its thread is asleep that
// takes a futex wake: about 115 µs median on the 2-vCPU KVM machines this is built on, against
// under 1 µs for a goroutine polling the channel (BenchmarkHandoff measures both), which is more
// than a split pass of a small layer gains. So the helpers of Pass and SgemmParallel, after their last
// work, keep polling their channel for spinWindow before they block, and a caller waiting for a
// helper's last chunk polls too: the passes of a training step come every few hundred
// microseconds, and a helper that is still polling joins the next one within a microsecond. The
// poll yields the core (runtime.Gosched) every spinYieldEvery tries, so another training or the
// garbage collector on the same core runs as it would; a helper with nothing to do for
// spinWindow blocks, and an idle process spins at most that long.

// spinWindow is how long receiveSpinning polls before it blocks: longer than the gaps between
// the split passes of a training step (a step of the smallest CNNs runs a split pass every
// 100–500 µs), short enough that a helper stops spinning soon after a training ends.
const spinWindow = 2 * time.Millisecond

// spinYieldEvery is how many polls receiveSpinning makes between two looks at the clock, each
// followed by a yield of the core.
const spinYieldEvery = 32

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
