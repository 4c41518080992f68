//go:build unix

package pipeline

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFODatasetDoesNotBlock checks that validate, params and run refuse a named pipe as a data
// file at once instead of waiting for a writer for ever.
func TestFIFODatasetDoesNotBlock(t *testing.T) {
	t.Parallel()
	dir, path := writeIDXSpec(t, func(dir string, f map[string][]byte) {
		delete(f, "test-images")
		if err := syscall.Mkfifo(filepath.Join(dir, "test-images"), 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
	})
	want := "spec.yaml:4:18: dataset.test.images: test-images: is a named pipe (FIFO), not a regular file; "
	for what, f := range map[string]func() error{
		"validate": func() error { return Validate([]string{path}, new(bytes.Buffer)) },
		"params":   func() error { return Params(path, ParamsOptions{}, new(bytes.Buffer)) },
		"run": func() error {
			return Run(t.Context(), path, RunOptions{Out: filepath.Join(dir, "out"), Progress: "lines"}, new(bytes.Buffer), new(bytes.Buffer))
		},
	} {
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(strings.ReplaceAll(err.Error(), dir+"/", ""), want) {
				t.Errorf("%s error %v\nwant %s…", what, err, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s still blocked on a FIFO after 20 s", what)
		}
	}
}
