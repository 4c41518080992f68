package spec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Expr is a width such as "n", "2n", "4n+1" or "n*m": an integer expression over the sweep
// variables with integers, names, + - *, parentheses and implicit products ("2n", "3(n+1)", "n m").
// There is no division, so every width is a polynomial with integer coefficients.
type Expr struct {
	src  string // as the user wrote it
	poly Poly
}

// ExprError is a syntax error in a width expression. Offset is the byte offset in the source of
// the token where the problem was found; Fix, when not empty, says what to write instead.
type ExprError struct {
	Offset  int
	Problem string
	Fix     string
}

func (e *ExprError) Error() string { return e.Problem }

// Limits on one width expression, far beyond any real width, that keep parsing and evaluation
// cheap on any input.
const (
	maxExprLen    = 256 // bytes of source
	maxExprTerms  = 64  // terms of the polynomial
	maxExprDegree = 8   // total degree of the polynomial
	maxExprNumber = 1<<31 - 1
)

// ParseExpr parses a width expression.
func ParseExpr(src string) (Expr, error) {
	if len(src) > maxExprLen {
		return Expr{}, &ExprError{Offset: 0, Problem: fmt.Sprintf("the expression is longer than %d characters", maxExprLen),
			Fix: `write a short polynomial in the sweep variables, e.g. "4n+1"`}
	}
	if strings.TrimSpace(src) == "" {
		return Expr{}, &ExprError{Offset: 0, Problem: "the width is empty"}
	}
	p := exprParser{src: src}
	p.next()
	poly, err := p.expr()
	if err != nil {
		return Expr{}, err
	}
	if p.tok.kind != tokEOF {
		return Expr{}, p.unexpected()
	}
	return Expr{src: strings.TrimSpace(src), poly: poly}, nil
}

// IntExpr returns the constant width v.
func IntExpr(v int64) Expr { return Expr{src: strconv.FormatInt(v, 10), poly: Const(v)} }

// String returns the expression as the user wrote it, without surrounding spaces.
func (e Expr) String() string { return e.src }

// Poly returns the expression as a polynomial in the sweep variables.
func (e Expr) Poly() Poly { return e.poly }

// IsZero reports whether e was never set.
func (e Expr) IsZero() bool { return e.src == "" }

type tokKind int

const (
	tokEOF tokKind = iota
	tokInt
	tokName
	tokOp // + - * ( )
	tokBad
)

type token struct {
	kind tokKind
	text string
	off  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "the end of the expression"
	case tokBad:
		return fmt.Sprintf("character %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type exprParser struct {
	src  string
	off  int
	tok  token
	prev token // the token before tok
}

func (p *exprParser) errorf(fix, format string, args ...any) *ExprError {
	return &ExprError{Offset: p.tok.off, Problem: fmt.Sprintf(format, args...), Fix: fix}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (p *exprParser) next() {
	p.prev = p.tok
	for p.off < len(p.src) && (p.src[p.off] == ' ' || p.src[p.off] == '\t') {
		p.off++
	}
	start := p.off
	if p.off >= len(p.src) {
		p.tok = token{tokEOF, "", start}
		return
	}
	c := p.src[p.off]
	switch {
	case isDigit(c):
		for p.off < len(p.src) && isDigit(p.src[p.off]) {
			p.off++
		}
		p.tok = token{tokInt, p.src[start:p.off], start}
	case isLetter(c):
		for p.off < len(p.src) && (isLetter(p.src[p.off]) || isDigit(p.src[p.off])) {
			p.off++
		}
		p.tok = token{tokName, p.src[start:p.off], start}
	case strings.IndexByte("+-*()", c) >= 0:
		p.off++
		p.tok = token{tokOp, string(c), start}
	default:
		r, size := utf8.DecodeRuneInString(p.src[start:])
		p.off += size
		text := string(r)
		if r == utf8.RuneError && size == 1 {
			text = p.src[start : start+1]
		}
		p.tok = token{tokBad, text, start}
	}
}

// unexpected reports the current token where an operator or the end was expected. Names and "("
// are never unexpected there: they make an implicit product.
func (p *exprParser) unexpected() *ExprError {
	t := p.tok
	switch {
	case t.kind == tokOp && t.text == ")":
		return p.errorf(`remove it or add the "(" it closes`, `")" has no matching "("`)
	case t.kind == tokInt && p.prev.kind == tokInt:
		return p.errorf(fmt.Sprintf(`write "%s*%s", or one number`, p.prev.text, t.text), "a number cannot follow the number %s", p.prev.text)
	case t.kind == tokInt:
		return p.errorf(fmt.Sprintf(`write the number first ("%s%s") or use "*" ("%s*%s")`, t.text, p.prev.text, p.prev.text, t.text),
			"a number cannot follow %s", p.prev)
	}
	return p.bad()
}

// bad reports a character that has no place in a width.
func (p *exprParser) bad() *ExprError {
	t := p.tok
	if t.kind != tokBad {
		return p.errorf("", "unexpected %s", t)
	}
	switch t.text {
	case "/", "÷":
		return p.errorf("widths are polynomials with integer coefficients: sweep the smaller values instead, e.g. units: n with n: [4, 8, 16]",
			"division is not supported")
	case "×", "·", "⋅":
		return p.errorf(`use "*" for products, or write the factors side by side ("2n")`, "unexpected %s", t)
	case "²", "³", "^":
		return p.errorf(`write powers as products, e.g. "n*n"`, "unexpected %s", t)
	}
	r, _ := utf8.DecodeRuneInString(t.text)
	if r >= utf8.RuneSelf {
		return p.errorf("sweep variables are ASCII letters, digits and _; operators are + - * and parentheses", "unexpected %s", t)
	}
	return p.errorf("", "unexpected %s", t)
}

// checked returns a function that turns an overflowing or oversized result of the operator at
// byte offset off into an error.
func checked(off int) func(v Poly, ok bool) (Poly, error) {
	return func(v Poly, ok bool) (Poly, error) { return checkResult(off, v, ok) }
}

func checkResult(off int, v Poly, ok bool) (Poly, error) {
	var e *ExprError
	switch {
	case !ok:
		e = &ExprError{Problem: "the expression's coefficients do not fit in 64 bits", Fix: "use smaller numbers"}
	case len(v.terms) > maxExprTerms:
		e = &ExprError{Problem: fmt.Sprintf("the expression has more than %d terms", maxExprTerms), Fix: "write a simpler polynomial"}
	case v.Degree() > maxExprDegree:
		e = &ExprError{Problem: fmt.Sprintf("the expression's degree %d is higher than %d", v.Degree(), maxExprDegree),
			Fix: "write a polynomial of lower degree"}
	default:
		return v, nil
	}
	e.Offset = off
	return Poly{}, e
}

// expr := term (('+' | '-') term)*
func (p *exprParser) expr() (Poly, error) {
	left, err := p.term()
	if err != nil {
		return Poly{}, err
	}
	for p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "-") {
		op, off := p.tok.text, p.tok.off
		p.next()
		right, err := p.term()
		if err != nil {
			return Poly{}, err
		}
		if op == "+" {
			left, err = checked(off)(left.addChecked(right))
		} else {
			left, err = checked(off)(left.subChecked(right))
		}
		if err != nil {
			return Poly{}, err
		}
	}
	return left, nil
}

// term := unary (('*')? unary)*, where the implicit product needs a name or "(" on the right.
func (p *exprParser) term() (Poly, error) {
	left, err := p.unary()
	if err != nil {
		return Poly{}, err
	}
	for {
		off := p.tok.off // the operator, or the right factor of an implicit product
		switch {
		case p.tok.kind == tokOp && p.tok.text == "*":
			p.next()
		case p.tok.kind == tokName, p.tok.kind == tokOp && p.tok.text == "(":
			// implicit product: 2n, n(m+1), n m
		default:
			return left, nil
		}
		right, err := p.unary()
		if err != nil {
			return Poly{}, err
		}
		if left, err = checked(off)(left.mulChecked(right)); err != nil {
			return Poly{}, err
		}
	}
}

// unary := '-' unary | factor
func (p *exprParser) unary() (Poly, error) {
	if p.tok.kind == tokOp && p.tok.text == "-" {
		off := p.tok.off
		p.next()
		v, err := p.unary()
		if err != nil {
			return Poly{}, err
		}
		return checked(off)(v.scaleChecked(-1))
	}
	return p.factor()
}

// factor := INT | NAME | '(' expr ')'
func (p *exprParser) factor() (Poly, error) {
	t := p.tok
	switch {
	case t.kind == tokInt:
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil || v > maxExprNumber {
			return Poly{}, p.errorf(fmt.Sprintf("use numbers up to %d", maxExprNumber), "the number %s is too large", t.text)
		}
		p.next()
		return Const(v), nil
	case t.kind == tokName:
		p.next()
		return Var(t.text), nil
	case t.kind == tokOp && t.text == "(":
		p.next()
		v, err := p.expr()
		if err != nil {
			return Poly{}, err
		}
		if p.tok.kind != tokOp || p.tok.text != ")" {
			if p.tok.kind == tokEOF {
				return Poly{}, p.errorf(`add ")"`, `"(" is never closed`)
			}
			return Poly{}, p.errorf(`close the "(" with ")" or put an operator before this`, `expected ")" or an operator, found %s`, p.tok)
		}
		p.next()
		return v, nil
	case t.kind == tokBad:
		return Poly{}, p.bad()
	}
	after := ""
	if p.prev.kind == tokOp {
		after = fmt.Sprintf(" after %q", p.prev.text)
	}
	return Poly{}, p.errorf("", `expected a number, a sweep variable or "("%s, found %s`, after, t)
}
