package spec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// fieldRules checks the struct-tag rules (ranges, enums, required keys) through
// go-playground/validator, with paths in YAML names and messages that say what was found and
// what to write instead.
type fieldRules struct {
	v *validator.Validate
}

var rules = sync.OnceValue(func() *fieldRules {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := yamlName(f); name != "" {
			return name
		}
		return strings.ToLower(f.Name)
	})
	return &fieldRules{v: v}
})

// check runs the tag rules over s and returns positioned errors. Values that Parse rejected are
// not checked again.
func (r *fieldRules) check(s *Spec) ErrorList {
	err := r.v.Struct(s)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return nil
	}
	var out ErrorList
	for _, fe := range verrs {
		// The namespace reads "Spec.models[0].train.epochs"; drop the type name.
		ns := fe.Namespace()
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest
		}
		p := Path(ns)
		if s.rejected(p) || strings.HasPrefix(ns, "target.") && !s.written("target") {
			continue // reported by Parse, or as a missing target by Validate
		}
		problem, fix := fieldMessage(fe, fieldTag(fe.StructNamespace()), s.written(p))
		if fix == "" {
			fix = exampleFix(p, "")
		}
		out = append(out, s.errorAt(p, fix, "%s", problem))
	}
	return out
}

// fieldExamples are values to suggest for keys, by YAML key.
var fieldExamples = map[string]string{
	"name":             "mnist-mlp",
	"description":      "\"what this experiment asks\"",
	"dataset":          "mnist",
	"target":           "{metric: accuracy, min: 0.97}",
	"metric":           "accuracy",
	"min":              "0.97",
	"train":            "{epochs: 12, batch_size: 128}",
	"epochs":           "12",
	"batch_size":       "128",
	"seed":             "1",
	"validation_split": "0.1",
	"optimizer":        "{name: adam, learning_rate: 0.001}",
	"learning_rate":    "0.001",
	"momentum":         "0.9",
	"nesterov":         "true",
	"rho":              "0.9",
	"beta_1":           "0.9",
	"beta_2":           "0.999",
	"epsilon":          "1e-07",
	"weight_decay":     "0.004",
	"schedule":         "{name: cosine, warmup_epochs: 1}",
	"label_smoothing":  "0.1",
	"augment":          "{shift: 2, rotate: 10, zoom: 0.1}",
	"shift":            "2",
	"rotate":           "10",
	"zoom":             "0.1",
	"warmup_epochs":    "1",
	"model":            "{layers: [...]}",
	"models":           "[{name: mlp, layers: [...]}]",
	"layers":           "[{flatten: {}}, {dense: {units: 10, activation: softmax}}]",
	"input":            "[28, 28, 1]",
	"activation":       "relu",
	"padding":          "same",
	"use_bias":         "false",
	"rate":             "0.5",
	"images":           "PATH",
	"labels":           "PATH",
}

// exampleFix returns "write KEY: EXAMPLE" for the last key of p, or generic when there is no
// example for it.
func exampleFix(p Path, generic string) string {
	key := string(p[strings.LastIndexByte(string(p), '.')+1:])
	if i := strings.IndexByte(key, '['); i >= 0 {
		return generic
	}
	if ex, ok := fieldExamples[key]; ok {
		return fmt.Sprintf("for example %s: %s", key, ex)
	}
	return generic
}

// optionAliases are other libraries' names of an option, suggested in place of the nearest spelling.
var optionAliases = map[string]string{"silu": "swish"}

