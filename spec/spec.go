package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Spec is one experiment file: the dataset, the accuracy target, and one model (Model) or several
// (Models), each trained at every point of its sweep.
type Spec struct {
	// Name identifies the experiment; results go to runs/<name>/ by default.
	Name        string  `yaml:"name" validate:"required,max=64" jsonschema:"description=Experiment name; results go to runs/<name>/ by default"`
	Description string  `yaml:"description" jsonschema:"description=Free text shown at the top of the report"`
	Dataset     Dataset `yaml:"dataset"`
	Target      Target  `yaml:"target"`
	// Sweep gives default sweep variables; a model's own sweep overrides it variable by variable.
	Sweep Sweep `yaml:"sweep"`
	// Train gives default training settings; a model's own train overrides it key by key.
	Train Train `yaml:"train"`
	// Model is the single model of a one-model spec; use Models for several.
	Model  *Model  `yaml:"model"`
	Models []Model `yaml:"models" validate:"dive"`

	// File is the path the spec was read from, as given to Parse.
	File string `yaml:"-"`
	// Source is the file's bytes.
	Source []byte `yaml:"-"`

	pos map[Path]Pos
}

// Target is the accuracy a model must reach. Min is a fraction in (0, 1], e.g. 0.97.
type Target struct {
	Metric string  `yaml:"metric" validate:"omitempty,oneof=accuracy" jsonschema:"enum=accuracy,default=accuracy"`
	Min    float64 `yaml:"min" validate:"gt=0,lte=1" jsonschema:"description=Minimum test accuracy as a fraction in (0\\, 1]; e.g. 0.97"`
}

// Hash returns the hex SHA-256 of the spec file's bytes.
func (s *Spec) Hash() string {
	h := sha256.Sum256(s.Source)
	return hex.EncodeToString(h[:])
}

// PosOf returns where the value at path p was written, or the nearest enclosing value's position
// when p itself was not written (a default, or a key that is missing).
func (s *Spec) PosOf(p Path) Pos {
	for {
		if pos, ok := s.pos[p]; ok {
			return pos
		}
		if p == "" {
			return Pos{File: s.File}
		}
		p = parent(p)
	}
}

var lastElem = regexp.MustCompile(`(\.[^.\[]*|\[\d+\])$`)

func parent(p Path) Path {
	loc := lastElem.FindStringIndex(string(p))
	if loc == nil || loc[0] == 0 {
		return ""
	}
	return p[:loc[0]]
}

// errorAt builds an Error positioned at the value of path p.
func (s *Spec) errorAt(p Path, fix, format string, args ...any) *Error {
	return &Error{Pos: s.PosOf(p), Path: p, Problem: fmt.Sprintf(format, args...), Fix: fix}
}

// Parse decodes a spec strictly. file is used in error positions. Every decoding problem is
// returned (unknown keys with a did-you-mean, wrong types, malformed widths and sweeps); field and
// semantic rules are Validate's. Parse never panics on any input.
func Parse(file string, src []byte) (*Spec, ErrorList) {
	s := &Spec{File: file, Source: src}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, ErrorList{yamlSyntaxError(file, err)}
	}
	root := resolve(&doc)
	if root == nil || root.Kind == 0 || isNull(root) {
		return nil, ErrorList{{Pos: Pos{File: file, Line: 1, Col: 1}, Problem: "the file is empty",
			Fix: "start with name:, dataset:, target:, sweep:, train: and model: (see examples/)"}}
	}
	d := &decoder{file: file, pos: map[Path]Pos{}}
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	s.pos = d.pos
	d.errs.Sort()
	if len(d.errs) > 0 {
		return s, d.errs
	}
	return s, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlSyntaxError turns the YAML library's message into a positioned Error.
func yamlSyntaxError(file string, err error) *Error {
	msg := err.Error()
	e := &Error{Pos: Pos{File: file}, Problem: "YAML syntax: " + msg,
		Fix: "check indentation and that every key is followed by \": \""}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Problem = "YAML syntax: " + m[2]
		if m[1] != "" {
			e.Pos.Line, _ = strconv.Atoi(m[1])
			e.Pos.Col = 1
		}
	}
	if bytes.Contains([]byte(msg), []byte("\t")) || bytes.Contains([]byte(msg), []byte("tab")) {
		e.Fix = "YAML indents with spaces, not tabs"
	}
	return e
}
