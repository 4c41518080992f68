package pipeline

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressDisplay shows the training of one point after another.
type progressDisplay interface {
	start(label string, epochs int)
	update(p runner.Progress)
	finish(res *runner.Result, err error)
}

// newProgress picks the display: a progress bar per point when w is a terminal (or mode is
// "bar"), one line per epoch otherwise (or mode "lines"), nothing for mode "none".
func newProgress(mode string, w io.Writer) progressDisplay {
	if mode == "" || mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		return &barProgress{w: w}
	case "none":
		return &lineProgress{w: io.Discard}
	}
	return &lineProgress{w: w}
}

// lineProgress writes one line per epoch and one per finished point.
type lineProgress struct {
	w     io.Writer
	label string
	began time.Time
}

func (l *lineProgress) start(label string, epochs int) {
	l.label, l.began = label, time.Now()
	fmt.Fprintf(l.w, "%s: training %s\n", label, plural(epochs, "epoch"))
}

func (l *lineProgress) update(p runner.Progress) {
	if !p.EpochDone {
		return
	}
	line := fmt.Sprintf("%s: epoch %d/%d  loss %.4f  accuracy %.2f%%", l.label, p.Epoch, p.Epochs, p.Loss, 100*p.Accuracy)
	if p.Val != nil {
		line += fmt.Sprintf("  val loss %.4f  val accuracy %.2f%%", p.Val.Loss, 100*p.Val.Accuracy)
	} else if p.ExamplesPerSecs > 0 {
		line += fmt.Sprintf("  %.0f img/s", p.ExamplesPerSecs)
	}
	fmt.Fprintf(l.w, "%s  %s\n", line, p.Elapsed.Round(time.Second))
}

func (l *lineProgress) finish(res *runner.Result, err error) {
	fmt.Fprintln(l.w, finishLine(l.label, l.began, res, err))
}

func finishLine(label string, began time.Time, res *runner.Result, err error) string {
	switch {
	case err != nil:
		return fmt.Sprintf("%s: stopped: %v", label, err)
	case res.Status != runner.StatusOK:
		return fmt.Sprintf("%s: %s after %s (loss became NaN or infinite); stored as %s, the sweep goes on", label, res.Status, plural(res.Epochs, "epoch"), res.Status)
	}
	return fmt.Sprintf("%s: test accuracy %.2f%%, test loss %.4f, %s in %s",
		label, 100*res.Test.Accuracy, res.Test.Loss, plural(res.Epochs, "epoch"), time.Since(began).Round(time.Second))
}

// barProgress draws a progress bar per point: epoch, batch, ETA, running loss and accuracy.
type barProgress struct {
	w      io.Writer
	label  string
	epochs int
	began  time.Time
	bar    *progressbar.ProgressBar
}

func (b *barProgress) start(label string, epochs int) {
	b.label, b.epochs, b.began, b.bar = label, epochs, time.Now(), nil
}

func (b *barProgress) update(p runner.Progress) {
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(int64(p.Epochs*p.Batches),
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	}
	b.bar.Describe(fmt.Sprintf("%s  epoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%",
		b.label, p.Epoch, p.Epochs, p.Batch, p.Batches, p.Loss, 100*p.Accuracy))
	b.bar.Set64(int64((p.Epoch-1)*p.Batches + p.Batch))
}

func (b *barProgress) finish(res *runner.Result, err error) {
	if b.bar != nil {
		b.bar.Finish()
		b.bar.Exit()
	}
	fmt.Fprintln(b.w, finishLine(b.label, b.began, res, err))
}

// lockedWriter serialises writes from trainings that run at once (--jobs), one line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
