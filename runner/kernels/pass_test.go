package kernels

import (
	"testing"
	"time"
)

// TestChooseSplitProbes drives a task's choice with made-up timings: it measures both modes,
// runs the faster, probes the slower at growing gaps while it stays clearly slower, and when the
// faster mode changes switches at once and probes at the short gap again.
func TestChooseSplitProbes(t *testing.T) {
	t.Parallel()
	task := NewPass(func(int, int, int) {}, 8)
	cost := [2]time.Duration{19 * time.Millisecond, 10 * time.Millisecond} // whole, split
	var ran [2][]int                                                       // the calls run each way
	call := func(n int) {
		for range n {
			split := task.chooseSplit()
			i := 0
			if split {
				i = 1
			}
			ran[i] = append(ran[i], task.calls)
			task.record(split, cost[i])
		}
	}
	call(1000)
	if len(ran[0]) < PassSamples+3 || len(ran[0]) > PassSamples+12 {
		t.Fatalf("split is 1.9× faster, yet %d of 1000 calls ran whole (%v); want the %d samples and a few probes", len(ran[0]), ran[0], PassSamples)
	}
	gaps := ran[0][PassSamples:]
	for i := 1; i < len(gaps); i++ {
		if d, want := gaps[i]-gaps[i-1], min(splitProbeEvery<<i, splitProbeMaxGap); d != want {
			t.Errorf("probe %d came %d calls after the one before, want %d (probes at calls %v)", i, d, want, gaps)
		}
	}
	if last := gaps[len(gaps)-1]; 1000+PassSamples-last > splitProbeMaxGap+1 {
		t.Errorf("last probe at call %d of %d, want one every %d calls at most", last, 1000+PassSamples, splitProbeMaxGap)
	}

	// The other core gets busy: split becomes slower. After at most two calls (the median of the
	// split samples moves), every call runs whole but for probes of split every splitProbeEvery.
	cost[1] = 30 * time.Millisecond
	ran = [2][]int{}
	call(2 + 4*splitProbeEvery)
	if n := len(ran[1]); n < 2 || n > 2+4 {
		t.Fatalf("split now 1.6× slower, yet %d of %d calls ran split (%v)", n, 2+4*splitProbeEvery, ran[1])
	}

	// Modes within the margin: the probes stay every splitProbeEvery calls.
	task = NewPass(func(int, int, int) {}, 8)
	cost = [2]time.Duration{10 * time.Millisecond, 11 * time.Millisecond}
	ran = [2][]int{}
	call(10 * splitProbeEvery)
	if n := len(ran[1]); n < 8 || n > 13 {
		t.Errorf("modes 10%% apart: %d of %d calls probed split (%v), want about one in %d", n, 10*splitProbeEvery, ran[1], splitProbeEvery)
	}
}
