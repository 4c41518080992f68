package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Spec is one experiment file: the dataset, the accuracy target, and one model (Model) or several
// (Models), each trained at every point of its sweep.
type Spec struct {
	// Name identifies the experiment; results go to runs/<name>/ by default.
	Name        string  `yaml:"name" validate:"required,max=64" jsonschema:"required,maxLength=64,pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Experiment name; results go to runs/<name>/ by default"`
	Description string  `yaml:"description" jsonschema:"description=Free text shown at the top of the report"`
	Dataset     Dataset `yaml:"dataset" jsonschema:"required"`
	Target      Target  `yaml:"target" jsonschema:"required,description=The accuracy each model must reach"`
	// Sweep gives default sweep variables; a model's own sweep overrides it variable by variable.
	Sweep Sweep `yaml:"sweep" jsonschema:"description=Default sweep variables; a model's own sweep overrides them variable by variable"`
	// Train gives default training settings; a model's own train overrides it key by key.
	Train Train `yaml:"train" jsonschema:"description=Default training settings; a model's own train overrides them key by key"`
	// Search chooses which points to train: grid (every point, the default) or bisect (from the
	// smallest model up, only as many as it takes to bracket the target). A model may override it.
	Search string `yaml:"search" validate:"omitempty,oneof=grid bisect" jsonschema:"enum=grid,enum=bisect,default=grid,description=Train every point (grid) or only those needed to find the turning point (bisect)"`
	// Repeats trains each point with this many seeds (seed, seed+1, …); default 1.
	Repeats *int `yaml:"repeats" validate:"omitempty,gte=1,lte=100" jsonschema:"minimum=1,maximum=100,default=1,description=Train each point with this many seeds: seed\\, seed+1\\, …"`
	// Model is the single model of a one-model spec; use Models for several.
	Model  *Model  `yaml:"model" jsonschema:"description=The model of a one-model spec; its name is the spec's"`
	Models []Model `yaml:"models" validate:"dive" jsonschema:"description=Several models\\, each with a name\\, swept and reported side by side"`

	// File is the path the spec was read from, as given to Parse.
	File string `yaml:"-"`
	// Source is the file's bytes.
	Source []byte `yaml:"-"`

	pos map[Path]Pos  // where each written value starts
	bad map[Path]bool // values Parse rejected
	// parseErrs are the errors Parse returned; Expand returns them too.
	parseErrs ErrorList
}

// Target is the accuracy a model must reach. Min is a fraction in (0, 1], e.g. 0.97.
type Target struct {
	Metric string  `yaml:"metric" validate:"omitempty,oneof=accuracy" jsonschema:"enum=accuracy,default=accuracy,description=What is measured on the test set"`
	Min    float64 `yaml:"min" validate:"gt=0,lte=1" jsonschema:"required,exclusiveMinimum=0,maximum=1,description=Minimum test accuracy as a fraction in (0\\, 1]; e.g. 0.97"`
	// Rule says which figure of a point's repeats must reach Min: their mean (default), their
	// minimum, or the mean less one standard deviation.
	Rule string `yaml:"rule" validate:"omitempty,oneof=mean min mean-sd" jsonschema:"enum=mean,enum=min,enum=mean-sd,default=mean,description=With repeats: which figure must reach min"`
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

// written reports whether the value at p was written in the file.
func (s *Spec) written(p Path) bool {
	_, ok := s.pos[p]
	return ok
}

// rejected reports whether Parse rejected the value at p or a value that contains it, so that
// Validate does not report it again (an epochs of "ten" is not also "less than 1").
func (s *Spec) rejected(p Path) bool {
	for q := p; ; q = parent(q) {
		if s.bad[q] {
			return true
		}
		if q == "" {
			return false
		}
	}
}

// rejectedWithin reports whether Parse rejected the value at p, a value that contains it or any
// value inside it.
func (s *Spec) rejectedWithin(p Path) bool {
	if s.rejected(p) {
		return true
	}
	for b := range s.bad {
		if p == "" || strings.HasPrefix(string(b), string(p)) && len(b) > len(p) && (b[len(p)] == '.' || b[len(p)] == '[') {
			return true
		}
	}
	return false
}

// errorAt builds an Error positioned at the value of path p.
func (s *Spec) errorAt(p Path, fix, format string, args ...any) *Error {
	return &Error{Pos: s.PosOf(p), Path: p, Problem: fmt.Sprintf(format, args...), Fix: fix}
}

// MaxFileBytes is the largest spec file Parse reads: the YAML library holds a whole document in
// memory, hundreds of bytes per value, before any limit of the spec could be checked. A spec of the
// largest sweep written out as lists (100,000 points) is well below it.
const MaxFileBytes = 1 << 20

// Parse decodes a spec strictly. file is used in error positions. Every decoding problem is
// returned (unknown keys with a did-you-mean, wrong types, malformed widths and sweeps); field and
// semantic rules are Validate's. The spec is nil only when the file is not YAML or is empty;
// otherwise it holds what could be decoded, and Validate may be run on it to report the rest.
// Parse never panics on any input.
func Parse(file string, src []byte) (*Spec, ErrorList) {
	if len(src) > MaxFileBytes {
		return nil, ErrorList{{Pos: Pos{File: file, Line: 1, Col: 1},
			Problem: fmt.Sprintf("the file is larger than %d bytes (1 MiB), the most a spec may have", MaxFileBytes),
			Fix:     "write long sweeps as ranges, e.g. n: {from: 1, to: 64, step: 1}"}}
	}
	s := &Spec{File: file, Source: src}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, ErrorList{yamlSyntaxError(file, src, err)}
	}
	root := resolve(&doc)
	if root == nil || root.Kind == 0 || isNull(root) {
		return nil, ErrorList{{Pos: Pos{File: file, Line: 1, Col: 1}, Problem: "the file is empty",
			Fix: "start with name:, dataset:, target:, sweep:, train: and model: (see examples/)"}}
	}
	d := &decoder{file: file, lines: strings.Split(string(src), "\n"), pos: map[Path]Pos{}, bad: map[Path]bool{}}
	d.maxAliasNodes = 10000 + 10*countNodes(&doc)
	// A second document is a mistake: only the first would be read.
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case err == io.EOF:
	case err != nil:
		d.errs = append(d.errs, yamlSyntaxError(file, src, err))
	case !isNull(resolve(&more)): // a trailing "---" alone is harmless
		line := max(resolve(&more).Line, 1)
		for l := line; l >= 1; l-- {
			if strings.HasPrefix(d.lines[l-1], "---") {
				line = l
				break
			}
		}
		d.errs = append(d.errs, &Error{Pos: Pos{File: file, Line: line, Col: 1}, Problem: "the file holds more than one YAML document",
			Fix: "a spec is one document: remove this --- and what follows, or move it to a file of its own"})
	}
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	d.errs.Sort()
	s.pos, s.bad, s.parseErrs = d.pos, d.bad, d.errs
	if len(d.errs) > 0 {
		return s, d.errs
	}
	return s, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlParserProblems are the messages of the YAML library's parser, as opposed to its scanner.
