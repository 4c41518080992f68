package spec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Expr is a width such as "n", "2n", "4n+1" or "n*m": an integer expression over the sweep
// variables with integers, names, + - *, parentheses and implicit products ("2n", "3(n+1)").
// There is no division, so every width is a polynomial with integer coefficients.
type Expr struct {
	src  string // as the user wrote it
	poly Poly
}

// ExprError is a syntax error in a width expression. Offset is the byte offset in the source.
type ExprError struct {
	Offset  int
	Problem string
}

func (e *ExprError) Error() string { return e.Problem }

// ParseExpr parses a width expression.
func ParseExpr(src string) (Expr, error) {
	p := exprParser{src: src}
	p.next()
	poly, err := p.expr()
	if err != nil {
		return Expr{}, err
	}
	if p.tok.kind != tokEOF {
		return Expr{}, p.errorf("unexpected %s", p.tok)
	}
	return Expr{src: strings.TrimSpace(src), poly: poly}, nil
}

// IntExpr returns the constant width v.
func IntExpr(v int64) Expr { return Expr{src: strconv.FormatInt(v, 10), poly: Const(v)} }

// String returns the expression as the user wrote it.
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
		return "end of expression"
	case tokBad:
		return fmt.Sprintf("character %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type exprParser struct {
	src string
	off int
	tok token
}

func (p *exprParser) errorf(format string, args ...any) *ExprError {
	return &ExprError{Offset: p.tok.off, Problem: fmt.Sprintf(format, args...)}
}

func (p *exprParser) next() {
	for p.off < len(p.src) && (p.src[p.off] == ' ' || p.src[p.off] == '\t') {
		p.off++
	}
	start := p.off
	if p.off >= len(p.src) {
		p.tok = token{tokEOF, "", start}
		return
	}
	c := rune(p.src[p.off])
	switch {
	case c >= '0' && c <= '9':
		for p.off < len(p.src) && p.src[p.off] >= '0' && p.src[p.off] <= '9' {
			p.off++
		}
		p.tok = token{tokInt, p.src[start:p.off], start}
	case c == '_' || unicode.IsLetter(c) && c < unicode.MaxASCII:
		for p.off < len(p.src) {
			c := rune(p.src[p.off])
			if c != '_' && !(c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
				break
			}
			p.off++
		}
		p.tok = token{tokName, p.src[start:p.off], start}
	case strings.ContainsRune("+-*()", c):
		p.off++
		p.tok = token{tokOp, string(c), start}
	default:
		r := []rune(p.src[start:])[0]
		p.off += len(string(r))
		p.tok = token{tokBad, string(r), start}
	}
}

// expr := term (('+' | '-') term)*
func (p *exprParser) expr() (Poly, error) {
	left, err := p.term()
	if err != nil {
		return Poly{}, err
	}
	for p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "-") {
		op := p.tok.text
		p.next()
		right, err := p.term()
		if err != nil {
			return Poly{}, err
		}
		if op == "+" {
			left = left.Add(right)
		} else {
			left = left.Sub(right)
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
		switch {
		case p.tok.kind == tokOp && p.tok.text == "*":
			p.next()
		case p.tok.kind == tokName, p.tok.kind == tokOp && p.tok.text == "(":
			// implicit product: 2n, n(m+1)
		case p.tok.kind == tokInt:
			return Poly{}, p.errorf("a number cannot follow a name or parenthesis; write %q", "*"+p.tok.text)
		default:
			return left, nil
		}
		right, err := p.unary()
		if err != nil {
			return Poly{}, err
		}
		left = left.Mul(right)
	}
}

// unary := '-' unary | factor
func (p *exprParser) unary() (Poly, error) {
	if p.tok.kind == tokOp && p.tok.text == "-" {
		p.next()
		v, err := p.unary()
		return v.Scale(-1), err
	}
	return p.factor()
}

// factor := INT | NAME | '(' expr ')'
func (p *exprParser) factor() (Poly, error) {
	t := p.tok
	switch {
	case t.kind == tokInt:
		v, err := strconv.ParseInt(t.text, 10, 32)
		if err != nil {
			return Poly{}, p.errorf("number %s is too large", t.text)
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
			return Poly{}, p.errorf("expected \")\", found %s", p.tok)
		}
		p.next()
		return v, nil
	case t.kind == tokOp && t.text == "/":
		return Poly{}, p.errorf("division is not supported")
	case t.kind == tokBad && t.text == "/":
		return Poly{}, p.errorf("division is not supported; widths are integer polynomials")
	case t.kind == tokBad:
		return Poly{}, p.errorf("unexpected %s", t)
	}
	return Poly{}, p.errorf("expected a number, a sweep variable or \"(\", found %s", t)
}
