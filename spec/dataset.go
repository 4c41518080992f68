package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Dataset names the data, in one of three forms, each with paths relative to the spec file:
//   - a built-in set: `dataset: mnist` (embedded) or `dataset: fashion-mnist` (Debian's package
//     dataset-fashion-mnist), or `dataset: {name: mnist, normalize: ...}`;
//   - the user's IDX files: `dataset: {train: {images: PATH, labels: PATH}, test: {images: PATH,
//     labels: PATH}}`;
//   - a folder of CIFAR-10's binary version: `dataset: {format: cifar10, dir: PATH}`.
//
// Each mapping form takes normalize: to normalise the images per channel.
type Dataset struct {
	// Builtin is the built-in set's name, written as the scalar or as name:.
	Builtin   string     `yaml:"-"`
	Format    string     `yaml:"format"`
	Dir       string     `yaml:"dir"`
	Train     *IDXFiles  `yaml:"train" jsonschema:"description=The training images and labels"`
	Test      *IDXFiles  `yaml:"test" jsonschema:"description=The test images and labels"`
	Normalize *Normalize `yaml:"normalize"`
}

// IDXFiles names an images file and a labels file in IDX format, gzipped or not.
type IDXFiles struct {
	Images string `yaml:"images" validate:"required" jsonschema:"required,minLength=1,description=IDX file of images (idx3-ubyte)"`
	Labels string `yaml:"labels" validate:"required" jsonschema:"required,minLength=1,description=IDX file of labels (idx1-ubyte)"`
}

// Normalize says how the images are normalised: each channel's intensity x in [0,1] becomes
// (x − mean) / std, with the means and deviations given (on the [0,1] scale, one per channel) or,
// with PerChannel, computed on the training set. Without it, images are byte / 255.
type Normalize struct {
	PerChannel bool      `yaml:"-"`
	Mean       []float64 `yaml:"mean"`
	Std        []float64 `yaml:"std"`
}

// String gives the normalisation in the spec's words: "per-channel", or "mean=[0.5 0.5]
// std=[0.25 0.25]". It identifies the normalisation in result keys.
func (n *Normalize) String() string {
	if n.PerChannel {
		return "per-channel"
	}
	list := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return "mean=" + list(n.Mean) + " std=" + list(n.Std)
}

// Builtins lists the datasets nnsweep knows by name: MNIST is embedded; Fashion-MNIST is read
// from Debian's package dataset-fashion-mnist.
var Builtins = []string{"mnist", "fashion-mnist"}

// Formats lists the folder formats of dataset: {format: F, dir: PATH}.
var Formats = []string{"cifar10"}

// DataInfo describes the data a spec's models see: the input image shape (HWC) and the number
// of classes. The pipeline reads it from the dataset before validation.
type DataInfo struct {
	H, W, C int
	Classes int
}

// IsFiles reports whether the dataset is the user's IDX files.
func (d Dataset) IsFiles() bool {
	return d.Builtin == "" && d.Format == "" && d.Dir == "" && (d.Train != nil || d.Test != nil)
}

// IsFolder reports whether the dataset is a folder in one of Formats.
func (d Dataset) IsFolder() bool {
	return d.Builtin == "" && d.Train == nil && d.Test == nil && (d.Format != "" || d.Dir != "")
}

// IsZero reports whether no data was named (normalize: alone names none).
func (d Dataset) IsZero() bool {
	return d.Builtin == "" && d.Format == "" && d.Dir == "" && d.Train == nil && d.Test == nil
}

// relative resolves a dataset path against the spec file's folder.
func (s *Spec) relative(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(s.File), p)
}

// DataFiles returns the user's IDX file paths resolved against the spec file's folder, in the
// order train images, train labels, test images, test labels.
func (s *Spec) DataFiles() [4]string {
	var f [4]string
	if t := s.Dataset.Train; t != nil {
		f[0], f[1] = s.relative(t.Images), s.relative(t.Labels)
	}
	if t := s.Dataset.Test; t != nil {
		f[2], f[3] = s.relative(t.Images), s.relative(t.Labels)
	}
	return f
}

// DataDir returns the folder of dataset: {format: F, dir: PATH} resolved against the spec file's
// folder.
func (s *Spec) DataDir() string { return s.relative(s.Dataset.Dir) }

type datasetMapping struct {
	Name      string     `yaml:"name"`
	Format    string     `yaml:"format"`
	Dir       string     `yaml:"dir"`
	Train     *IDXFiles  `yaml:"train"`
	Test      *IDXFiles  `yaml:"test"`
	Normalize *Normalize `yaml:"normalize"`
}

const datasetForms = `write "dataset: mnist", "dataset: fashion-mnist", {format: cifar10, dir: PATH} or {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}`

func (d *Dataset) decodeNode(dec *decoder, n *yaml.Node, p Path) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		d.Builtin = n.Value
		return
	case n.Kind == yaml.MappingNode:
		var m datasetMapping
		dec.decodeStruct(n, reflectValue(&m), p)
		*d = Dataset{Builtin: m.Name, Format: m.Format, Dir: m.Dir, Train: m.Train, Test: m.Test, Normalize: m.Normalize}
		return
	}
	dec.errorf(n, p, datasetForms, "expected a dataset, found %s", describe(n))
}

type normalizeMapping struct {
	Mean []float64 `yaml:"mean"`
	Std  []float64 `yaml:"std"`
}