// The library reports the parser's line counted from 0 and the scanner's counted from 1.
var yamlParserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>",
	"found undefined tag handle", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive",
}

var yamlAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// yamlSyntaxError turns the YAML library's message into a positioned Error with a fix.
func yamlSyntaxError(file string, src []byte, err error) *Error {
	msg := err.Error()
	problem, line := msg, 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		problem = m[2]
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
			if slices.Contains(yamlParserProblems, problem) {
				line++
			}
		}
	}
	lines := strings.Split(string(src), "\n")
	line = min(max(line, 1), len(lines))
	col := 0
	text := lines[line-1]
	fix := "check the indentation and that every key is followed by \": \""
	switch {
	case strings.Contains(problem, "tab") || problem == "found character that cannot start any token" && strings.Contains(text, "\t"):
		fix = "indent with spaces: YAML does not allow tabs"
		col = strings.IndexByte(text, '\t') + 1
	case problem == "did not find expected ',' or ']'":
		fix = "close the list with ]"
		col = strings.IndexByte(text, '[') + 1
	case problem == "did not find expected ',' or '}'":
		fix = "close the mapping with }"
		col = strings.IndexByte(text, '{') + 1
	case problem == "mapping values are not allowed in this context":
		fix = "quote a value that contains \": \", or check the indentation"
	case problem == "could not find expected ':'":
		fix = "add \": \" after the key"
	case problem == "found unexpected end of stream":
		fix = "close the quoted string"
	case strings.HasPrefix(problem, "control characters") || strings.Contains(problem, "UTF-8") || strings.Contains(problem, "Unicode"):
		fix = "save the file as UTF-8 text without control characters"
		line, col = badByte(src)
	case yamlAnchor.MatchString(problem):
		name := yamlAnchor.FindStringSubmatch(problem)[1]
		fix = fmt.Sprintf("define the anchor with &%s before using it", name)
		if i := bytes.Index(src, []byte("*"+name)); i >= 0 {
			line, col = lineCol(src, i)
		}
	}
	if col < 1 {
		col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: col}, Problem: "YAML syntax: " + problem, Fix: fix}
}

// lineCol returns the 1-based line and column (in characters) of byte offset i of src.
func lineCol(src []byte, i int) (line, col int) {
	start := bytes.LastIndexByte(src[:i], '\n') + 1
	return bytes.Count(src[:i], []byte("\n")) + 1, utf8.RuneCount(src[start:i]) + 1
}

// badByte returns the position of the first byte that is not valid UTF-8 text or is a control
// character other than tab, line feed and carriage return; 1:1 when there is none.
func badByte(src []byte) (line, col int) {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || r == 0xfeff && i > 0 {
			return lineCol(src, i)
		}
		i += size
	}
	return 1, 1
}
