package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ManifestFile is the name of the manifest inside an output folder.
const ManifestFile = "manifest.json"

// Manifest describes what a run set out to train: the spec, and every selected point with its
// result key. With results.jsonl it is all `nnsweep report DIR` needs, so a report can be made
// again (or merged with other folders) without the spec file or the dataset.
type Manifest struct {
	Spec        string          `json:"spec"`
	Description string          `json:"description,omitempty"`
	Target      float64         `json:"target"`
	SpecFile    string          `json:"spec_file"`
	SpecHash    string          `json:"spec_hash"`
	SpecText    string          `json:"spec_text"`
	Note        string          `json:"note,omitempty"` // command-line overrides, e.g. --epochs
	Models      []ManifestModel `json:"models"`
}

// ManifestModel is one model of a manifest.
type ManifestModel struct {
	Name       string          `json:"name"`
	Polynomial string          `json:"polynomial"`
	Points     []ManifestPoint `json:"points"`
}

// ManifestPoint is one point to train and the key its result is stored under.
type ManifestPoint struct {
	Label  string        `json:"label"`
	Key    string        `json:"key"`
	Params int64         `json:"params"`
	Layers []LayerParams `json:"layers"`
}

func (r *runState) manifest(jobs []job) Manifest {
	s := r.e.Spec
	mf := Manifest{Spec: s.Name, Description: strings.TrimSpace(s.Description), Target: s.Target.Min,
		SpecFile: s.File, SpecHash: s.Hash(), SpecText: string(s.Source), Note: r.overrideNote()}
	var cur *ManifestModel
	for _, j := range jobs {
		if cur == nil || cur.Name != j.model.Name {
			mf.Models = append(mf.Models, ManifestModel{Name: j.model.Name, Polynomial: j.model.Count.Params.String()})
			cur = &mf.Models[len(mf.Models)-1]
		}
		pc, _ := j.model.Count.At(j.point)
		mp := ManifestPoint{Label: j.point.String(), Key: j.key, Params: pc.Params}
		for _, l := range pc.Layers {
			mp.Layers = append(mp.Layers, LayerParams{Name: l.Name, Kind: l.Kind, Params: l.Params})
		}
		cur.Points = append(cur.Points, mp)
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
		parts = append(parts, fmt.Sprintf("trained for %d epochs with --epochs (the spec asks for %s)", r.opts.Epochs, strings.Join(asked, ", ")))
	}
	if r.opts.LimitTrain > 0 {
		parts = append(parts, fmt.Sprintf("trained on the first %d training examples only (--limit-train)", r.opts.LimitTrain))
	}
	if len(r.opts.Only) > 0 {
		parts = append(parts, "models selected with --only "+strings.Join(r.opts.Only, ","))
	}
	if len(r.opts.Points) > 0 {
		var sel []string
		for name, vals := range r.opts.Points {
			var v []string
			for _, x := range vals {
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

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
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
