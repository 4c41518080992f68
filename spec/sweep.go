package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sweep maps sweep variables to their values, in the order written. Several variables expand as
// their cartesian product, the first variable outermost.
type Sweep struct {
	Vars []SweepVar
}

// SweepVar is one variable of a sweep and the values it takes.
type SweepVar struct {
	Name   string
	Values Values
}

// Values are the values of one sweep variable: a list (`[32, 16, 8]`), a geometric range
// (`{from: 32, to: 1, factor: 2}`) or an arithmetic range (`{from: 1, to: 64, step: 1}`). Ranges
// include both ends when the step reaches them and may run downwards.
type Values struct {
	List                   []int64
	From, To, Factor, Step int64
	IsRange                bool
}

// Lookup returns the values of the variable name and whether the sweep has it.
func (s Sweep) Lookup(name string) (Values, bool) {
	for _, v := range s.Vars {
		if v.Name == name {
			return v.Values, true
		}
	}
	return Values{}, false
}

// Override returns s with each variable of o replacing s's variable of the same name; o's new
// variables follow s's.
func (s Sweep) Override(o Sweep) Sweep {
	out := Sweep{Vars: append([]SweepVar(nil), s.Vars...)}
	for _, ov := range o.Vars {
		replaced := false
		for i := range out.Vars {
			if out.Vars[i].Name == ov.Name {
				out.Vars[i] = ov
				replaced = true
			}
		}
		if !replaced {
			out.Vars = append(out.Vars, ov)
		}
	}
	return out
}

// maxValues bounds one variable's range so that a typo such as to: 100000000 cannot expand into
// millions of points.
const maxValues = 10000

// Expand lists the values in order, from From towards To, both included when the steps reach To.
// An arithmetic range adds (or, running down, subtracts) Step; a geometric range multiplies by
// Factor or, running down, divides by it rounding down: {from: 100, to: 10, factor: 2} gives 100,
// 50, 25, 12. It returns an error for a range that Parse would reject (a zero step, a factor below
// 2, a geometric range below 1) and for more than 10,000 values.
func (v Values) Expand() ([]int64, error) {
	if !v.IsRange {
		return v.List, nil
	}
	switch {
	case v.Factor != 0 && v.Step != 0:
		return nil, fmt.Errorf("a range takes factor: or step:, not both")
	case v.Factor == 0 && v.Step < 1:
		return nil, fmt.Errorf("step must be positive, found %d", v.Step)
	case v.Factor != 0 && v.Factor < 2:
		return nil, fmt.Errorf("factor %d never changes the value", v.Factor)
	case v.Factor != 0 && (v.From < 1 || v.To < 1):
		return nil, fmt.Errorf("a geometric range runs between values of at least 1")
	}
	up := v.To >= v.From
	out := []int64{v.From}
	for x := v.From; ; {
		// Each step checks that the next value does not pass To, without overflowing.
		switch {
		case v.Factor != 0 && up:
			if x > v.To/v.Factor {
				return out, nil
			}
			x *= v.Factor
		case v.Factor != 0:
			if x/v.Factor < v.To || x/v.Factor == x {
				return out, nil
			}
			x /= v.Factor
		case up:
			if uint64(v.To-x) < uint64(v.Step) { // To ≥ x, so the difference fits in a uint64
				return out, nil
			}
			x += v.Step
		default:
			if uint64(x-v.To) < uint64(v.Step) {
				return out, nil
			}
			x -= v.Step
		}
		if len(out) == maxValues {
			return nil, fmt.Errorf("the range has more than %d values", maxValues)
		}
		out = append(out, x)
	}
}

// String prints the values as written: "[32, 16, 8]" or "{from: 1, to: 64, factor: 2}".
func (v Values) String() string {
	if v.IsRange {
		if v.Factor != 0 {
			return fmt.Sprintf("{from: %d, to: %d, factor: %d}", v.From, v.To, v.Factor)
		}
		return fmt.Sprintf("{from: %d, to: %d, step: %d}", v.From, v.To, v.Step)
	}
	s := make([]string, len(v.List))
	for i, x := range v.List {
		s[i] = strconv.FormatInt(x, 10)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s *Sweep) decodeNode(d *decoder, n *yaml.Node, p Path) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, "write variables and their values, e.g. \"sweep: {n: [32, 16, 8]}\"",
			"expected a mapping from sweep variables to values, found %s", describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		name, ok := d.keyName(k, p)
		if !ok {
			continue
		}
		vp := p.Child(name)
		if !identifier.MatchString(name) {
			d.errorf(k, vp, "use a letter followed by letters, digits or _, e.g. n",
				"%q is not a valid variable name", name)
			continue
		}
		if first, dup := seen[name]; dup {
			d.errorf(k, vp, "remove one of them", "sweep variable %q appears twice (first on line %d)", name, first.Line)
			continue
		}
		seen[name] = k
		val := d.follow(n.Content[i+1], vp)
		if val == nil {
			continue
		}
		d.pos[vp] = d.at(val)
		var v Values
		if v.decode(d, val, vp) {
			s.Vars = append(s.Vars, SweepVar{Name: name, Values: v})
		} else {
			d.bad[vp] = true
		}
	}
}

