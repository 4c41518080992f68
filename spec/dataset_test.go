package spec

import (
	"reflect"
	"strings"
	"testing"
)

// datasetSpec is a valid spec but for its dataset line, written after "dataset: ".
func datasetSpec(dataset string) string {
	return "name: d\ndataset: " + dataset + "\ntarget: {min: 0.5}\nmodel:\n  layers: [{flatten: {}}, {dense: {units: 10}}]\n"
}

func TestDatasetForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dataset string
		want          Dataset
	}{
		{"builtin", "fashion-mnist", Dataset{Builtin: "fashion-mnist"}},
		{"named", "{name: mnist, normalize: per-channel}", Dataset{Builtin: "mnist", Normalize: &Normalize{PerChannel: true}}},
		{"cifar", "{format: cifar10, dir: data/cifar-10-batches-bin}", Dataset{Format: "cifar10", Dir: "data/cifar-10-batches-bin"}},
		{"files normalised", "{train: {images: a, labels: b}, test: {images: c, labels: d}, normalize: {mean: [0.5], std: [0.25]}}",
			Dataset{Train: &IDXFiles{"a", "b"}, Test: &IDXFiles{"c", "d"}, Normalize: &Normalize{Mean: []float64{0.5}, Std: []float64{0.25}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := Parse("specs/d.yaml", []byte(datasetSpec(tt.dataset)))
			if len(errs) > 0 {
				t.Fatal(errs.Lines())
			}
			if errs := Validate(s, &DataInfo{H: 28, W: 28, C: 1, Classes: 10}); len(errs) > 0 {
				t.Fatal(errs.Lines())
			}
			if !reflect.DeepEqual(s.Dataset, tt.want) {
				t.Errorf("Dataset = %+v, want %+v", s.Dataset, tt.want)
			}
		})
	}
	s, _ := Parse("specs/d.yaml", []byte(datasetSpec("{format: cifar10, dir: cifar}")))
	if got := s.DataDir(); got != "specs/cifar" {
		t.Errorf("DataDir() = %q, want specs/cifar", got)
	}
	if got := (&Normalize{Mean: []float64{0.4914, 0.5}, Std: []float64{0.247, 1}}).String(); got != "mean=[0.4914 0.5] std=[0.247 1]" {
		t.Errorf("String() = %q", got)
	}
}

func TestDatasetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dataset string
		want          string
	}{
		{"unknown builtin", "fashion", `d.yaml:2:10: dataset: unknown dataset "fashion"; built-in datasets: mnist, fashion-mnist; or give your own IDX files as {train: {images: PATH, labels: PATH}, test: {...}}, or a CIFAR-10 folder as {format: cifar10, dir: PATH}`},
		{"misspelt builtin", "fashion-mnst", `d.yaml:2:10: dataset: unknown dataset "fashion-mnst"; did you mean "fashion-mnist"?`},
		{"misspelt name", "{name: mnsit}", `d.yaml:2:17: dataset.name: unknown dataset "mnsit"; did you mean "mnist"?`},
		{"unknown format", "{format: cifar100, dir: x}", `d.yaml:2:19: dataset.format: unknown dataset format "cifar100"; did you mean "cifar10"?`},
		{"dir without format", "{dir: x}", "d.yaml:2:10: dataset: the dataset has a dir: but no format:; add format: cifar10 (a folder of CIFAR-10's binary version)"},
		{"format without dir", "{format: cifar10}", "d.yaml:2:10: dataset: the dataset has a format: but no dir:; add dir: PATH, the folder cifar-10-batches-bin, relative to the spec file"},
		{"mixed", "{name: mnist, format: cifar10, dir: x}", "d.yaml:2:10: dataset: the dataset mixes name: and format:/dir:; keep one of name:, format: with dir:, or train: with test:"},
		{"normalize alone", "{normalize: per-channel}", `d.yaml:2:10: dataset: the dataset names no data; write "dataset: mnist", "dataset: fashion-mnist", {format: cifar10, dir: PATH} or {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}`},
		{"unknown normalisation", "{name: mnist, normalize: per-chanel}", `d.yaml:2:35: dataset.normalize: unknown normalisation "per-chanel"; did you mean "per-channel"?`},
		{"normalize wrong kind", "{name: mnist, normalize: [1]}", "d.yaml:2:35: dataset.normalize: expected a normalisation, found a list; write normalize: per-channel (computed on the training set) or normalize: {mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26]}, one value per channel"},
		{"means per channel", "{name: mnist, normalize: {mean: [0.5, 0.5, 0.5], std: [0.25]}}", "d.yaml:2:42: dataset.normalize.mean: mean has 3 values for images of 1 channel; give one value per channel: 1"},
		{"no std", "{name: mnist, normalize: {mean: [0.5]}}", "d.yaml:2:35: dataset.normalize: normalize has no std:; e.g. normalize: {mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26]}, or normalize: per-channel"},
		{"zero std", "{name: mnist, normalize: {mean: [0.5], std: [0]}}", "d.yaml:2:55: dataset.normalize.std[0]: std 0 is not positive; a standard deviation is positive (1 leaves the channel's scale alone)"},
		{"unknown key", "{name: mnist, normalise: per-channel}", `d.yaml:2:24: dataset.normalise: unknown key "normalise" in dataset; did you mean "normalize"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := Parse("d.yaml", []byte(datasetSpec(tt.dataset)))
			errs = append(errs, Validate(s, &DataInfo{H: 28, W: 28, C: 1, Classes: 10})...)
			errs.Sort()
			if got := errs.Lines(); got != tt.want {
				t.Errorf("errors\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDatasetErrorsWithoutData checks normalize: against itself when the data's channels are not
// known (the files could not be read).
func TestDatasetErrorsWithoutData(t *testing.T) {
	t.Parallel()
	s, errs := Parse("d.yaml", []byte(datasetSpec("{format: cifar10, dir: x, normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25]}}")))
	errs = append(errs, Validate(s, nil)...)
	if got, want := errs.Lines(), "d.yaml:2:76: dataset.normalize.std: std has 2 values, mean 3; give one mean and one std per channel"; !strings.Contains(got, want) {
		t.Errorf("errors\n got %s\nwant %s", got, want)
	}
}
