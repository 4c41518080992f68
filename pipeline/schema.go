package pipeline

import (
	"io"

	"github.com/nnsweep/nnsweep/spec"
)

// Schema writes the JSON Schema of the spec format, generated from the spec package's types.
func Schema(w io.Writer) error {
	b, err := spec.JSONSchema()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
