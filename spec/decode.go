package spec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into spec types strictly: unknown keys, duplicate keys and wrong
// types are errors with positions, and every problem is collected rather than the first returned.
type decoder struct {
	file string
	errs ErrorList
	pos  map[Path]Pos // where each decoded field's value starts
}

// nodeDecoder is implemented by types with a YAML shorthand (a kind switch on the node), in the
// manner of yaml.Unmarshaler but with the decoder's error list and paths.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, p Path)
}

func (d *decoder) at(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, p Path, fix string, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.at(n), Path: p, Problem: fmt.Sprintf(format, args...), Fix: fix})
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

func (d *decoder) decode(n *yaml.Node, v reflect.Value, p Path) {
	n = resolve(n)
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
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), p)
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
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, p, "", "expected a list, found %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), p.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errorf(n, p, "", "expected a string, found %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&x) != nil {
			d.errorf(n, p, "", "expected an integer, found %s", describe(n))
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		var x float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&x) != nil {
			d.errorf(n, p, "", "expected a number, found %s", describe(n))
			return
		}
		v.SetFloat(x)
	case reflect.Bool:
		var x bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&x) != nil {
			d.errorf(n, p, "", "expected true or false, found %s", describe(n))
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

// decodeStruct decodes a mapping into a struct, field by yaml tag, rejecting unknown and
// repeated keys.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, p Path) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, "", "expected a mapping, found %s", describe(n))
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
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		key := k.Value
		if seen[key] {
			d.errorf(k, p.Child(key), "remove one of them", "key %q appears twice", key)
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			d.unknownKey(k, p, key, names)
			continue
		}
		d.decode(val, v.Field(idx), p.Child(key))
	}
}

func (d *decoder) unknownKey(k *yaml.Node, p Path, key string, known []string) {
	fix := "known keys: " + strings.Join(known, ", ")
	if s := suggest(key, known); s != "" {
		fix = fmt.Sprintf("did you mean %q?", s)
	}
	where := string(p)
	if where == "" {
		where = "the top level"
	}
	d.errs = append(d.errs, &Error{Pos: d.at(k), Path: p.Child(key),
		Problem: fmt.Sprintf("unknown key %q in %s", key, where), Fix: fix})
}

// suggest returns the candidate closest to s by edit distance when it is close enough (less than 3
// edits, as hcl does), or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := levenshtein.ComputeDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }
