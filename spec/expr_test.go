package spec

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseExpr(t *testing.T) {
	t.Parallel()
	vars := map[string]int64{"n": 3, "m": 5, "width": 7}
	tests := []struct {
		name, src string
		poly      string // the polynomial, printed
		value     int64  // at n=3, m=5, width=7
	}{
		{"integer", "10", "10", 10},
		{"name", "n", "n", 3},
		{"implicit product", "2n", "2n", 6},
		{"affine", "4n+1", "4n + 1", 13},
		{"spaces", " 4 n + 1 ", "4n + 1", 13},
		{"explicit product", "n*m", "nm", 15},
		{"product in written order", "m*n", "mn", 15},
		{"implicit product of names", "n m", "nm", 15},
		{"parenthesis", "2(n+1)", "2n + 2", 8},
		{"product of sums", "(n+1)(n-1)", "n² - 1", 8},
		{"name before parenthesis", "n(m+1)", "nm + n", 18},
		{"unary minus", "-n+5", "-n + 5", 2},
		{"double minus", "--n", "n", 3},
		{"minus after times", "2*-n", "-2n", -6},
		{"precedence of * over +", "1+2*n", "2n + 1", 7},
		{"precedence of * over -", "10-2n*2", "-4n + 10", -2},
		{"left to right subtraction", "n-1-1", "n - 2", 1},
		{"cancelling", "n-n+3", "3", 3},
		{"zero", "n-n", "0", 0},
		{"square", "n*n+796n+10", "n² + 796n + 10", 2407},
		{"multi-letter name", "2width+n", "2·width + n", 17},
		{"multi-letter product", "2 width n", "2·width·n", 42},
		{"underscore and digits", "n_2+1", "n_2 + 1", 1},
		{"largest number", "2147483647", "2147483647", 2147483647},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := ParseExpr(tt.src)
			if err != nil {
				t.Fatalf("ParseExpr(%q): %v", tt.src, err)
			}
			if got := e.String(); got != strings.TrimSpace(tt.src) {
				t.Errorf("String() = %q, want the source %q", got, strings.TrimSpace(tt.src))
			}
			if got := e.Poly().String(); got != tt.poly {
				t.Errorf("Poly() = %q, want %q", got, tt.poly)
			}
			if got := e.Poly().MustEval(vars); got != tt.value {
				t.Errorf("value %d, want %d", got, tt.value)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		offset    int    // byte offset of the reported token
		problem   string // the whole problem
		fix       string // a part of the fix, or "" for none
	}{
		{"two operators", "2n +* 3", 4, `expected a number, a sweep variable or "(" after "+", found "*"`, ""},
		{"division", "n/2", 1, "division is not supported", "sweep the smaller values"},
		{"empty", "", 0, "the width is empty", ""},
		{"blank", "   ", 0, "the width is empty", ""},
		{"unclosed parenthesis", "(n", 2, `"(" is never closed`, `add ")"`},
		{"unopened parenthesis", "n)", 1, `")" has no matching "("`, ""},
		{"two numbers", "3 4", 2, "a number cannot follow the number 3", `"3*4"`},
		{"number after name", "n 2", 2, `a number cannot follow "n"`, `"2n"`},
		{"number after parenthesis", "(n+1)2", 5, `a number cannot follow ")"`, ""},
		{"trailing operator", "n+", 2, `expected a number, a sweep variable or "(" after "+", found the end of the expression`, ""},
		{"leading operator", "*n", 0, `expected a number, a sweep variable or "(", found "*"`, ""},
		{"empty parentheses", "()", 1, `expected a number, a sweep variable or "(" after "(", found ")"`, ""},
		{"times sign", "2n×3", 2, `unexpected character "×"`, `use "*"`},
		{"middle dot", "2·n", 1, `unexpected character "·"`, `use "*"`},
		{"superscript", "n²", 1, `unexpected character "²"`, "n*n"},
		{"caret", "n^2", 1, `unexpected character "^"`, "n*n"},
		{"non-ASCII letter", "2ñ", 1, `unexpected character "ñ"`, "ASCII"},
		{"after a unicode character", "é+n", 0, `unexpected character "é"`, "ASCII"},
		{"invalid UTF-8", "n+\xff", 2, `unexpected character "\xff"`, ""},
		{"decimal point", "1.5n", 1, `unexpected character "."`, ""},
		{"number too large", "4294967296n", 0, "the number 4294967296 is too large", "2147483647"},
		{"coefficient overflow", "65536*65536*65536*65536", 17, "the expression's coefficients do not fit in 64 bits", ""},
		{"degree too high", "n*n*n*n*n*n*n*n*n", 15, "the expression's degree 9 is higher than 8", ""},
		{"too many terms", "(a+b+c+d)(e+f+g+h)(i+j+k+l)(m+o+p+q)", 27, "the expression has more than 64 terms", ""},
		{"too long", strings.Repeat("n+", 200) + "1", 0, "the expression is longer than 256 characters", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseExpr(tt.src)
			ee, ok := err.(*ExprError)
			if !ok {
				t.Fatalf("ParseExpr(%q) = %v, want an *ExprError", tt.src, err)
			}
			if ee.Offset != tt.offset || ee.Problem != tt.problem {
				t.Errorf("ParseExpr(%q): offset %d, %q; want offset %d, %q", tt.src, ee.Offset, ee.Problem, tt.offset, tt.problem)
			}
			if !strings.Contains(ee.Fix, tt.fix) {
				t.Errorf("ParseExpr(%q): fix %q does not contain %q", tt.src, ee.Fix, tt.fix)
			}
		})
	}
}

func ExampleParseExpr() {
	e, _ := ParseExpr("4(n+1) + n m")
	fmt.Println(e)
	fmt.Println(e.Poly())
	fmt.Println(e.Poly().MustEval(map[string]int64{"n": 2, "m": 3}))
	// Output:
	// 4(n+1) + n m
	// nm + 4n + 4
	// 18
}

// TestWidthErrorColumn checks that a width's syntax error points at the bad character in the
// file, in plain and quoted scalars, and at the scalar itself where the source is not verbatim.
func TestWidthErrorColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, layer string
		want        string // line:col
	}{
		{"plain in a flow mapping", `{dense: {units: 2n +* 3}}`, "4:27"},
		{"double-quoted", `{dense: {units: "2n +* 3"}}`, "4:28"},
		{"single-quoted", `{dense: {units: '2n +* 3'}}`, "4:28"},
		{"after a non-ASCII name", `{dense: {name: ééé, units: 2n +* 3}}`, "4:38"},
		{"leading spaces inside quotes", `{dense: {units: "  n)"}}`, "4:27"},
		{"escape in double quotes", `{dense: {units: "2n\t+* 3"}}`, "4:23"},
		{"block mapping", "\n        dense:\n          units: 4(n+1", "6:23"},
		{"folded scalar", "\n        dense:\n          units: >\n            n/2", "6:18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "sweep: {n: [1]}\nmodel:\n  layers:\n    - " + tt.layer + "\n"
			src = strings.Replace(src, "layers:\n    - \n", "layers:\n    -\n", 1)
			_, errs := Parse("w.yaml", []byte(src))
			if len(errs) != 1 {
				t.Fatalf("errors:\n%s\n%s", errs.Lines(), src)
			}
			if got := fmt.Sprintf("%d:%d", errs[0].Pos.Line, errs[0].Pos.Col); got != tt.want {
				t.Errorf("at %s, want %s: %v\n%s", got, tt.want, errs[0], src)
			}
		})
	}
}
