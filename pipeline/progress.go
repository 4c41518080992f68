package pipeline

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
		width := 80
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
				width = cols
			}
		}
		return &barProgress{w: w, width: width, throttle: 100 * time.Millisecond}
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

// barProgress draws a progress bar per point: epoch, batch, ETA, running loss and accuracy, on one
// line of width columns (the terminal's): a line longer than the terminal would wrap at every
// refresh and flood it, so the description is shortened to fit.
type barProgress struct {
	w        io.Writer
	width    int
	throttle time.Duration // the least time between two redraws
	label    string
	epochs   int
	began    time.Time
	bar      *progressbar.ProgressBar
	budget   int // the columns left for the description
}

func (b *barProgress) start(label string, epochs int) {
	b.label, b.epochs, b.began, b.bar = label, epochs, time.Now(), nil
}

// barStatsWidth is the most columns the bar's own text takes around a bar of barWidth columns:
// " 100% |", the bar, "|" and " [59m59s:59m59s]" (elapsed and remaining time).
func barStatsWidth(barWidth int) int {
	return len(" 100% |") + barWidth + len("|") + len(" [59m59s:59m59s]")
}

func (b *barProgress) update(p runner.Progress) {
	if b.bar == nil {
		barWidth := min(24, max(8, b.width/8))
		b.budget = b.width - 1 - barStatsWidth(barWidth)
		b.bar = progressbar.NewOptions64(int64(p.Epochs*p.Batches),
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(b.throttle),
			progressbar.OptionClearOnFinish(),
		)
	}
	b.bar.Describe(fitDescription(b.label, p, b.budget))
	b.bar.Set64(int64((p.Epoch-1)*p.Batches + p.Batch))
}

// fitDescription describes where training p stands in at most budget columns, dropping details
// (the batch, the parameter count of the label, the accuracy, the loss) and then cutting the label
// until it fits.
func fitDescription(label string, p runner.Progress, budget int) string {
	short, _, _ := strings.Cut(label, " (") // "cnn2 n=8 (2,358 params)" without its count
	epoch := fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs)
	loss, acc := fmt.Sprintf("loss %.4f", p.Loss), fmt.Sprintf("acc %.2f%%", 100*p.Accuracy)
	for _, parts := range [][]string{
		{label, epoch, fmt.Sprintf("batch %d/%d", p.Batch, p.Batches), loss, acc},
		{label, epoch, loss, acc},
		{short, epoch, loss, acc},
		{short, epoch, loss},
		{short, epoch},
	} {
		if d := strings.Join(parts, "  "); utf8.RuneCountInString(d) <= budget {
			return d
		}
	}
	d := []rune(short + "  " + epoch)
	if budget < 1 {
		return ""
	}
	return string(d[:budget-1]) + "…"
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
