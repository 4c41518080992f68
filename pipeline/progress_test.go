package pipeline

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nnsweep/nnsweep/runner"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// Every redraw of the progress bar fits the terminal's width: a longer line wraps at each redraw
// and floods the terminal with one line per refresh.
func TestProgressBarFitsTerminal(t *testing.T) {
	t.Parallel()
	for _, width := range []int{40, 80, 200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			b := &barProgress{w: &out, width: width}
			b.start("mnist-cnn1 n=8 (123,456 params) seed 3 (2 of 3)", 12)
			for batch := 1; batch <= 469; batch += 7 {
				b.update(runner.Progress{Epoch: 11, Epochs: 12, Batch: batch, Batches: 469, Loss: 0.1234, Accuracy: 0.9512, Elapsed: time.Hour})
			}
			frames := strings.FieldsFunc(ansi.ReplaceAllString(out.String(), ""), func(r rune) bool { return r == '\r' || r == '\n' })
			if len(frames) < 10 {
				t.Fatalf("%d frames drawn", len(frames))
			}
			if testing.Verbose() {
				t.Logf("%q", frames[len(frames)-1])
			}
			for _, f := range frames {
				if n := utf8.RuneCountInString(f); n > width {
					t.Fatalf("a frame of %d columns in a terminal of %d:\n%q", n, width, f)
				}
			}
			if last := strings.TrimSpace(frames[len(frames)-1]); width >= 200 && !strings.Contains(last, "batch 463/469  loss 0.1234  acc 95.12%") {
				t.Errorf("a wide terminal shows everything: %q", last)
			}
		})
	}
}
