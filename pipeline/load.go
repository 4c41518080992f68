package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/spec"
)

// Experiment is a loaded, valid spec: its models resolved and counted.
type Experiment struct {
	Spec *spec.Spec
	Data spec.DataInfo
	// Counts is the dataset's shape, numbers of examples and class names, read without decoding it.
	Counts dataset.Info
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
func Load(path string) (*Experiment, error) { return LoadContext(context.Background(), path) }

// LoadContext is Load that stops reading the dataset once ctx is done, with ctx's error.
func LoadContext(ctx context.Context, path string) (*Experiment, error) {
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
	return loadSource(ctx, path, src)
}

// LoadSource is Load for a spec already in memory; path names it in errors and anchors relative
// dataset paths.
func LoadSource(path string, src []byte) (*Experiment, error) {
	return loadSource(context.Background(), path, src)
}

func loadSource(ctx context.Context, path string, src []byte) (*Experiment, error) {
	s, errs := spec.Parse(path, src)
	if s == nil {
		return nil, &InvalidError{errs}
	}
	counts, info, dataErrs := describeData(ctx, s)
	if len(dataErrs) > 0 && ctx.Err() != nil {
		return nil, ctx.Err() // the dataset's files were not read to the end
	}
	// Expand reports Parse's errors again with its own, so errs from Parse are not kept.
	models, errs := spec.Expand(s, info)
	if errs = append(errs, dataErrs...); len(errs) > 0 {
		errs.Sort()
		return nil, &InvalidError{errs}
	}
	e := &Experiment{Spec: s, Data: *info, Counts: counts}
	for _, m := range models {
		e.Models = append(e.Models, Model{ResolvedModel: m, Count: builder.Count(m)})
	}
	return e, nil
}

// describeData reads the shape of the spec's dataset: MNIST's is known; the user's IDX files are
// read (headers and labels only). It returns nil info when the dataset is unknown or unreadable,
// with an error for each problem, positioned at the key that names the file at fault.
func describeData(ctx context.Context, s *spec.Spec) (dataset.Info, *spec.DataInfo, spec.ErrorList) {
	info, err := describeCounts(ctx, s)
	if err != nil {
		return info, nil, dataErrors(s, err)
	}
	if info.Classes == 0 {
		return info, nil, nil
	}
	return info, toDataInfo(info), nil
}

// describeCounts reads the shape and the numbers of training and test examples of the spec's
// dataset: MNIST's are known, Fashion-MNIST's once its files are found; the user's IDX files are
// read (headers and labels only), a CIFAR-10 folder's batch sizes. It returns a zero Info when
// the spec names no dataset it can read.
func describeCounts(ctx context.Context, s *spec.Spec) (dataset.Info, error) {
	d := s.Dataset
	switch {
	case d.Builtin == "mnist":
		return dataset.MNISTInfo(), nil
	case d.Builtin == "fashion-mnist":
		return dataset.DescribeFashionMNIST()
	case d.IsFolder() && d.Format == "cifar10" && d.Dir != "":
		return dataset.DescribeCIFAR10(s.DataDir())
	case d.IsFiles() && d.Train != nil && d.Test != nil:
		return dataset.Describe(ctx, dataFiles(s))
	}
	return dataset.Info{}, nil
}

// dataErrors turns the problems of the spec's dataset into spec errors, each at the key that
// names the file at fault (dataset.test.labels, …), or at dataset when no one file is. A
// cancelled read is returned as it is.
func dataErrors(s *spec.Spec, err error) spec.ErrorList {
	var out spec.ErrorList
	for _, p := range dataset.Problems(err) {
		path := spec.Path("dataset")
		switch {
		case s.Dataset.IsFolder():
			path = "dataset.dir"
		case s.Dataset.IsFiles():
			switch p.Role {
			case dataset.TrainImages:
				path = "dataset.train.images"
			case dataset.TrainLabels:
				path = "dataset.train.labels"
			case dataset.TestImages:
				path = "dataset.test.images"
			case dataset.TestLabels:
				path = "dataset.test.labels"
			}
		case s.PosOf("dataset.name") != s.PosOf("dataset"):
			path = "dataset.name"
		}
		fix := ""
		if errors.Is(p, fs.ErrNotExist) {
			fix = "paths are relative to the spec file's folder"
		}
		out = append(out, &spec.Error{Pos: s.PosOf(path), Path: path, Problem: p.Error(), Fix: fix})
	}
	return out
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

// dataIdentity returns the Name and Checksum that loadData's dataset will have, decoding it only
// where it must: MNIST's are known, and the user's IDX files are hashed as dataset.Data.Checksum
// says (the SHA-256 of the SHA-256 digests of the four files as stored), which is much cheaper
// than decoding them. The result keys need the checksum; the data itself only what is trained.
// Other data sets, and normalised ones, are loaded: then data is the loaded set, else nil.
func dataIdentity(ctx context.Context, s *spec.Spec) (name, checksum string, data *dataset.Data, err error) {
	switch {
	case s.Dataset.Normalize != nil:
	case s.Dataset.Builtin == "mnist":
		return "mnist", mnistChecksum, nil, nil
	case s.Dataset.IsFiles():
		f := dataFiles(s)
		all := sha256.New()
		for _, path := range []string{f.TrainImages, f.TrainLabels, f.TestImages, f.TestLabels} {
			h := sha256.New()
			file, err := os.Open(path)
			if err != nil {
				return "", "", nil, err
			}
			_, err = io.Copy(h, file)
			file.Close()
			if err != nil {
				return "", "", nil, fmt.Errorf("%s: %w", path, err)
			}
			all.Write(h.Sum(nil))
		}
		return "idx:" + f.TrainImages, hex.EncodeToString(all.Sum(nil)), nil, nil
	}
	if data, err = loadData(ctx, s); err != nil {
		return "", "", nil, err
	}
	return data.Name, data.Checksum, data, nil
}

// loadData decodes the spec's dataset and normalises it as the spec says. Problems with its files
// come back as an *InvalidError positioned like describeData's; a cancelled read as ctx's error.
func loadData(ctx context.Context, s *spec.Spec) (*dataset.Data, error) {
	var d *dataset.Data
	var err error
	switch {
	case s.Dataset.Builtin == "mnist":
		d, err = dataset.MNIST()
	case s.Dataset.Builtin == "fashion-mnist":
		d, err = dataset.FashionMNIST(ctx)
	case s.Dataset.IsFolder():
		d, err = dataset.LoadCIFAR10(ctx, s.DataDir())
	default:
		d, err = dataset.Load(ctx, dataFiles(s))
	}
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err() // the dataset's files were not read to the end
	}
	if err != nil {
		return nil, &InvalidError{dataErrors(s, err)}
	}
	n := s.Dataset.Normalize
	if n == nil {
		return d, nil
	}
	norm := dataset.Normalization{Mean: n.Mean, Std: n.Std}
	if n.PerChannel {
		norm = dataset.ChannelStats(d.Train)
	}
	d, err = dataset.Normalize(d, norm, n.String())
	if err != nil {
		return nil, &InvalidError{spec.ErrorList{{Pos: s.PosOf("dataset.normalize"), Path: "dataset.normalize", Problem: err.Error()}}}
	}
	return d, nil
}

// manifestDataset describes the data set of that name and checksum, with those counts,
// normalised by n (nil for none), for the manifest.
func manifestDataset(name, checksum string, info dataset.Info, n *spec.Normalize) *ManifestDataset {
	md := &ManifestDataset{Name: name, Checksum: checksum, Train: info.TrainN, Test: info.TestN,
		Shape: [3]int{info.H, info.W, info.C}, Classes: info.Classes, ClassNames: info.ClassNames}
	if n != nil {
		md.Normalize = n.String()
	}
	return md
}

// reportData is the report's view of a manifest's dataset.
func reportData(md *ManifestDataset) *report.Data {
	if md == nil {
		return nil
	}
	return &report.Data{Name: md.Name, Train: md.Train, Test: md.Test, H: md.Shape[0], W: md.Shape[1], C: md.Shape[2],
		Classes: md.Classes, ClassNames: md.ClassNames, Normalize: md.Normalize}
}
