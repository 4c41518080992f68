package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Validate checks a parsed spec against the field rules (ranges, enums, required keys) and the
// semantic rules: widths known and at least 1 at every sweep point, every convolution and pooling
// window fitting its input, flatten between images and dense layers, the last layer matching the
// dataset's classes, sweeps neither empty nor repeating, names unique. data describes the dataset
// (input shape and classes); nil means it is unknown (for example, its files are missing), and
// then only models with an input: of their own are checked for shapes. Every problem is returned.
func Validate(s *Spec, data *DataInfo) ErrorList {
	errs := rules().check(s)
	errs = append(errs, s.checkDataset()...)
	ms := s.modelEntries()
	if len(ms) == 0 && s.Model == nil && s.Models == nil {
		errs = append(errs, s.errorAt("", "add model: {layers: [...]} or models: [{name: ..., layers: [...]}]", "the spec has no model"))
	}
	if s.Model != nil && s.Models != nil {
		errs = append(errs, s.errorAt("models", "keep model: for one model or move it into models:", "the spec has both model: and models:"))
	}
	if s.Models != nil && len(s.Models) == 0 {
		errs = append(errs, s.errorAt("models", "add at least one model", "models: is empty"))
	}
	names := map[string]Path{}
	for _, e := range ms {
		_, merrs := s.resolveModel(e.m, e.path, data)
		errs = append(errs, merrs...)
		name := e.name(s)
		if prev, dup := names[name]; dup && name != "" {
			errs = append(errs, s.errorAt(e.path.Child("name"), "give each model its own name",
				"model name %q is already used by %s", name, prev))
		}
		names[name] = e.path
	}
	errs = append(errs, s.checkOptimizer(s.Train.Optimizer, "train.optimizer", "")...)
	errs.Sort()
	return errs
}

type modelEntry struct {
	m    *Model
	path Path
}

func (e modelEntry) name(s *Spec) string {
	if e.m.Name == "" && e.path == "model" {
		return s.Name
	}
	return e.m.Name
}

func (s *Spec) modelEntries() []modelEntry {
	if s.Model != nil {
		return []modelEntry{{s.Model, "model"}}
	}
	out := make([]modelEntry, len(s.Models))
	for i := range s.Models {
		out[i] = modelEntry{&s.Models[i], Path("models").Index(i)}
	}
	return out
}

func (s *Spec) checkDataset() ErrorList {
	d := s.Dataset
	switch {
	case d.IsZero():
		if _, written := s.pos["dataset"]; !written {
			return ErrorList{s.errorAt("dataset", "add dataset: mnist, or dataset: {train: {images: PATH, labels: PATH}, test: {...}}", "the spec has no dataset")}
		}
		return ErrorList{s.errorAt("dataset", "write dataset: mnist, or dataset: {train: {images: PATH, labels: PATH}, test: {...}}", "the dataset is empty")}
	case d.Builtin != "":
		if !slices.Contains(Builtins, d.Builtin) {
			fix := "built-in datasets: " + strings.Join(Builtins, ", ") + "; or give your own IDX files as {train: {images: PATH, labels: PATH}, test: {...}}"
			if best := suggest(d.Builtin, Builtins); best != "" {
				fix = fmt.Sprintf("did you mean %q?", best)
			}
			return ErrorList{s.errorAt("dataset", fix, "unknown dataset %q", d.Builtin)}
		}
	default:
		var errs ErrorList
		if d.Train == nil {
			errs = append(errs, s.errorAt("dataset", "add train: {images: PATH, labels: PATH}", "the dataset has no train: files"))
		}
		if d.Test == nil {
			errs = append(errs, s.errorAt("dataset", "add test: {images: PATH, labels: PATH}", "the dataset has no test: files"))
		}
		return errs
	}
	return nil
}

// checkOptimizer reports parameters that the optimizer does not take. inherited is the name
// taken from the top-level train when o has none.
func (s *Spec) checkOptimizer(o *Optimizer, p Path, inherited string) ErrorList {
	if o == nil {
		return nil
	}
	name := o.Name
	if name == "" {
		name = inherited
	}
	if name == "" {
		name = DefaultOptimizer
	}
	takes, known := optimizerParams[name]
	if !known {
		return nil // the field rules report the name
	}
	var errs ErrorList
	for _, key := range o.setParams() {
		if !slices.Contains(takes, key) {
			var users []string
			for _, opt := range []string{"sgd", "rmsprop", "adam", "adadelta"} {
				if slices.Contains(optimizerParams[opt], key) {
					users = append(users, opt)
				}
			}
			errs = append(errs, s.errorAt(p.Child(key), fmt.Sprintf("%s takes %s", name, strings.Join(takes, ", ")),
				"%s is a parameter of %s, not of %s", key, strings.Join(users, " and "), name))
		}
	}
	return errs
}

var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