func (z *Normalize) decodeNode(dec *decoder, n *yaml.Node, p Path) {
	const fix = "write normalize: per-channel (computed on the training set) or normalize: {mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26]}, one value per channel"
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		if n.Value != "per-channel" {
			f := fix
			if suggest(n.Value, []string{"per-channel"}) != "" {
				f = `did you mean "per-channel"?`
			}
			dec.errorf(n, p, f, "unknown normalisation %q", n.Value)
			return
		}
		z.PerChannel = true
		return
	case n.Kind == yaml.MappingNode:
		var m normalizeMapping
		dec.decodeStruct(n, reflectValue(&m), p)
		z.Mean, z.Std = m.Mean, m.Std
		return
	}
	dec.errorf(n, p, fix, "expected a normalisation, found %s", describe(n))
}

// checkDataset checks that the dataset takes one of its forms completely, and its normalisation
// against the data's channels when data is known.
func (s *Spec) checkDataset(data *DataInfo) ErrorList {
	d := s.Dataset
	if s.rejected("dataset") {
		return nil
	}
	files := "{train: {images: PATH, labels: PATH}, test: {...}}"
	var errs ErrorList
	forms := 0
	for _, used := range []bool{d.Builtin != "", d.Format != "" || d.Dir != "", d.Train != nil || d.Test != nil} {
		if used {
			forms++
		}
	}
	switch {
	case d.IsZero():
		if _, written := s.pos["dataset"]; !written {
			return ErrorList{s.errorAt("dataset", "add dataset: mnist, or dataset: "+files, "the spec has no dataset")}
		}
		return ErrorList{s.errorAt("dataset", datasetForms, "the dataset names no data")}
	case forms > 1:
		return ErrorList{s.errorAt("dataset", "keep one of name:, format: with dir:, or train: with test:",
			"the dataset mixes %s", mixedForms(d))}
	case d.Builtin != "":
		if !slices.Contains(Builtins, d.Builtin) {
			fix := "built-in datasets: " + strings.Join(Builtins, ", ") + "; or give your own IDX files as " + files + ", or a CIFAR-10 folder as {format: cifar10, dir: PATH}"
			if best := suggest(d.Builtin, Builtins); best != "" {
				fix = fmt.Sprintf("did you mean %q?", best)
			}
			p := Path("dataset")
			if s.written("dataset.name") {
				p = "dataset.name"
			}
			errs = append(errs, s.errorAt(p, fix, "unknown dataset %q", d.Builtin))
		}
	case d.Format != "" || d.Dir != "":
		switch {
		case d.Format == "":
			errs = append(errs, s.errorAt("dataset", "add format: cifar10 (a folder of CIFAR-10's binary version)", "the dataset has a dir: but no format:"))
		case !slices.Contains(Formats, d.Format):
			fix := "formats: " + strings.Join(Formats, ", ") + "; IDX files need no format: give train: and test:"
			if best := suggest(d.Format, Formats); best != "" {
				fix = fmt.Sprintf("did you mean %q?", best)
			}
			errs = append(errs, s.errorAt("dataset.format", fix, "unknown dataset format %q", d.Format))
		}
		if d.Dir == "" && !s.rejected("dataset.dir") {
			errs = append(errs, s.errorAt("dataset", "add dir: PATH, the folder cifar-10-batches-bin, relative to the spec file", "the dataset has a format: but no dir:"))
		}
	default:
		if d.Train == nil && !s.rejected("dataset.train") {
			errs = append(errs, s.errorAt("dataset", "add train: {images: PATH, labels: PATH}", "the dataset has no train: files"))
		}
		if d.Test == nil && !s.rejected("dataset.test") {
			errs = append(errs, s.errorAt("dataset", "add test: {images: PATH, labels: PATH}", "the dataset has no test: files"))
		}
	}
	return append(errs, s.checkNormalize(data)...)
}

// mixedForms names the forms a dataset mixes, for the message.
func mixedForms(d Dataset) string {
	var used []string
	if d.Builtin != "" {
		used = append(used, "name:")
	}
	if d.Format != "" || d.Dir != "" {
		used = append(used, "format:/dir:")
	}
	if d.Train != nil || d.Test != nil {
		used = append(used, "train:/test:")
	}
	return strings.Join(used, " and ")
}

// checkNormalize checks normalize: means and deviations: both given, one per channel of the data
// (when known), the deviations positive.
func (s *Spec) checkNormalize(data *DataInfo) ErrorList {
	n := s.Dataset.Normalize
	p := Path("dataset.normalize")
	if n == nil || n.PerChannel || s.rejectedWithin(p) {
		return nil
	}
	var errs ErrorList
	const example = "e.g. normalize: {mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26]}, or normalize: per-channel"
	if n.Mean == nil || n.Std == nil {
		missing := "mean"
		if n.Mean != nil {
			missing = "std"
		}
		return ErrorList{s.errorAt(p, example, "normalize has no %s:", missing)}
	}
	for _, key := range []string{"mean", "std"} {
		v := n.Mean
		if key == "std" {
			v = n.Std
		}
		switch {
		case data != nil && len(v) != data.C:
			errs = append(errs, s.errorAt(p.Child(key), fmt.Sprintf("give one value per channel: %d", data.C),
				"%s has %s for images of %s", key, countOf(len(v), "value"), countOf(data.C, "channel")))
		case data == nil && key == "std" && len(n.Std) != len(n.Mean):
			errs = append(errs, s.errorAt(p.Child(key), "give one mean and one std per channel",
				"std has %s, mean %d", countOf(len(n.Std), "value"), len(n.Mean)))
		}
	}
	for i, x := range n.Std {
		if x <= 0 {
			errs = append(errs, s.errorAt(p.Child("std").Index(i), "a standard deviation is positive (1 leaves the channel's scale alone)",
				"std %v is not positive", x))
		}
	}
	return errs
}

// countOf writes "1 value" or "3 values".
func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
