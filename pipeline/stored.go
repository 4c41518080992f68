package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/report"
	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// StoredModel is one finished training of an output folder with its weights: the model as its
// folder's manifest resolves it, the point, the training's record and the weights it was tested
// with.
type StoredModel struct {
	Dir     string
	Spec    *spec.Spec
	Model   spec.ResolvedModel
	Point   spec.Point
	Record  Record
	Weights *builder.Weights
	// Chosen says how the training was chosen when the request left the point or the seed out,
	// e.g. "the turning point n=4 (mean rule), its best seed 2 (98.52%)"; empty otherwise.
	Chosen string
}

// StoredRequest names a training of an output folder: a model, a point ("n=2"; empty: the
// model's turning point) and a seed (nil: the point's seed of the highest test accuracy).
type StoredRequest struct {
	Model string
	Point string
	Seed  *int64
}

// OpenStoredModel finds the training req names in the output folder dir and reads its weights.
// A model the folder does not have, a point it never trained and a training without weights (a
// folder of an older build) are errors that say what the folder has.
func OpenStoredModel(dir string, req StoredRequest) (*StoredModel, error) {
	mf, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	s, models, err := expandManifestSpec(dir, &mf)
	if err != nil {
		return nil, err
	}
	mi, ri, err := findStoredModel(dir, &mf, models, req.Model)
	if err != nil {
		return nil, err
	}
	mm, rm := mf.Models[mi], models[ri]
	store, _, err := OpenStore(dir)
	if err != nil {
		return nil, err
	}
	sm := &StoredModel{Dir: dir, Spec: s, Model: rm}
	label, chosen, err := storedPointLabel(dir, req.Point, mi, mm, rm)
	if err != nil {
		return nil, err
	}
	trained, err := storedTrainings(dir, &mf, mm, store, req.Point, label)
	if err != nil {
		return nil, err
	}
	rec, chosen, err := chooseStoredSeed(dir, mm, label, trained, req.Seed, chosen)
	if err != nil {
		return nil, err
	}
	sm.Record, sm.Chosen = rec, chosen
	for _, p := range rm.Points {
		if p.String() == label {
			sm.Point = p
		}
	}
	want, err := builder.NewWeights(rm, sm.Point, rec.Seed)
	if err != nil {
		return nil, err
	}
	if sm.Weights, err = readWeights(dir, rec, want); err != nil {
		if rec.Weights == "" {
			err = fmt.Errorf("%w: `nnsweep run %s --out %s --only %s --points %s --force`", err, mf.SpecFile, dir, mm.Name, strings.ReplaceAll(label, ", ", " --points "))
		}
		return nil, err
	}
	return sm, nil
}

// expandManifestSpec parses and expands the spec the manifest of dir holds, for the data shape the
// manifest records. A manifest without a dataset (of a build older than stored weights) is an error.
func expandManifestSpec(dir string, mf *Manifest) (*spec.Spec, []spec.ResolvedModel, error) {
	if mf.Dataset == nil {
		return nil, nil, fmt.Errorf("%s was written by an nnsweep build older than its weights: its manifest does not describe the data; run the spec again into a new folder", dir)
	}
	s, errs := spec.Parse(mf.SpecFile, []byte(mf.SpecText))
	if s == nil || len(errs) > 0 {
		return nil, nil, fmt.Errorf("%s: the manifest's spec: %v", dir, errs)
	}
	info := &spec.DataInfo{H: mf.Dataset.Shape[0], W: mf.Dataset.Shape[1], C: mf.Dataset.Shape[2], Classes: mf.Dataset.Classes}
	models, errs := spec.Expand(s, info)
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%s: the manifest's spec: %v", dir, errs)
	}
	return s, models, nil
}

// findStoredModel returns the index of the model called name among the manifest's models (mi) and
// among the expanded models (ri); an empty name picks the folder's only model.
func findStoredModel(dir string, mf *Manifest, models []spec.ResolvedModel, name string) (mi, ri int, err error) {
	var names []string
	for _, mm := range mf.Models {
		names = append(names, mm.Name)
	}
	mi = slices.IndexFunc(mf.Models, func(mm ManifestModel) bool { return mm.Name == name })
	ri = slices.IndexFunc(models, func(m spec.ResolvedModel) bool { return m.Name == name })
	if name == "" && len(names) == 1 {
		mi, ri = 0, slices.IndexFunc(models, func(m spec.ResolvedModel) bool { return m.Name == names[0] })
	}
	if name == "" && len(names) > 1 {
		return 0, 0, &UsageError{fmt.Sprintf("%s has %d models (%s): name one with --model", dir, len(names), strings.Join(names, ", "))}
	}
	if mi < 0 || ri < 0 {
		return 0, 0, &UsageError{fmt.Sprintf("--model %q: %s has no model of that name; it has %s", name, dir, strings.Join(names, ", "))}
	}
	return mi, ri, nil
}

