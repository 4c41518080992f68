package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
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

// mnistChecksum is the Checksum of dataset.MNIST(), known without decoding it (a test checks it).
const mnistChecksum = "649ad68afef80c093fbe9b73e2b92380fe7db35a7b6fec6f2f6738a4ee6f6dc5"

// dataIdentity returns the Name and Checksum that loadData's dataset will have, without decoding
// it: MNIST's are known, and the user's files are hashed as dataset.Data.Checksum says (the
// SHA-256 of the SHA-256 digests of the four files as stored), which is much cheaper than
// decoding them. The result keys need the checksum; the data itself only what is trained.
func dataIdentity(s *spec.Spec) (name, checksum string, err error) {
	if s.Dataset.Builtin == "mnist" {
		return "mnist", mnistChecksum, nil
	}
	f := dataFiles(s)
	all := sha256.New()
	for _, path := range []string{f.TrainImages, f.TrainLabels, f.TestImages, f.TestLabels} {
		h := sha256.New()
		file, err := os.Open(path)
		if err != nil {
			return "", "", err
		}
		_, err = io.Copy(h, file)
		file.Close()
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", path, err)
		}
		all.Write(h.Sum(nil))
	}
	return "idx:" + f.TrainImages, hex.EncodeToString(all.Sum(nil)), nil
}

// loadData decodes the spec's dataset.
func loadData(s *spec.Spec) (*dataset.Data, error) {
	if s.Dataset.Builtin == "mnist" {
		return dataset.MNIST()
	}
	return dataset.Load(dataFiles(s))
}
