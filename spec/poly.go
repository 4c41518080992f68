package spec

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Poly is a polynomial in the sweep variables with integer coefficients, such as 63n² + 335n + 10.
// The zero Poly is the constant 0. Polys are values: operations return new Polys and never change
// their operands.
//
// Coefficients are int64. Add, Sub, Scale and Mul wrap around when a coefficient overflows;
// ParseExpr rejects widths whose coefficients would, and Validate rejects models whose counts
// could, so the polynomials of a valid spec never overflow.
type Poly struct {
	terms map[string]int64 // monomial key → coefficient; no zero coefficients
	// order lists the variables in the order they first appeared ("2nm" keeps n before m); String
	// follows it. It does not take part in equality.
	order []string
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
func Var(name string) Poly {
	return Poly{terms: map[string]int64{name + "^1": 1}, order: []string{name}}
}

// IsZero reports whether p is the zero polynomial.
func (p Poly) IsZero() bool { return len(p.terms) == 0 }

// Add returns p + q.
func (p Poly) Add(q Poly) Poly { r, _ := p.addChecked(q); return r }

// Sub returns p - q.
func (p Poly) Sub(q Poly) Poly { r, _ := p.subChecked(q); return r }

// Scale returns c·p.
func (p Poly) Scale(c int64) Poly { r, _ := p.scaleChecked(c); return r }

// Mul returns p·q.
func (p Poly) Mul(q Poly) Poly { r, _ := p.mulChecked(q); return r }

// addChecked returns p + q and whether no coefficient overflowed.
func (p Poly) addChecked(q Poly) (Poly, bool) {
	r := Poly{terms: make(map[string]int64, len(p.terms)+len(q.terms)), order: mergeOrder(p.order, q.order)}
	for k, c := range p.terms {
		r.terms[k] = c
	}
	ok := true
	for k, c := range q.terms {
		ok = r.add(k, c) && ok
	}
	return r, ok
}

func (p Poly) subChecked(q Poly) (Poly, bool) {
	nq, ok1 := q.scaleChecked(-1)
	r, ok2 := p.addChecked(nq)
	return r, ok1 && ok2
}

func (p Poly) scaleChecked(c int64) (Poly, bool) {
	r := Poly{terms: make(map[string]int64, len(p.terms)), order: p.order}
	ok := true
	for k, v := range p.terms {
		x, fits := mul64(v, c)
		ok = fits && r.add(k, x) && ok
	}
	return r, ok
}

func (p Poly) mulChecked(q Poly) (Poly, bool) {
	r := Poly{terms: make(map[string]int64), order: mergeOrder(p.order, q.order)}
	ok := true
	for ka, ca := range p.terms {
		for kb, cb := range q.terms {
			x, fits := mul64(ca, cb)
			ok = fits && r.add(mulKeys(ka, kb), x) && ok
		}
	}
	return r, ok
}

// add adds c to the coefficient of monomial k and reports whether the sum fits in an int64.
func (p *Poly) add(k string, c int64) bool {
	if c == 0 {
		return true
	}
	if p.terms == nil {
		p.terms = map[string]int64{}
	}
	v, ok := add64(p.terms[k], c)
	if v != 0 {
		p.terms[k] = v
	} else {
		delete(p.terms, k)
	}
	return ok
}

// mergeOrder returns a's variables followed by those of b that a lacks. It never changes a or b.
func mergeOrder(a, b []string) []string {
	out := a
	for _, v := range b {
		if !slices.Contains(out, v) {
			if len(out) == len(a) {
				out = slices.Clone(a)
			}
			out = append(out, v)
		}
	}
	return out
}

// add64 returns a+b and whether it did not overflow.
func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// mul64 returns a·b and whether it did not overflow.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || p/b != a {
		return p, false
	}
	return p, true
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
		j := strings.LastIndexByte(part, '^')
		e, _ := strconv.Atoi(part[j+1:])
		fs[i] = factor{part[:j], e}
	}
	return fs
}

func makeKey(fs []factor) string {
	sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.exp != 0 {
			parts = append(parts, f.name+"^"+strconv.Itoa(f.exp))
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
// counts as 0. ok is false when the value, or any term of it, does not fit in an int64.
func (p Poly) Eval(vars map[string]int64) (v int64, ok bool) {
	return newEvaluator(p).at(vars)
}

// pow64 returns x^e (e ≥ 0) and whether it fits in an int64.
func pow64(x int64, e int) (int64, bool) {
	switch x {
	case 0:
		if e == 0 {
			return 1, true
		}
		return 0, true
	case 1:
		return 1, true
	case -1:
		if e%2 == 0 {
			return 1, true
		}
		return -1, true
	}
	r := int64(1)
	for i := 0; i < e; i++ {
		var ok bool
		if r, ok = mul64(r, x); !ok {
			return 0, false
		}
	}
	return r, true
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

// Vars returns the variables that occur in p, sorted by name.
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

// absSum returns the sum of the absolute values of p's coefficients, as a float64: a bound on
// |p| wherever every variable lies in [-1, 1], and the factor by which Mul can grow coefficients.
func (p Poly) absSum() float64 {
	s := 0.0
	for _, c := range p.terms {
		s += math.Abs(float64(c))
	}
	return s
}

var superscripts = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

func superscript(n int) string {
	var b strings.Builder
	for _, d := range strconv.Itoa(n) {
		b.WriteRune(superscripts[d-'0'])
	}
	return b.String()
}

// String prints p in the usual notation, highest degree first: "63n² + 335n + 10", "n² + 796n + 10",
// "2nm + 3", "-n + 5". Variables appear in the order they were first used; terms of the same degree
// follow that order too (n² + nm + m²). Single-letter variables are written side by side; when a
// term has a longer name, its factors are joined with "·" ("2·width·n").
func (p Poly) String() string {
	if len(p.terms) == 0 {
		return "0"
	}
	// rank gives each variable its place: the recorded order, then any others by name.
	rank := map[string]int{}
	for i, v := range p.order {
		rank[v] = i
	}
	for _, v := range p.Vars() {
		if _, ok := rank[v]; !ok {
			rank[v] = len(rank)
		}
	}
	type term struct {
		fs   []factor
		exps []int // exponent of each variable by rank
		c    int64
	}
	ts := make([]term, 0, len(p.terms))
	for k, c := range p.terms {
		fs := parseKey(k)
		sort.Slice(fs, func(i, j int) bool { return rank[fs[i].name] < rank[fs[j].name] })
		exps := make([]int, len(rank))
		for _, f := range fs {
			exps[rank[f.name]] = f.exp
		}
		ts = append(ts, term{fs, exps, c})
	}
	sort.Slice(ts, func(i, j int) bool {
		di, dj := degree(ts[i].fs), degree(ts[j].fs)
		if di != dj {
			return di > dj
		}
		return slices.Compare(ts[i].exps, ts[j].exps) > 0
	})
	var b strings.Builder
	for i, t := range ts {
		abs := uint64(t.c)
		if t.c < 0 {
			abs = uint64(-t.c) // also right for math.MinInt64
		}
		switch {
		case i == 0 && t.c < 0:
			b.WriteString("-")
		case i > 0 && t.c < 0:
			b.WriteString(" - ")
		case i > 0:
			b.WriteString(" + ")
		}
		m := monomialString(t.fs)
		if abs != 1 || m == "" {
			b.WriteString(strconv.FormatUint(abs, 10))
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
