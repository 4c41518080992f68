package kernels

import (
	"slices"
	"testing"
	"time"
)

// TestReceiveSpinning checks that receiveSpinning receives as a plain receive does: a value sent
// before or while it polls, a value sent after it stopped polling and blocked, and a closed
// channel's zero value with ok false.
func TestReceiveSpinning(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 1
	if v, ok := receiveSpinning(ch); v != 1 || !ok {
		t.Fatalf("value sent before: got %d, %v; want 1, true", v, ok)
	}
	go func() {
		time.Sleep(spinWindow / 4)
		ch <- 2
	}()
	if v, ok := receiveSpinning(ch); v != 2 || !ok {
		t.Fatalf("value sent while polling: got %d, %v; want 2, true", v, ok)
	}
	go func() {
		time.Sleep(5 * spinWindow)
		ch <- 3
	}()
	start := time.Now()
	if v, ok := receiveSpinning(ch); v != 3 || !ok {
		t.Fatalf("value sent after the window: got %d, %v; want 3, true", v, ok)
	}
	if waited := time.Since(start); waited < 5*spinWindow {
		t.Fatalf("returned after %v, before the value was sent (%v)", waited, 5*spinWindow)
	}
	close(ch)
	if v, ok := receiveSpinning(ch); v != 0 || ok {
		t.Fatalf("closed channel: got %d, %v; want 0, false", v, ok)
	}
}

// BenchmarkHandoff measures how long a value takes from a sender to a goroutine waiting for it,
// blocked on the channel (block) or polling it with receiveSpinning (spin), when the sender is
// busy for 200 µs before each send and after it, as a training step's caller is between two
// split passes and then with its own chunks of a pass.
// It reports the median and the 90th percentile in µs: the wake-up a split pass pays when its
// helper sleeps, against which spinWindow is chosen.
func BenchmarkHandoff(b *testing.B) {
	for _, mode := range []string{"block", "spin"} {
		b.Run(mode, func(b *testing.B) {
			sent := make(chan time.Time, 1)
			lag := make(chan time.Duration, 1)
			go func() {
				for {
					var t0 time.Time
					var ok bool
					if mode == "spin" {
						t0, ok = receiveSpinning(sent)
					} else {
						t0, ok = <-sent
					}
					if !ok {
						close(lag)
						return
					}
					lag <- time.Since(t0)
				}
			}()
			lags := make([]time.Duration, 0, b.N)
			for range b.N {
				busy(200 * time.Microsecond)
				sent <- time.Now()
				busy(200 * time.Microsecond) // the caller's own chunks
				lags = append(lags, <-lag)
			}
			close(sent)
			for range lag {
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lags[len(lags)*9/10].Nanoseconds())/1e3, "p90-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// busy keeps the goroutine on its core for d.
func busy(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}
