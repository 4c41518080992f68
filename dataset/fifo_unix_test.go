//go:build unix

package dataset

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFORefused checks that a named pipe as a data file is refused at once: opening one blocks
// until a writer comes, so validate, params and run would wait for ever.
func TestFIFORefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := smallFiles(2, 2, 0, 2).write(t, dir)
	files.TrainLabels = filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(files.TrainLabels, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	want := "dir/fifo: is a named pipe (FIFO), not a regular file; data sets are read from regular files (save the data to a file first)"
	for what, f := range map[string]func() error{
		"Describe": func() error { _, err := Describe(t.Context(), files); return err },
		"Load":     func() error { _, err := Load(t.Context(), files); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			if err == nil || strings.ReplaceAll(err.Error(), dir, "dir") != want {
				t.Errorf("%s error %v\nwant %s", what, err, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s still reading a FIFO after 20 s", what)
		}
	}
}
