package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnsweep/nnsweep/internal/atomicfile"
)

// ManifestFile is the name of the manifest inside an output folder.
const ManifestFile = "manifest.json"

// Manifest describes what a run set out to train: the spec, and every selected point with its
// result key. With the results files it is all `nnsweep report DIR` needs, so a report can be made
// again (or merged with other folders) without the spec file or the dataset.
//
// A run split into shards lists every point of the sweep, not only its shard's, with the shard
// that trains it: the manifest depends on the spec and the options but not on the shard, so the
// shards of one sweep all write the same manifest into their shared folder.
type Manifest struct {
	Spec        string  `json:"spec"`
	Description string  `json:"description,omitempty"`
	Target      float64 `json:"target"`
	SpecFile    string  `json:"spec_file"`
	SpecHash    string  `json:"spec_hash"`
	SpecText    string  `json:"spec_text"`
	Note        string  `json:"note,omitempty"` // command-line overrides, e.g. --epochs
	// Rule is the spec's target.rule: which figure of a point's seeds must meet the target.
	Rule string `json:"rule,omitempty"`
	// Shards is the number of shards the run was split into; 0 when it was not.
	Shards int             `json:"shards,omitempty"`
	Models []ManifestModel `json:"models"`
	// Dataset describes the data the run trained on, for the report; absent in older manifests.
	Dataset *ManifestDataset `json:"dataset,omitempty"`
}

// ManifestDataset describes a run's data set: its name and checksum (dataset.Data's Name and
// Checksum, as in Record), its numbers of training and test examples, its image shape [H, W, C],
// its classes, their names in label order when the data names them, and the normalisation in the
// spec's words.
type ManifestDataset struct {
	Name       string   `json:"name"`
	Checksum   string   `json:"checksum,omitempty"`
	Train      int      `json:"train"`
	Test       int      `json:"test"`
	Shape      [3]int   `json:"shape"`
	Classes    int      `json:"classes"`
	ClassNames []string `json:"class_names,omitempty"`
	Normalize  string   `json:"normalize,omitempty"`
}

// ManifestModel is one model of a manifest.
type ManifestModel struct {
	Name       string          `json:"name"`
	Polynomial string          `json:"polynomial"`
	Points     []ManifestPoint `json:"points"`
	// Search is "bisect" when the model's points are searched rather than all trained (empty for
	// grid). A bisect run rewrites the manifest when its search ends: SearchDone is then true, and
	// the points it left out are skipped, not missing. SearchNotes explain its detours.
	Search      string   `json:"search,omitempty"`
	SearchDone  bool     `json:"search_done,omitempty"`
	SearchNotes []string `json:"search_notes,omitempty"`
	// Recipe describes the training recipe beyond the optimizer's update (spec.Training.Recipe);
	// empty when none is set.
	Recipe string `json:"recipe,omitempty"`
	// SearchEvaluated lists the labels of the points a finished search evaluated (trained, or
	// read from the store), in order, and SearchGuided how many of them the power-law fit proposed.
	SearchEvaluated []string `json:"search_evaluated,omitempty"`
	SearchGuided    int      `json:"search_guided,omitempty"`
}

// ManifestPoint is one point to train and the key its result is stored under.
type ManifestPoint struct {
	Label  string `json:"label"`
	Key    string `json:"key"` // the first seed's key
	Params int64  `json:"params"`
	MACs   int64  `json:"macs"` // forward multiply-adds per example
	// NonTrainable and Folded are the point's non-trainable parameters and its count with batch
	// norm folded (builder.PointCount), set only for models with batch norm.
	NonTrainable int64 `json:"non_trainable,omitempty"`
	Folded       int64 `json:"folded,omitempty"`
	// Layers are the per-layer parameter counts, in manifests of earlier builds only; the records
	// carry them now, so that a manifest's size does not grow with the layers of every point.
	Layers []LayerParams `json:"layers,omitempty"`
	// Shard is the 0-based shard that trains the point and Cost its estimated cost in
	// multiply-adds (see CostFormula), both set only when the run was split into shards.
	Shard *int  `json:"shard,omitempty"`
	Cost  int64 `json:"cost,omitempty"`
	// Seeds lists every seed's key (and shard) when the spec repeats each point (repeats > 1).
	Seeds []ManifestSeed `json:"seeds,omitempty"`
}

// ManifestSeed is one seed of a repeated point.
type ManifestSeed struct {
	Seed  int64  `json:"seed"`
	Key   string `json:"key"`
	Shard *int   `json:"shard,omitempty"`
}

// runs returns the keys and shards of every seed of the point.
func (mp ManifestPoint) runs() []ManifestSeed {
	if len(mp.Seeds) > 0 {
		return mp.Seeds
	}
	return []ManifestSeed{{Key: mp.Key, Shard: mp.Shard}}
}

