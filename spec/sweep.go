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

// maxValues bounds one variable's range so that a typo such as step: 0.001 cannot expand into
// millions of points.
const maxValues = 10000

// Expand lists the values in order. It returns an error for an empty range, a step or factor that
// never reaches the end, or more than 10,000 values.
func (v Values) Expand() ([]int64, error) {
	if !v.IsRange {
		return v.List, nil
	}
	up := v.To >= v.From
	var out []int64
	for x := v.From; up && x <= v.To || !up && x >= v.To; {
		out = append(out, x)
		if len(out) > maxValues {
			return nil, fmt.Errorf("the range has more than %d values", maxValues)
		}
		switch {
		case v.Factor != 0 && up:
			x *= v.Factor
		case v.Factor != 0:
			if x%v.Factor != 0 {
				return out, nil
			}
			x /= v.Factor
		case up:
			x += v.Step
		default:
			x -= v.Step
		}
	}
	return out, nil
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
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), resolve(n.Content[i+1])
		vp := p.Child(k.Value)
		if !identifier.MatchString(k.Value) {
			d.errorf(k, vp, "use a letter followed by letters, digits or _, e.g. n",
				"%q is not a valid variable name", k.Value)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, vp, "remove one of them", "sweep variable %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		d.pos[vp] = d.at(val)
		var v Values
		if v.decode(d, val, vp) {
			s.Vars = append(s.Vars, SweepVar{Name: k.Value, Values: v})
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
		before := len(d.errs)
		for i, c := range n.Content {
			c = resolve(c)
			var x int64
			if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&x) != nil {
				d.errorf(c, p.Index(i), "sweep values are whole numbers", "expected an integer, found %s", describe(c))
				continue
			}
			d.pos[p.Index(i)] = d.at(c)
			v.List = append(v.List, x)
		}
		return len(d.errs) == before
	case yaml.MappingNode:
		var r rangeKeys
		before := len(d.errs)
		d.decodeStruct(n, reflectValue(&r), p)
		if len(d.errs) > before {
			return false
		}
		switch {
		case r.From == nil || r.To == nil:
			d.errorf(n, p, fix, "a range needs both from: and to:")
			return false
		case r.Factor != nil && r.Step != nil:
			d.errorf(n, p, "keep one of them", "a range takes factor: or step:, not both")
			return false
		case r.Factor == nil && r.Step == nil:
			d.errorf(n, p, "add factor: 2 for 1, 2, 4, … or step: 1 for 1, 2, 3, …", "a range needs factor: or step:")
			return false
		case r.Factor != nil && *r.Factor < 2:
			d.errorf(n, p.Child("factor"), "use a factor of 2 or more", "factor %d never changes the value", *r.Factor)
			return false
		case r.Step != nil && *r.Step < 1:
			d.errorf(n, p.Child("step"), "use a positive step; from: and to: give the direction", "step must be positive, found %d", *r.Step)
			return false
		}
		v.IsRange, v.From, v.To = true, *r.From, *r.To
		if r.Factor != nil {
			v.Factor = *r.Factor
			if v.From == 0 {
				d.errorf(n, p.Child("from"), "start a geometric range at 1 or more", "a geometric range cannot start at 0")
				return false
			}
		} else {
			v.Step = *r.Step
		}
		if _, err := v.Expand(); err != nil {
			d.errorf(n, p, "use a larger step or factor, or a smaller range", "%v", err)
			return false
		}
		return true
	}
	d.errorf(n, p, fix, "expected sweep values, found %s", describe(n))
	return false
}
