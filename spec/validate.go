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
// dataset's classes, sweeps neither empty nor repeating nor unused, names unique. data describes
// the dataset (input shape and classes); nil means it is unknown (for example, its files are
// missing), and then only models with an input: of their own are checked for shapes. Every problem
// is returned, sorted. Values that Parse rejected are not reported again, so Validate may run on
// the spec of a file with errors; it never panics, and returns nil for a nil spec.
func Validate(s *Spec, data *DataInfo) ErrorList {
	if s == nil {
		return nil
	}
	_, errs := s.resolve(data)
	return errs
}

// resolve checks s as Validate does and resolves its models on the way, each once: Validate
// keeps the errors and Expand the models.
func (s *Spec) resolve(data *DataInfo) ([]ResolvedModel, ErrorList) {
	errs := rules().check(s)
	errs = append(errs, s.checkName()...)
	errs = append(errs, s.checkTarget()...)
	errs = append(errs, s.checkDataset(data)...)
	ms := s.modelEntries()
	switch {
	case s.Model == nil && s.Models == nil && !s.rejected("model") && !s.rejected("models"):
		errs = append(errs, s.errorAt("", "add model: {layers: [...]} or models: [{name: ..., layers: [...]}]", "the spec has no model"))
	case s.Model != nil && s.Models != nil:
		errs = append(errs, s.errorAt("models", "keep model: for one model, or move it into models: with a name", "the spec has both model: and models:"))
	case s.Models != nil && len(s.Models) == 0:
		errs = append(errs, s.errorAt("models", "add at least one model: models: [{name: mlp, layers: [...]}]", "the list of models is empty"))
	}
	names := map[string]Path{}
	var models []ResolvedModel
	for _, e := range ms {
		m, merrs := s.resolveModel(e.m, e.path, data)
		models = append(models, m)
		errs = append(errs, merrs...)
		name := e.name(s)
		if prev, dup := names[name]; dup && name != "" {
			errs = append(errs, s.errorAt(e.path.Child("name"), "give each model its own name",
				"model name %q is already used by %s", name, prev))
		}
		names[name] = e.path
	}
	errs = append(errs, s.checkTopSweep(ms)...)
	errs = append(errs, s.checkOptimizer(s.Train.Optimizer, "train.optimizer", "")...)
	errs = append(errs, s.checkRecipe(&s.Train, "train")...)
	errs.Sort()
	return models, errs
}

// hasUnknownVars reports whether a width of m uses a variable that sweep lacks.
func hasUnknownVars(m *Model, sweep Sweep) bool {
	for v := range usedVars(m) {
		if _, ok := sweep.Lookup(v); !ok {
			return true
		}
	}
	return false
}

// nameFix says how to write a name that becomes a folder name.
const nameFix = "use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. mnist-cnn"

// layerNameFix says how to write a layer's name, which tables, reports and terminals show.
const layerNameFix = "use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. conv_a"

// checkName checks the spec's name, which names the folder of its results.
func (s *Spec) checkName() ErrorList {
	if s.Name == "" || modelName.MatchString(s.Name) {
		return nil
	}
	return ErrorList{s.errorAt("name", nameFix, "%q is not a valid name: it names the folder runs/<name>/", s.Name)}
}

// checkTarget reports a missing target; the field rules check its values.
func (s *Spec) checkTarget() ErrorList {
	if s.written("target") || s.rejected("target") {
		return nil
	}
	return ErrorList{s.errorAt("target", "add target: {metric: accuracy, min: 0.97}", "the spec has no target")}
}

// checkTopSweep reports top-level sweep variables that no model uses: a model uses one when a
// width names it and the model does not sweep it itself.
func (s *Spec) checkTopSweep(ms []modelEntry) ErrorList {
	var errs ErrorList
	for _, e := range ms {
		if s.rejectedWithin(e.path.Child("layers")) || hasUnknownVars(e.m, s.Sweep.Override(e.m.Sweep)) {
			return nil // a width that did not parse, or a misspelt variable, may be the use
		}
	}
	for _, v := range s.Sweep.Vars {
		used := false
		for _, e := range ms {
			if _, own := e.m.Sweep.Lookup(v.Name); usedVars(e.m)[v.Name] && !own {
				used = true
			}
		}
		if !used && len(ms) > 0 {
			errs = append(errs, s.errorAt(Path("sweep").Child(v.Name), fmt.Sprintf("use it in a width (units: 2%s) or remove it", v.Name),
				"sweep variable %q is not used by any model", v.Name))
		}
	}
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

// modelEntries returns the spec's models with their paths, leaving out those Parse rejected.
func (s *Spec) modelEntries() []modelEntry {
	if s.Model != nil {
		return []modelEntry{{s.Model, "model"}}
	}
	var out []modelEntry
	for i := range s.Models {
		if p := Path("models").Index(i); !s.rejected(p) {
			out = append(out, modelEntry{&s.Models[i], p})
		}
	}
	return out
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
		if !OptimizerTakes(name, key) {
			var users []string
			for _, opt := range classicOptimizers {
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