// manifest lists jobs, every point of the run in plan order, split among shards as sp says.
func (r *runState) manifest(jobs []job, sp shardPlan) Manifest {
	s := r.e.Spec
	mf := Manifest{Spec: s.Name, Description: strings.TrimSpace(s.Description), Target: s.Target.Min,
		SpecFile: s.File, SpecHash: s.Hash(), SpecText: string(s.Source), Note: r.overrideNote(), Shards: sp.Count,
		Rule: s.Target.Rule, Dataset: manifestDataset(r.dataName, r.dataChecksum, r.e.Counts, s.Dataset.Normalize)}
	var cur *ManifestModel
	var mp *ManifestPoint
	for i, j := range jobs {
		if cur == nil || cur.Name != j.model.Name {
			mf.Models = append(mf.Models, ManifestModel{Name: j.model.Name, Polynomial: j.model.Count.Params.String(), Recipe: j.model.Train.Recipe()})
			cur = &mf.Models[len(mf.Models)-1]
			if j.model.Search == "bisect" {
				cur.Search = "bisect"
				if st, ok := r.searches[j.model.Name]; ok {
					cur.SearchDone, cur.SearchNotes = st.done, st.notes
					cur.SearchEvaluated, cur.SearchGuided = st.evaluated, st.guided
				}
			}
			mp = nil
		}
		var shard *int
		if sp.Count > 0 {
			shard = &sp.Shard[i]
		}
		if j.repeat == 0 {
			pc, _ := j.model.Count.At(j.point)
			cur.Points = append(cur.Points, ManifestPoint{Label: j.point.String(), Key: j.key, Params: pc.Params, MACs: pc.MACs})
			mp = &cur.Points[len(cur.Points)-1]
			if j.model.Count.HasNonTrainable() {
				mp.NonTrainable, mp.Folded = pc.NonTrainable, pc.Folded
			}
			if sp.Count > 0 {
				mp.Shard, mp.Cost = shard, sp.Cost[i]
			}
		}
		if j.model.Repeats > 1 {
			mp.Seeds = append(mp.Seeds, ManifestSeed{Seed: j.seed, Key: j.key, Shard: shard})
		}
	}
	return mf
}

// overrideNote says which command-line flags changed what the spec asks for.
func (r *runState) overrideNote() string {
	var parts []string
	if r.opts.Epochs > 0 {
		var asked []string
		for i := range r.e.Models {
			asked = append(asked, fmt.Sprintf("%s %d", r.e.Models[i].Name, r.specEpochs(&r.e.Models[i])))
		}
		parts = append(parts, fmt.Sprintf("trained for %s with --epochs (the spec asks for %s)", plural(r.opts.Epochs, "epoch"), strings.Join(asked, ", ")))
	}
	if r.opts.LimitTrain > 0 {
		parts = append(parts, fmt.Sprintf("trained on the first %d training examples only (--limit-train)", r.opts.LimitTrain))
	}
	if len(r.opts.Only) > 0 {
		parts = append(parts, "models selected with --only "+strings.Join(r.opts.Only, ","))
	}
	if r.opts.Search != "" {
		parts = append(parts, "searched with --search "+r.opts.Search)
	}
	if len(r.opts.Points) > 0 {
		var sel []string
		for _, name := range slices.Sorted(maps.Keys(r.opts.Points)) { // sorted: the shards' manifests must agree
			var v []string
			for _, x := range r.opts.Points[name] {
				v = append(v, fmt.Sprint(x))
			}
			sel = append(sel, name+"="+strings.Join(v, ","))
		}
		parts = append(parts, "points selected with --points "+strings.Join(sel, " "))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.ToUpper(parts[0][:1]) + strings.Join(parts, "; ")[1:] + "."
}

// writeManifest writes the manifest of jobs split as sp into the output folder. A shard warns when
// the folder's manifest was written for another plan: the shards of one sweep must run the same
// spec with the same options, or their manifests replace each other's.
func (r *runState) writeManifest(jobs []job, sp shardPlan) error {
	mf := r.manifest(jobs, sp)
	b, err := encodeManifest(mf)
	if err != nil {
		return err
	}
	path := filepath.Join(r.opts.Out, ManifestFile)
	if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, b) {
		var om Manifest
		json.Unmarshal(old, &om)
		switch {
		case r.opts.Shard.Sharded():
			fmt.Fprintf(r.stderr, "warning: %s was written for another plan (%s); every shard of a sweep must run the same spec with the same options and number of shards\n",
				path, manifestDifference(om, mf))
		case om.Shards > 0:
			fmt.Fprintf(r.stderr, "warning: %s was written for a sweep split into %d shards; this run is not a shard and rewrites it, so `nnsweep report` no longer names the shard of a missing point (give --shard I/%d to run one shard)\n",
				path, om.Shards, om.Shards)
		}
	}
	return atomicfile.Write(path, b)
}

// manifestDifference names the first thing that differs between two manifests.
func manifestDifference(a, b Manifest) string {
	switch {
	case a.SpecHash != b.SpecHash:
		return "another spec"
	case a.SpecFile != b.SpecFile:
		return fmt.Sprintf("spec path %s, this run %s", a.SpecFile, b.SpecFile)
	case a.Shards != b.Shards:
		return fmt.Sprintf("%d shards, this run %d", a.Shards, b.Shards)
	case a.Note != b.Note:
		return fmt.Sprintf("options %q, this run %q", a.Note, b.Note)
	}
	return "other points or keys"
}

// encodeManifest is the manifest file's content.
func encodeManifest(m Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// readManifest reads dir's manifest; it is missing when nothing was run in dir.
func readManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%s has no %s: it is not an nnsweep output folder (run `nnsweep run SPEC --out %s` first)", dir, ManifestFile, dir)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}