// rangeKeys is the mapping form of Values.
type rangeKeys struct {
	From   *int64 `yaml:"from"`
	To     *int64 `yaml:"to"`
	Factor *int64 `yaml:"factor"`
	Step   *int64 `yaml:"step"`
}

func (v *Values) decode(d *decoder, n *yaml.Node, p Path) bool {
	const fix = "write a list ([32, 16, 8]) or a range ({from: 1, to: 64, factor: 2} or {from: 1, to: 64, step: 1})"
	switch n.Kind {
	case yaml.SequenceNode:
		return v.decodeList(d, n, p)
	case yaml.MappingNode:
		return v.decodeRange(d, n, p)
	}
	d.errorf(n, p, fix, "expected sweep values, found %s", describe(n))
	return false
}

// decodeList decodes a list of values, [32, 16, 8].
func (v *Values) decodeList(d *decoder, n *yaml.Node, p Path) bool {
	name := p[strings.LastIndexByte(string(p), '.')+1:]
	before := len(d.errs)
	if len(n.Content) == 0 {
		d.errorf(n, p, fmt.Sprintf("give at least one value, e.g. %s: [8, 16, 32]", name), "the sweep of %s has no values", name)
		return false
	}
	if len(n.Content) > maxPoints {
		d.errorf(n, p, "sweep fewer values, or write them as a range", "the list has %d values, more than the %d points a sweep may have", len(n.Content), maxPoints)
		return false
	}
	for i, c := range n.Content {
		c = d.follow(c, p.Index(i))
		if c == nil {
			return false
		}
		var x int64
		if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&x) != nil {
			d.errorf(c, p.Index(i), "sweep values are whole numbers", "expected an integer, found %s", describe(c))
			continue
		}
		d.pos[p.Index(i)] = d.at(c)
		v.List = append(v.List, x)
	}
	return len(d.errs) == before
}

// decodeRange decodes a range, {from: 1, to: 64, factor: 2} or {from: 1, to: 64, step: 1}.
func (v *Values) decodeRange(d *decoder, n *yaml.Node, p Path) bool {
	r, ok := decodeRangeKeys(d, n, p)
	if !ok {
		return false
	}
	v.IsRange, v.From, v.To = true, *r.From, *r.To
	if r.Factor != nil {
		v.Factor = *r.Factor
	} else {
		v.Step = *r.Step
	}
	if _, err := v.Expand(); err != nil {
		d.errorf(n, p, "use a larger step or factor, or a smaller range", "%v", err)
		return false
	}
	return true
}

// decodeRangeKeys decodes the keys of a range and checks that they make one.
func decodeRangeKeys(d *decoder, n *yaml.Node, p Path) (rangeKeys, bool) {
	var r rangeKeys
	before := len(d.errs)
	d.decodeStruct(n, reflectValue(&r), p)
	if len(d.errs) > before {
		return r, false
	}
	at := func(key string) Pos { return d.posOf(p.Child(key), n) }
	switch {
	case r.From == nil || r.To == nil:
		missing := "from:"
		if r.From != nil {
			missing = "to:"
		} else if r.To == nil {
			missing = "from: and to:"
		}
		d.errorf(n, p, "add "+missing+", e.g. {from: 1, to: 64, factor: 2}", "the range has no %s", missing)
		return r, false
	case r.Factor != nil && r.Step != nil:
		d.errorAt(at("step"), p, "keep one of them: factor: multiplies, step: adds", "a range takes factor: or step:, not both")
		return r, false
	case r.Factor == nil && r.Step == nil:
		d.errorf(n, p, "add factor: 2 for 1, 2, 4, … or step: 1 for 1, 2, 3, …", "the range has no factor: or step:")
		return r, false
	case r.Factor != nil && *r.Factor < 2:
		d.errorAt(at("factor"), p.Child("factor"), "use a factor of 2 or more (from: and to: give the direction)", "factor %d never changes the value", *r.Factor)
		return r, false
	case r.Step != nil && *r.Step < 1:
		d.errorAt(at("step"), p.Child("step"), "use a positive step (from: and to: give the direction)", "step must be positive, found %d", *r.Step)
		return r, false
	case r.Factor != nil && *r.From < 1:
		d.errorAt(at("from"), p.Child("from"), "start a geometric range at 1 or more", "a geometric range cannot start at %d", *r.From)
		return r, false
	case r.Factor != nil && *r.To < 1:
		d.errorAt(at("to"), p.Child("to"), "end a geometric range at 1 or more", "a geometric range cannot end at %d", *r.To)
		return r, false
	}
	return r, true
}
