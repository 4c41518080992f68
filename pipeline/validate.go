package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/nnsweep/nnsweep/internal/numfmt"
	"github.com/nnsweep/nnsweep/spec"
)

// Validate checks every spec file and reports, for each valid one, a line on w naming its models
// and points. It returns an *InvalidError holding every error of every invalid file.
func Validate(paths []string, w io.Writer) error {
	var all spec.ErrorList
	for _, path := range paths {
		e, err := Load(path)
		var invalid *InvalidError
		switch {
		case errors.As(err, &invalid):
			all = append(all, invalid.Errors...)
			continue
		case err != nil:
			all = append(all, &spec.Error{Pos: spec.Pos{File: path}, Problem: err.Error()})
			continue
		}
		points := 0
		for _, m := range e.Models {
			points += len(m.Points)
		}
		fmt.Fprintf(w, "%s: valid (%s, %s)\n", path, plural(len(e.Models), "model"), plural(points, "point"))
	}
	if len(all) > 0 {
		return &InvalidError{all}
	}
	return nil
}

// plural writes "1 point" or "3 points".
func plural(n int, what string) string { return numfmt.Plural(n, what, what+"s") }
