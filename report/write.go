package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Write writes the full report of e into dir, creating dir if needed:
// report.md, and the chart it embeds, chart.png and chart.svg. Each file is
// written atomically (a temporary file in dir, then renamed), so a reader
// never sees a half-written file.
func Write(dir string, e Experiment) error {
	if err := checkExperiment(e); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := WriteChart(dir, "chart", e); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, e, "chart"); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "report.md"), md.Bytes())
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory that is then renamed over path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
