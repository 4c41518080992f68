package pipeline

import (
	"fmt"
	"io"
	"os"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/spec"
)

// Experiment is a loaded, valid spec: its models resolved and counted.
type Experiment struct {
	Spec   *spec.Spec
	Data   spec.DataInfo
	Models []Model
}

// Model is a resolved model with its closed forms.
type Model struct {
	spec.ResolvedModel
	Count builder.ModelCount
}

// Load reads a spec file, checks it completely (decoding, field rules, semantic rules against the
// dataset's shape) and expands its sweeps. Problems in the file or its dataset come back as an
// *InvalidError listing all of them.
func Load(path string) (*Experiment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	defer f.Close()
	// Read one byte more than a spec may have: spec.Parse reports the file as too large.
	src, err := io.ReadAll(io.LimitReader(f, spec.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	return LoadSource(path, src)
}

// LoadSource is Load for a spec already in memory; path names it in errors and anchors relative
// dataset paths.
func LoadSource(path string, src []byte) (*Experiment, error) {
	s, errs := spec.Parse(path, src)
	if s == nil {
		return nil, &InvalidError{errs}
	}
	info, dataErr := describeData(s)
	if dataErr != nil {
		errs = append(errs, dataErr)
	}
	errs = append(errs, spec.Validate(s, info)...)
	errs.Sort()
	if len(errs) > 0 {
		return nil, &InvalidError{errs}
	}
	models, errs := spec.Expand(s, info)
	if len(errs) > 0 {
		return nil, &InvalidError{errs}
	}
	e := &Experiment{Spec: s, Data: *info}
	for _, m := range models {
		e.Models = append(e.Models, Model{ResolvedModel: m, Count: builder.Count(m)})
	}
	return e, nil
}

// describeData reads the shape of the spec's dataset: MNIST's is known; the user's IDX files are
// read (headers and labels only). It returns nil info when the dataset is unknown or unreadable,
// with an error positioned at the dataset when it could not be read.
func describeData(s *spec.Spec) (*spec.DataInfo, *spec.Error) {
	switch {
	case s.Dataset.Builtin == "mnist":
		return toDataInfo(dataset.MNISTInfo()), nil
	case s.Dataset.IsFiles() && s.Dataset.Train != nil && s.Dataset.Test != nil:
		info, err := dataset.Describe(dataFiles(s))
		if err != nil {
			return nil, &spec.Error{Pos: s.PosOf("dataset"), Path: "dataset", Problem: err.Error(),
				Fix: "paths are relative to the spec file; the files must be IDX (gzipped or not)"}
		}
		return toDataInfo(info), nil
	}
	return nil, nil
}

func toDataInfo(i dataset.Info) *spec.DataInfo {
	return &spec.DataInfo{H: i.H, W: i.W, C: i.C, Classes: i.Classes}
}

func dataFiles(s *spec.Spec) dataset.Files {
	f := s.DataFiles()
	return dataset.Files{TrainImages: f[0], TrainLabels: f[1], TestImages: f[2], TestLabels: f[3]}
}

// loadData decodes the spec's dataset.
func loadData(s *spec.Spec) (*dataset.Data, error) {
	if s.Dataset.Builtin == "mnist" {
		return dataset.MNIST()
	}
	return dataset.Load(dataFiles(s))
}
