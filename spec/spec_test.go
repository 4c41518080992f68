package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples checks that every example spec parses, validates and expands without errors, and
// that its models have the layers and sweep points the file describes.
func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(src), "# yaml-language-server: $schema=../nnsweep.schema.json\n") {
				t.Errorf("the first line does not name the schema")
			}
			s, errs := Parse(file, src)
			if len(errs) > 0 {
				t.Fatalf("Parse:\n%s", errs.Lines())
			}
			if errs := Validate(s, mnist); len(errs) > 0 {
				t.Fatalf("Validate:\n%s", errs.Lines())
			}
			models, errs := Expand(s, mnist)
			if len(errs) > 0 {
				t.Fatalf("Expand:\n%s", errs.Lines())
			}
			if len(models) == 0 {
				t.Fatal("no models")
			}
			for _, m := range models {
				if m.Name == "" || len(m.Layers) == 0 || len(m.Points) == 0 {
					t.Errorf("model %q: %d layers, %d points", m.Name, len(m.Layers), len(m.Points))
				}
				if m.Input != (Shape{28, 28, 1}) || m.Classes != 10 {
					t.Errorf("model %q: input %v, %d classes", m.Name, m.Input, m.Classes)
				}
				last := m.Layers[len(m.Layers)-1]
				if last.Kind != KindDense || last.Activation != "softmax" || !last.Vector {
					t.Errorf("model %q: last layer %+v", m.Name, last)
				}
			}
		})
	}
}
