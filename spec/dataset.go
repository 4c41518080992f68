package spec

import (
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Dataset names the data: a built-in set (`dataset: mnist`) or the user's IDX files
// (`dataset: {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}`), with
// paths relative to the spec file.
type Dataset struct {
	Builtin string    `yaml:"-"`
	Train   *IDXFiles `yaml:"train" jsonschema:"description=The training images and labels"`
	Test    *IDXFiles `yaml:"test" jsonschema:"description=The test images and labels"`
}

// IDXFiles names an images file and a labels file in IDX format, gzipped or not.
type IDXFiles struct {
	Images string `yaml:"images" validate:"required" jsonschema:"required,minLength=1,description=IDX file of images (idx3-ubyte)"`
	Labels string `yaml:"labels" validate:"required" jsonschema:"required,minLength=1,description=IDX file of labels (idx1-ubyte)"`
}

// Builtins lists the datasets embedded in nnsweep.
var Builtins = []string{"mnist"}

// DataInfo describes the data a spec's models see: the input image shape (HWC) and the number
// of classes. The pipeline reads it from the dataset before validation.
type DataInfo struct {
	H, W, C int
	Classes int
}

// IsFiles reports whether the dataset is the user's IDX files.
func (d Dataset) IsFiles() bool { return d.Builtin == "" && (d.Train != nil || d.Test != nil) }

// IsZero reports whether no dataset was written.
func (d Dataset) IsZero() bool { return d.Builtin == "" && d.Train == nil && d.Test == nil }

// DataFiles returns the user's IDX file paths resolved against the spec file's folder, in the
// order train images, train labels, test images, test labels.
func (s *Spec) DataFiles() [4]string {
	dir := filepath.Dir(s.File)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var f [4]string
	if t := s.Dataset.Train; t != nil {
		f[0], f[1] = abs(t.Images), abs(t.Labels)
	}
	if t := s.Dataset.Test; t != nil {
		f[2], f[3] = abs(t.Images), abs(t.Labels)
	}
	return f
}

type datasetFiles struct {
	Train *IDXFiles `yaml:"train"`
	Test  *IDXFiles `yaml:"test"`
}

func (d *Dataset) decodeNode(dec *decoder, n *yaml.Node, p Path) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		d.Builtin = n.Value
		return
	case n.Kind == yaml.MappingNode:
		var f datasetFiles
		dec.decodeStruct(n, reflectValue(&f), p)
		d.Train, d.Test = f.Train, f.Test
		return
	}
	dec.errorf(n, p, `write "dataset: mnist" or {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}`,
		"expected a dataset, found %s", describe(n))
}