// fieldMessage words a failed tag rule as a problem and a fix. tag is the field's whole validate
// tag; written is whether the user wrote the value.
func fieldMessage(fe validator.FieldError, tag string, written bool) (problem, fix string) {
	field := fe.Field()
	example := fieldExamples[field]
	noun := field
	if strings.HasSuffix(fe.StructNamespace(), "Optimizer.Name") {
		noun = "optimizer"
	}
	if strings.HasSuffix(fe.StructNamespace(), "Schedule.Name") {
		noun, example = "schedule", "cosine"
	}
	switch fe.Tag() {
	case "required":
		if example == "" {
			example = "..."
		}
		return fmt.Sprintf("%s is required", field), fmt.Sprintf("add %s: %s", field, example)
	case "oneof":
		options := strings.Fields(fe.Param())
		s, _ := fe.Value().(string)
		fix = "use one of: " + strings.Join(options, ", ")
		best := suggest(s, options)
		if alias, ok := optionAliases[strings.ToLower(s)]; ok && slices.Contains(options, alias) {
			best = alias
		}
		if best != "" {
			fix = fmt.Sprintf("did you mean %q?", best)
			if len(options) > 1 {
				fix += " (" + strings.Join(options, ", ") + ")"
			}
		}
		return fmt.Sprintf("unknown %s %q", noun, s), fix
	case "len":
		if field == "input" {
			return fmt.Sprintf("input must be [height, width, channels], found %d values", reflect.ValueOf(fe.Value()).Len()),
				"write three sizes, e.g. input: [28, 28, 1]"
		}
		return fmt.Sprintf("%s must have %s values, found %d", field, fe.Param(), reflect.ValueOf(fe.Value()).Len()), ""
	case "max", "min":
		if v := reflect.ValueOf(fe.Value()); v.Kind() == reflect.String {
			return fmt.Sprintf("%s is %d characters long, more than %s", field, len(v.String()), fe.Param()),
				fmt.Sprintf("use at most %s characters", fe.Param())
		}
	case "gt", "gte", "lt", "lte":
		within := describeRange(tag)
		if !written {
			if example == "" {
				example = "a number " + within
			}
			return fmt.Sprintf("%s is required", field), fmt.Sprintf("add %s: %s", field, example)
		}
		value := fmt.Sprint(fe.Value())
		problem = fmt.Sprintf("%s must be %s, found %s", field, within, value)
		_, upper := bounds(tag)
		if f, err := strconv.ParseFloat(value, 64); err == nil && upper == "1" && f >= 10 && f <= 100 && f == math.Trunc(f) {
			return problem, fmt.Sprintf("write a fraction: %s%% is %g", value, f/100)
		}
		return problem, ""
	}
	return fmt.Sprintf("%s fails the rule %s", field, fe.Tag()), ""
}

// describeRange words the bounds of a validate tag: "gt=0,lte=1" reads "more than 0 and at most 1".
func describeRange(tag string) string {
	var lower, upper string
	for _, rule := range strings.Split(tag, ",") {
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "gt":
			lower = "more than " + param
		case "gte":
			lower = "at least " + param
		case "lt":
			upper = "less than " + param
		case "lte":
			upper = "at most " + param
		}
	}
	switch {
	case lower == "":
		return upper
	case upper == "":
		return lower
	case strings.HasPrefix(lower, "at least") && strings.HasPrefix(upper, "at most"):
		return "from " + strings.TrimPrefix(lower, "at least ") + " to " + strings.TrimPrefix(upper, "at most ")
	}
	return lower + " and " + upper
}

// bounds returns the lower and upper bounds of a validate tag's gt, gte, lt and lte rules.
func bounds(tag string) (lower, upper string) {
	for _, rule := range strings.Split(tag, ",") {
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "gt", "gte":
			lower = param
		case "lt", "lte":
			upper = param
		}
	}
	return lower, upper
}

// fieldTag returns the validate tag of the field a validator struct namespace such as
// "Spec.Models[0].Train.Epochs" names, or "".
func fieldTag(structNS string) string {
	parts := strings.Split(structNS, ".")
	t := reflect.TypeOf(Spec{})
	var tag string
	for _, part := range parts[1:] {
		name, _, _ := strings.Cut(part, "[")
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		f, ok := t.FieldByName(name)
		if !ok {
			return ""
		}
		tag, t = f.Tag.Get("validate"), f.Type
		if strings.Contains(part, "[") {
			// An element of a list: its rules follow "dive".
			if _, after, ok := strings.Cut(tag, "dive,"); ok {
				tag = after
			}
		}
	}
	return tag
}
