package spec

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// Poly is a polynomial in the sweep variables with integer coefficients, such as 63n² + 335n + 10.
// The zero Poly is the constant 0. Polys are values: operations return new Polys.
type Poly struct {
	terms map[string]int64 // monomial key → coefficient; no zero coefficients
}

// A monomial key lists "name^exp" factors sorted by name and joined by "*"; "" is the constant term.

// Const returns the constant polynomial c.
func Const(c int64) Poly {
	if c == 0 {
		return Poly{}
	}
	return Poly{terms: map[string]int64{"": c}}
}

// Var returns the polynomial consisting of the variable name.
func Var(name string) Poly { return Poly{terms: map[string]int64{name + "^1": 1}} }

// IsZero reports whether p is the zero polynomial.
func (p Poly) IsZero() bool { return len(p.terms) == 0 }

// Add returns p + q.
func (p Poly) Add(q Poly) Poly {
	r := Poly{terms: make(map[string]int64, len(p.terms)+len(q.terms))}
	for k, c := range p.terms {
		r.terms[k] = c
	}
	for k, c := range q.terms {
		r.add(k, c)
	}
	return r
}

// Sub returns p - q.
func (p Poly) Sub(q Poly) Poly { return p.Add(q.Scale(-1)) }

// Scale returns c·p.
func (p Poly) Scale(c int64) Poly {
	r := Poly{terms: make(map[string]int64, len(p.terms))}
	for k, v := range p.terms {
		r.add(k, v*c)
	}
	return r
}

// Mul returns p·q.
func (p Poly) Mul(q Poly) Poly {
	r := Poly{terms: make(map[string]int64)}
	for ka, ca := range p.terms {
		for kb, cb := range q.terms {
			r.add(mulKeys(ka, kb), ca*cb)
		}
	}
	return r
}

func (p *Poly) add(k string, c int64) {
	if c == 0 {
		return
	}
	if p.terms == nil {
		p.terms = map[string]int64{}
	}
	if v := p.terms[k] + c; v != 0 {
		p.terms[k] = v
	} else {
		delete(p.terms, k)
	}
}

type factor struct {
	name string
	exp  int
}

func parseKey(k string) []factor {
	if k == "" {
		return nil
	}
	parts := strings.Split(k, "*")
	fs := make([]factor, len(parts))
	for i, part := range parts {
		name, exp, _ := strings.Cut(part, "^")
		e := 0
		fmt.Sscan(exp, &e)
		fs[i] = factor{name, e}
	}
	return fs
}

func makeKey(fs []factor) string {
	sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.exp != 0 {
			parts = append(parts, fmt.Sprintf("%s^%d", f.name, f.exp))
		}
	}
	return strings.Join(parts, "*")
}

func mulKeys(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	exps := map[string]int{}
	for _, f := range parseKey(a) {
		exps[f.name] += f.exp
	}
	for _, f := range parseKey(b) {
		exps[f.name] += f.exp
	}
	fs := make([]factor, 0, len(exps))
	for n, e := range exps {
		fs = append(fs, factor{n, e})
	}
	return makeKey(fs)
}

// Eval returns the value of p with each variable set from vars. A variable missing from vars
// counts as 0. ok is false when the value does not fit in an int64.
func (p Poly) Eval(vars map[string]int64) (v int64, ok bool) {
	sum := new(big.Int)
	for k, c := range p.terms {
		t := big.NewInt(c)
		for _, f := range parseKey(k) {
			x := big.NewInt(vars[f.name])
			t.Mul(t, x.Exp(x, big.NewInt(int64(f.exp)), nil))
		}
		sum.Add(sum, t)
	}
	if !sum.IsInt64() {
		return 0, false
	}
	return sum.Int64(), true
}

// MustEval is Eval for values known to fit, such as parameter counts of validated specs.
// It panics when the value overflows int64.
func (p Poly) MustEval(vars map[string]int64) int64 {
	v, ok := p.Eval(vars)
	if !ok {
		panic("spec: polynomial value overflows int64: " + p.String())
	}
	return v
}

// Vars returns the variables that occur in p, sorted.
func (p Poly) Vars() []string {
	seen := map[string]bool{}
	for k := range p.terms {
		for _, f := range parseKey(k) {
			seen[f.name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Degree returns the highest total degree of p's terms (0 for constants and for zero).
func (p Poly) Degree() int {
	d := 0
	for k := range p.terms {
		d = max(d, degree(parseKey(k)))
	}
	return d
}

func degree(fs []factor) int {
	d := 0
	for _, f := range fs {
		d += f.exp
	}
	return d
}

// Coeff returns the coefficient of the monomial given by the variables and exponents in
// exps (for example {"n": 2} for n²; nil for the constant term).
func (p Poly) Coeff(exps map[string]int) int64 {
	fs := make([]factor, 0, len(exps))
	for n, e := range exps {
		fs = append(fs, factor{n, e})
	}
	return p.terms[makeKey(fs)]
}

// Equal reports whether p and q are the same polynomial.
func (p Poly) Equal(q Poly) bool {
	if len(p.terms) != len(q.terms) {
		return false
	}
	for k, c := range p.terms {
		if q.terms[k] != c {
			return false
		}
	}
	return true
}

var superscripts = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

func superscript(n int) string {
	var b strings.Builder
	for _, d := range fmt.Sprint(n) {
		b.WriteRune(superscripts[d-'0'])
	}
	return b.String()
}

// String prints p in the usual notation, highest degree first: "63n² + 335n + 10", "n² + 796n + 10",
// "2nm + 3". Single-letter variables are written side by side; longer names are joined with "·".
func (p Poly) String() string {
	if len(p.terms) == 0 {
		return "0"
	}
	type term struct {
		fs []factor
		c  int64
	}
	ts := make([]term, 0, len(p.terms))
	for k, c := range p.terms {
		ts = append(ts, term{parseKey(k), c})
	}
	sort.Slice(ts, func(i, j int) bool {
		di, dj := degree(ts[i].fs), degree(ts[j].fs)
		if di != dj {
			return di > dj
		}
		return monomialString(ts[i].fs) < monomialString(ts[j].fs)
	})
	var b strings.Builder
	for i, t := range ts {
		c := t.c
		switch {
		case i == 0 && c < 0:
			b.WriteString("-")
			c = -c
		case i > 0 && c < 0:
			b.WriteString(" - ")
			c = -c
		case i > 0:
			b.WriteString(" + ")
		}
		m := monomialString(t.fs)
		if c != 1 || m == "" {
			b.WriteString(fmt.Sprint(c))
			if m != "" && !singleLetters(t.fs) {
				b.WriteString("·")
			}
		}
		b.WriteString(m)
	}
	return b.String()
}

func singleLetters(fs []factor) bool {
	for _, f := range fs {
		if len([]rune(f.name)) != 1 {
			return false
		}
	}
	return true
}

func monomialString(fs []factor) string {
	sep := ""
	if !singleLetters(fs) {
		sep = "·"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.name
		if f.exp != 1 {
			parts[i] += superscript(f.exp)
		}
	}
	return strings.Join(parts, sep)
}
