package spec

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into spec types strictly: unknown keys, duplicate keys and wrong
// types are errors with positions, and every problem is collected rather than the first returned.
type decoder struct {
	file  string
	lines []string // the source, split at "\n", for positions inside scalars
	errs  ErrorList
	pos   map[Path]Pos  // where each decoded field's value starts
	bad   map[Path]bool // values that were rejected, so that Validate does not report them again
	// aliasNodes counts the nodes decoded again through aliases; it is bounded so that a small
	// file of nested aliases ("billion laughs") cannot make decoding take forever.
	aliasNodes, maxAliasNodes int
	aliasFailed               bool
}

// nodeDecoder is implemented by types with a YAML shorthand (a kind switch on the node), in the
// manner of yaml.Unmarshaler but with the decoder's error list and paths.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, p Path)
}

func (d *decoder) at(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// errorf reports a problem with the value n at path p and marks p as rejected.
func (d *decoder) errorf(n *yaml.Node, p Path, fix string, format string, args ...any) {
	d.errorAt(d.at(n), p, fix, format, args...)
}

func (d *decoder) errorAt(pos Pos, p Path, fix string, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: pos, Path: p, Problem: fmt.Sprintf(format, args...), Fix: fix})
	d.bad[p] = true
}

// posOf returns where the value at p was decoded, or the position of n when p was not recorded.
func (d *decoder) posOf(p Path, n *yaml.Node) Pos {
	if pos, ok := d.pos[p]; ok {
		return pos
	}
	return d.at(n)
}

// offsetPos returns the position of byte off of scalar n's value. It counts from the scalar's
// first character (after the quote of a quoted scalar) and falls back to the scalar's own
// position when the value is not written verbatim on one line (escapes, folded lines).
func (d *decoder) offsetPos(n *yaml.Node, off int) Pos {
	pos := d.at(n)
	if n.Line < 1 || n.Line > len(d.lines) || off < 0 || off > len(n.Value) {
		return pos
	}
	line := d.lines[n.Line-1]
	start := 0 // byte index of the scalar's first character in line
	for col := 1; col < n.Column && start < len(line); col++ {
		_, size := utf8.DecodeRuneInString(line[start:])
		start += size
	}
	quote := 0
	switch n.Style {
	case 0, yaml.FlowStyle:
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		quote = 1
	default:
		return pos
	}
	if !strings.HasPrefix(line[min(start+quote, len(line)):], n.Value[:off]) {
		return pos
	}
	pos.Col += quote + utf8.RuneCountInString(n.Value[:off])
	return pos
}

// resolve follows aliases and unwraps documents.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		default:
			return n
		}
	}
	return n
}

// countNodes returns the number of nodes in the tree below n, aliases counted as one node.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!int":
			return "the integer " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an unsupported YAML node"
}

// follow resolves n's aliases and charges what they expand to against the alias budget. It
// returns nil, after reporting the problem once, when the budget is spent.
func (d *decoder) follow(n *yaml.Node, p Path) *yaml.Node {
	if n == nil || n.Kind != yaml.AliasNode {
		return resolve(n)
	}
	r := resolve(n)
	d.aliasNodes += countNodes(r)
	if d.aliasNodes > d.maxAliasNodes {
		if !d.aliasFailed {
			d.errorf(n, p, "use fewer aliases (*name), or write the values out",
				"the file's aliases expand to more than %d values", d.maxAliasNodes)
			d.aliasFailed = true
		}
		d.bad[p] = true // what is not decoded is not reported as missing
		return nil
	}
	return r
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, p Path) {
	n = d.follow(n, p)
	if n == nil {
		return
	}
	if _, seen := d.pos[p]; !seen {
		d.pos[p] = d.at(n)
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			return
		}
		// Decode into a new value and keep it unless the value itself was rejected (a string where
		// a mapping or a number belongs); a mapping with some bad keys is kept.
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), p)
		if !d.bad[p] {
			v.Set(elem)
		}
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, p)
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, p)
	case reflect.Slice:
		d.decodeList(n, v, p)
	default:
		d.decodeScalar(n, v, p)
	}
}

