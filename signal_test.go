package main

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
)

// In `run`, the first Ctrl-C stops after the current batch and the second quits at once, whatever
// the run is doing (a read that blocks, a long batch); other commands quit at the first.
func TestSignals(t *testing.T) {
	// Not parallel: it sets stopsGracefully, which the commands of other tests set too.
	for _, graceful := range []bool{true, false} {
		stopsGracefully.Store(graceful)
		sigs := make(chan os.Signal, 2)
		cancelled, exited := make(chan bool, 1), make(chan int, 1)
		var stderr bytes.Buffer
		go handleSignals(sigs, func() { cancelled <- true }, func(code int) { exited <- code }, &stderr)
		sigs <- syscall.SIGINT
		if graceful {
			<-cancelled
			select {
			case code := <-exited:
				t.Fatalf("run exited (%d) at the first Ctrl-C", code)
			default:
			}
			sigs <- syscall.SIGINT
		}
		if code := <-exited; code != 130 {
			t.Fatalf("graceful %v: exit %d, want 130", graceful, code)
		}
		if graceful && !strings.Contains(stderr.String(), "press Ctrl-C again to quit at once") {
			t.Errorf("no hint after the first Ctrl-C:\n%s", stderr.String())
		}
	}
	stopsGracefully.Store(false)
}
