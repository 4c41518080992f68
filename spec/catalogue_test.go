package spec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ and nnsweep.schema.json")

// mnist is the DataInfo of the built-in MNIST set.
var mnist = &DataInfo{H: 28, W: 28, C: 1, Classes: 10}

// check runs the CLI's validation of one file: Parse, then Validate whenever a spec came back,
// both lists merged and sorted.
func check(file string, src []byte, data *DataInfo) ErrorList {
	s, errs := Parse(file, src)
	if s != nil {
		errs = append(errs, Validate(s, data)...)
	}
	errs.Sort()
	return errs
}

// TestBadSpecs checks the error catalogue: every spec under testdata/bad gives exactly the errors of
// its .golden file, each with a position. Run with -update to rewrite the golden files.
func TestBadSpecs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("the catalogue has %d bad specs, want at least 30", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			errs := check(filepath.ToSlash(file), src, mnist)
			if len(errs) == 0 {
				t.Fatal("no errors for a bad spec")
			}
			for _, e := range errs {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("error without a position: %v", e)
				}
				if e.Pos.File != filepath.ToSlash(file) {
					t.Errorf("error names file %q: %v", e.Pos.File, e)
				}
				if e.Problem == "" {
					t.Errorf("error without a problem: %v", e)
				}
			}
			got := errs.Lines() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./spec/ -run TestBadSpecs -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (run with -update to accept)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