// decodeList decodes a YAML sequence into the slice v.
func (d *decoder) decodeList(n *yaml.Node, v reflect.Value, p Path) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, p, exampleFix(p, "write a list: [a, b] or one \"- \" item per line"), "expected a list, found %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i), p.Index(i))
	}
	v.Set(s)
}

// decodeScalar decodes a YAML scalar into v, a string, integer, float or bool.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, p Path) {
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errorf(n, p, exampleFix(p, "write a single text value"), "expected a string, found %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&x) != nil {
			d.errorf(n, p, exampleFix(p, "write a whole number"), "expected an integer, found %s", describe(n))
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		var x float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&x) != nil {
			d.errorf(n, p, exampleFix(p, "write a number"), "expected a number, found %s", describe(n))
			return
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			d.errorf(n, p, "write a finite number", "expected a number, found %s", n.Value)
			return
		}
		v.SetFloat(x)
	case reflect.Bool:
		var x bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&x) != nil {
			d.errorf(n, p, "write true or false", "expected true or false, found %s", describe(n))
			return
		}
		v.SetBool(x)
	default:
		panic("spec: cannot decode into " + v.Type().String())
	}
}

// yamlName returns the YAML key of a struct field, or "" when the field is not decoded.
func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// keyName returns the text of a mapping key, or "" after reporting a key that is not a plain
// string (a list, a mapping, a null).
func (d *decoder) keyName(k *yaml.Node, p Path) (string, bool) {
	if k == nil || k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
		if k == nil {
			return "", false
		}
		d.errorf(k, p, "keys are names such as layers or units", "expected a key, found %s", describe(k))
		return "", false
	}
	return k.Value, true
}

// decodeStruct decodes a mapping into a struct, field by yaml tag, rejecting unknown and
// repeated keys.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, p Path) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		fix := exampleFix(p, "write key: value pairs")
		if p == "" {
			fix = "a spec is a mapping of keys to values: name:, dataset:, target:, model: and so on (see examples/)"
		}
		d.errorf(n, p, fix, "expected a mapping, found %s", describe(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		key, ok := d.keyName(k, p)
		if !ok {
			continue
		}
		if first, dup := seen[key]; dup {
			d.errorf(k, p.Child(key), "remove one of them", "key %q appears twice (first on line %d)", key, first.Line)
			continue
		}
		seen[key] = k
		idx, ok := fields[key]
		if !ok {
			d.unknownKey(n, k, p, key, names)
			continue
		}
		d.decode(val, v.Field(idx), p.Child(key))
	}
}

// unknownKey reports the key k of the mapping n at p, which is none of known. When it is a typo of
// a known key that n lacks (unit: for units:), that key counts as rejected rather than missing,
// so the typo is the one error reported, not also a missing units: and an unused sweep variable.
func (d *decoder) unknownKey(n, k *yaml.Node, p Path, key string, known []string) {
	fix := "known keys: " + strings.Join(known, ", ")
	if s := suggest(key, known); s != "" {
		fix = fmt.Sprintf("did you mean %q?", s)
		if !hasKey(n, s) {
			d.bad[p.Child(s)] = true
		}
	}
	where := string(p)
	if where == "" {
		where = "the top level"
	}
	if key == "<<" {
		fix = "merge keys (<<) are not supported; write the keys out"
	}
	d.errs = append(d.errs, &Error{Pos: d.at(k), Path: p.Child(key),
		Problem: fmt.Sprintf("unknown key %q in %s", key, where), Fix: fix})
}

// hasKey reports whether the mapping n has the key.
func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s by edit distance when it is close enough (less than 3
// edits, as hcl does, and fewer edits than s has characters), or "".
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := levenshtein.ComputeDistance(strings.ToLower(s), c); d < bestD && d < utf8.RuneCountInString(s) {
			best, bestD = c, d
		}
	}
	return best
}

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }
