package spec

import (
	"fmt"
	"math"
	"testing"
)

func TestPolyString(t *testing.T) {
	t.Parallel()
	n, m := Var("n"), Var("m")
	tests := []struct {
		name string
		p    Poly
		want string
	}{
		{"zero", Poly{}, "0"},
		{"constant", Const(10), "10"},
		{"negative constant", Const(-3), "-3"},
		{"variable", n, "n"},
		{"CNN2", n.Mul(n).Scale(63).Add(n.Scale(335)).Add(Const(10)), "63n² + 335n + 10"},
		{"MLP", n.Mul(n).Add(n.Scale(796)).Add(Const(10)), "n² + 796n + 10"},
		{"CNN1", n.Mul(n).Scale(1170).Add(n.Scale(56)).Add(Const(10)), "1170n² + 56n + 10"},
		{"negative leading term", n.Scale(-1).Add(Const(5)), "-n + 5"},
		{"negative later terms", n.Mul(n).Sub(n.Scale(3)).Sub(Const(1)), "n² - 3n - 1"},
		{"negative coefficient", Const(7).Sub(n.Scale(2)), "-2n + 7"},
		{"two variables", n.Mul(m).Scale(2), "2nm"},
		{"two variables, m first", m.Mul(n).Scale(2), "2mn"},
		{"two variables plus a constant", n.Mul(m).Scale(2).Add(Const(3)), "2nm + 3"},
		{"square of a sum", n.Add(m).Mul(n.Add(m)), "n² + 2nm + m²"},
		{"cube", n.Mul(n).Mul(n).Add(n), "n³ + n"},
		{"high power", pow(n, 12), "n¹²"},
		{"multi-letter name", Var("width").Scale(2).Add(n), "2·width + n"},
		{"multi-letter product", Var("width").Mul(n).Scale(3), "3·width·n"},
		{"multi-letter name alone", Var("width"), "width"},
		{"largest coefficient", Const(math.MaxInt64).Mul(n), "9223372036854775807n"},
		{"smallest coefficient", Const(math.MinInt64).Mul(n), "-9223372036854775808n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func pow(p Poly, e int) Poly {
	r := Const(1)
	for range e {
		r = r.Mul(p)
	}
	return r
}

func TestPolyArithmetic(t *testing.T) {
	t.Parallel()
	n, m := Var("n"), Var("m")
	a := n.Mul(n).Scale(3).Add(n.Mul(m)).Sub(Const(4)) // 3n² + nm - 4
	tests := []struct {
		name string
		got  Poly
		want Poly
	}{
		{"add is commutative", n.Add(m), m.Add(n)},
		{"mul is commutative", n.Mul(m), m.Mul(n)},
		{"distributes", n.Mul(m.Add(Const(1))), n.Mul(m).Add(n)},
		{"sub cancels", a.Sub(a), Poly{}},
		{"scale by 0", a.Scale(0), Poly{}},
		{"mul by 0", a.Mul(Const(0)), Poly{}},
		{"mul by 1", a.Mul(Const(1)), a},
		{"add 0", a.Add(Poly{}), a},
		{"zero value times", Poly{}.Mul(a), Poly{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.got.Equal(tt.want) {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
	t.Run("operands unchanged", func(t *testing.T) {
		t.Parallel()
		x := n.Add(Const(1))
		before := x.String()
		_ = x.Add(m).Mul(x).Scale(5).Sub(x)
		if x.String() != before {
			t.Errorf("x changed from %s to %s", before, x)
		}
	})
	t.Run("inspection", func(t *testing.T) {
		t.Parallel()
		if got := a.Degree(); got != 2 {
			t.Errorf("Degree() = %d, want 2", got)
		}
		if got := fmt.Sprint(a.Vars()); got != "[m n]" {
			t.Errorf("Vars() = %s, want [m n]", got)
		}
		for _, c := range []struct {
			exps map[string]int
			want int64
		}{{map[string]int{"n": 2}, 3}, {map[string]int{"n": 1, "m": 1}, 1}, {nil, -4}, {map[string]int{"m": 2}, 0}} {
			if got := a.Coeff(c.exps); got != c.want {
				t.Errorf("Coeff(%v) = %d, want %d", c.exps, got, c.want)
			}
		}
		if !Const(0).IsZero() || Const(1).IsZero() || !(Poly{}).IsZero() {
			t.Error("IsZero is wrong")
		}
	})
}

func TestPolyEval(t *testing.T) {
	t.Parallel()
	n, m := Var("n"), Var("m")
	tests := []struct {
		name   string
		p      Poly
		vars   map[string]int64
		want   int64
		wantOK bool
	}{
		{"MLP at 512", n.Mul(n).Add(n.Scale(796)).Add(Const(10)), map[string]int64{"n": 512}, 669706, true},
		{"missing variable is 0", n.Add(Const(3)), nil, 3, true},
		{"two variables", n.Mul(m).Scale(2), map[string]int64{"n": 3, "m": -4}, -24, true},
		{"largest value", n, map[string]int64{"n": math.MaxInt64}, math.MaxInt64, true},
		{"sum overflows", n.Add(Const(1)), map[string]int64{"n": math.MaxInt64}, 0, false},
		{"sum underflows", n.Sub(Const(1)), map[string]int64{"n": math.MinInt64}, 0, false},
		{"square overflows", n.Mul(n), map[string]int64{"n": 1 << 32}, 0, false},
		{"square just fits", n.Mul(n), map[string]int64{"n": 3037000499}, 3037000499 * 3037000499, true},
		{"coefficient times value overflows", n.Scale(1 << 40), map[string]int64{"n": 1 << 30}, 0, false},
		{"cancelled terms are gone", n.Mul(n).Sub(n.Mul(n).Sub(Const(1))), map[string]int64{"n": 1 << 40}, 1, true},
		{"power of -1", pow(n, 7), map[string]int64{"n": -1}, -1, true},
		{"high power of 0", pow(n, 8), map[string]int64{"n": 0}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.p.Eval(tt.vars)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Eval(%v) of %s = %d, %v; want %d, %v", tt.vars, tt.p, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMustEvalPanicsOnOverflow(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic")
		} else if s, _ := r.(string); s != "spec: polynomial value overflows int64: n²" {
			t.Errorf("panic %v", r)
		}
	}()
	Var("n").Mul(Var("n")).MustEval(map[string]int64{"n": 1 << 40})
}

func ExamplePoly_String() {
	n := Var("n")
	params := n.Mul(n).Scale(63).Add(n.Scale(335)).Add(Const(10))
	fmt.Println(params)
	fmt.Println(params.MustEval(map[string]int64{"n": 32}))
	// Output:
	// 63n² + 335n + 10
	// 75242
}
