package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/report"
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
func Load(path string) (*Experiment, error) { return LoadContext(context.Background(), path) }

// LoadContext is Load that stops reading the dataset once ctx is done, with ctx's error.
func LoadContext(ctx context.Context, path string) (*Experiment, error) {
	src, err := os.ReadFile(path)
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
	info, dataErrs := describeData(ctx, s)
	if len(dataErrs) > 0 && ctx.Err() != nil {
		return nil, ctx.Err() // the dataset's files were not read to the end
	}
	errs = append(errs, dataErrs...)
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
// with an error for each problem, positioned at the key that names the file at fault.
func describeData(ctx context.Context, s *spec.Spec) (*spec.DataInfo, spec.ErrorList) {
	info, err := describeCounts(ctx, s)
	if err != nil {
		return nil, dataErrors(s, err)
	}
	if info.Classes == 0 {
		return nil, nil
	}
	return toDataInfo(info), nil
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

// manifestDataset describes d, normalised by n (nil for none), for the manifest.
func manifestDataset(d *dataset.Data, n *spec.Normalize) *ManifestDataset {
	if d == nil {
		return nil
	}
	info := d.Info()
	md := &ManifestDataset{Name: d.Name, Train: info.TrainN, Test: info.TestN, Shape: [3]int{info.H, info.W, info.C},
		Classes: info.Classes, ClassNames: info.ClassNames}
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
