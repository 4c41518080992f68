package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nnsweep/nnsweep/internal/atomicfile"
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
	return writeFile(filepath.Join(dir, "report.md"), md.Bytes())
}

// writeFile replaces path with data atomically (see atomicfile.Write).
func writeFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