// storedPointLabel returns the label of the point that point ("n=2") names in the model, or, when
// point is empty, the model's turning point in the folder's report together with how it was
// chosen. mi is the model's index in the manifest (and so in the report).
func storedPointLabel(dir, point string, mi int, mm ManifestModel, rm spec.ResolvedModel) (label, chosen string, err error) {
	if point == "" {
		rep, err := loadReport(dir, io.Discard)
		if err != nil {
			return "", "", err
		}
		tp := report.TurningPointByRule(rep.Models[mi], rep.Target, rep.Rule)
		if !tp.Found {
			return "", "", &UsageError{fmt.Sprintf("model %s in %s has no turning point (no point reaches %s): name one with --point", mm.Name, dir, percentOf(rep.Target))}
		}
		return tp.Label, fmt.Sprintf("the turning point %s (%s rule)", tp.Label, cmp.Or(rep.Rule, "mean")), nil
	}
	at, err := ParseAt(point)
	if err != nil {
		return "", "", &UsageError{strings.Replace(err.Error(), "--at", "--point", 1)}
	}
	p := spec.Point{}
	for _, v := range rm.Vars {
		p = append(p, spec.VarValue{Name: v, Value: at[v]})
	}
	if len(at) != len(rm.Vars) {
		return point, "", nil // names a variable the model lacks: no point matches
	}
	return p.String(), "", nil
}

// storedTrainings returns the stored records of the model's point with the given label, one per
// trained seed; a point the manifest lacks (asked for as point) or one never trained is an error.
func storedTrainings(dir string, mf *Manifest, mm ManifestModel, store *Store, point, label string) ([]Record, error) {
	pi := slices.IndexFunc(mm.Points, func(mp ManifestPoint) bool { return mp.Label == label })
	if pi < 0 {
		var labels []string
		for _, mp := range mm.Points {
			labels = append(labels, mp.Label)
		}
		return nil, &UsageError{fmt.Sprintf("--point %q: model %s in %s has no such point; its points are %s", point, mm.Name, dir, strings.Join(labels, "; "))}
	}
	var trained []Record
	for _, run := range mm.Points[pi].runs() {
		if rec, ok := store.Lookup(run.Key); ok {
			trained = append(trained, rec)
		}
	}
	if len(trained) == 0 {
		return nil, fmt.Errorf("%s %s was never trained in %s: train it with `nnsweep run %s --out %s --only %s --points %s`", mm.Name, label, dir, mf.SpecFile, dir, mm.Name, strings.ReplaceAll(label, ", ", " --points "))
	}
	return trained, nil
}

// chooseStoredSeed picks among the point's trainings the one of the given seed or, when seed is
// nil, the one of the highest test accuracy among those that did not diverge, extending chosen
// (how the point was chosen) with how the seed was. A diverged training is an error.
func chooseStoredSeed(dir string, mm ManifestModel, label string, trained []Record, seed *int64, chosen string) (Record, string, error) {
	var rec Record
	if seed != nil {
		i := slices.IndexFunc(trained, func(r Record) bool { return r.Seed == *seed })
		if i < 0 {
			var seeds []string
			for _, r := range trained {
				seeds = append(seeds, fmt.Sprint(r.Seed))
			}
			return Record{}, "", &UsageError{fmt.Sprintf("--seed %d: %s %s in %s was trained with the seeds %s only", *seed, mm.Name, label, dir, strings.Join(seeds, ", "))}
		}
		rec = trained[i]
	} else {
		rec = trained[0]
		for _, r := range trained[1:] {
			if r.Status == runner.StatusOK && (rec.Status != runner.StatusOK || r.TestAccuracy > rec.TestAccuracy) {
				rec = r
			}
		}
		if len(trained) > 1 {
			chosen = strings.TrimPrefix(fmt.Sprintf("%s, the best of its %d seeds (%s)", chosen, len(trained), strconv.FormatFloat(100*rec.TestAccuracy, 'f', 2, 64)+"%"), ", ")
		}
	}
	if rec.Status != runner.StatusOK {
		return Record{}, "", fmt.Errorf("%s %s seed %d in %s diverged: its weights are not a model to use", mm.Name, label, rec.Seed, dir)
	}
	return rec, chosen, nil
}

// Evaluate runs the stored model over set as its training evaluated the test set (the same
// engine, graph and batch size), returning the loss and accuracy and, when probs is not nil,
// every example's softmax probabilities ([set.N, classes], row-major).
func (sm *StoredModel) Evaluate(set *dataset.Set, probs *[]float32) (runner.Metrics, error) {
	ops, err := runner.EngineOps(sm.Record.Engine)
	if err != nil {
		return runner.Metrics{}, err
	}
	return runner.Evaluate(sm.Model, sm.Point, sm.Weights, set, runner.Options{Ops: ops}, probs)
}

// TestData loads the test set the stored model was tested on, from the dataset its spec names
// (paths relative to the spec file as the manifest names it).
func (sm *StoredModel) TestData() (*dataset.Set, error) {
	d, err := loadData(context.Background(), sm.Spec)
	if err != nil {
		return nil, err
	}
	if sm.Record.DatasetChecksum != "" && d.Checksum != sm.Record.DatasetChecksum {
		return nil, fmt.Errorf("the dataset %s has changed since %s %s was trained (checksum %.12s…, then %.12s…)", d.Name, sm.Record.Model, sm.Record.Point, d.Checksum, sm.Record.DatasetChecksum)
	}
	return d.Test, nil
}
