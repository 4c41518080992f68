package spec

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestValuesExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    Values
		want string // the values, or the error
	}{
		{"list", Values{List: []int64{32, 16, 8}}, "[32 16 8]"},
		{"geometric up", Values{IsRange: true, From: 1, To: 64, Factor: 2}, "[1 2 4 8 16 32 64]"},
		{"geometric down", Values{IsRange: true, From: 32, To: 1, Factor: 2}, "[32 16 8 4 2 1]"},
		{"geometric up, end not reached", Values{IsRange: true, From: 1, To: 100, Factor: 3}, "[1 3 9 27 81]"},
		{"geometric down rounds down", Values{IsRange: true, From: 100, To: 10, Factor: 2}, "[100 50 25 12]"},
		{"geometric of one value", Values{IsRange: true, From: 5, To: 5, Factor: 2}, "[5]"},
		{"geometric near the int64 limit", Values{IsRange: true, From: 1 << 61, To: math.MaxInt64, Factor: 2}, "[2305843009213693952 4611686018427387904]"},
		{"arithmetic up", Values{IsRange: true, From: 1, To: 10, Step: 3}, "[1 4 7 10]"},
		{"arithmetic down", Values{IsRange: true, From: 10, To: 1, Step: 4}, "[10 6 2]"},
		{"arithmetic through zero", Values{IsRange: true, From: -2, To: 2, Step: 2}, "[-2 0 2]"},
		{"arithmetic near the int64 limit", Values{IsRange: true, From: math.MaxInt64 - 1, To: math.MaxInt64, Step: 5}, "[9223372036854775806]"},
		{"arithmetic across the whole int64 range", Values{IsRange: true, From: math.MinInt64, To: math.MaxInt64, Step: math.MaxInt64}, "[-9223372036854775808 -1 9223372036854775806]"},
		{"at the limit of values", Values{IsRange: true, From: 1, To: 10000, Step: 1}, "10000 values"},
		{"over the limit of values", Values{IsRange: true, From: 1, To: 10001, Step: 1}, "error: the range has more than 10000 values"},
		{"zero step", Values{IsRange: true, From: 1, To: 8}, "error: step must be positive, found 0"},
		{"factor 1", Values{IsRange: true, From: 1, To: 8, Factor: 1}, "error: factor 1 never changes the value"},
		{"factor and step", Values{IsRange: true, From: 1, To: 8, Factor: 2, Step: 1}, "error: a range takes factor: or step:, not both"},
		{"geometric from 0", Values{IsRange: true, From: 0, To: 8, Factor: 2}, "error: a geometric range runs between values of at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.v.Expand()
			var s string
			switch {
			case err != nil:
				s = "error: " + err.Error()
			case len(got) > 20:
				s = fmt.Sprintf("%d values", len(got))
			default:
				s = fmt.Sprint(got)
			}
			if s != tt.want {
				t.Errorf("Expand(%s) = %s, want %s", tt.v, s, tt.want)
			}
		})
	}
}

func TestValuesString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Values
		want string
	}{
		{Values{List: []int64{32, 16}}, "[32, 16]"},
		{Values{IsRange: true, From: 1, To: 64, Factor: 2}, "{from: 1, to: 64, factor: 2}"},
		{Values{IsRange: true, From: 1, To: 64, Step: 1}, "{from: 1, to: 64, step: 1}"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// parseSweep decodes the sweep of a spec whose sweep: is written as src.
func parseSweep(t *testing.T, src string) (Sweep, ErrorList) {
	t.Helper()
	s, errs := Parse("sweep.yaml", []byte("sweep: "+src+"\n"))
	if s == nil {
		t.Fatalf("Parse: %v", errs)
	}
	return s.Sweep, errs
}

func TestParseSweep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      string // the variables and their values, or the errors
	}{
		{"list", "{n: [32, 16, 8]}", "n=[32 16 8]"},
		{"geometric", "{n: {from: 32, to: 1, factor: 2}}", "n=[32 16 8 4 2 1]"},
		{"arithmetic", "{n: {from: 1, to: 4, step: 1}}", "n=[1 2 3 4]"},
		{"two variables in written order", "{n: [1, 2], m: [3]}", "n=[1 2] m=[3]"},
		{"aliases", "{n: &v [1, 2], m: *v}", "n=[1 2] m=[1 2]"},
		{"empty sweep", "{}", ""},
		{"null sweep", "", ""},
		{"empty list", "{n: []}", "sweep.yaml:1:12: sweep.n: the sweep of n has no values; give at least one value, e.g. n: [8, 16, 32]"},
		{"not an integer", "{n: [1, 2.5]}", "sweep.yaml:1:16: sweep.n[1]: expected an integer, found the number 2.5; sweep values are whole numbers"},
		{"missing from", "{n: {to: 8, step: 1}}", "sweep.yaml:1:12: sweep.n: the range has no from:; add from:, e.g. {from: 1, to: 64, factor: 2}"},
		{"missing both ends", "{n: {step: 1}}", "sweep.yaml:1:12: sweep.n: the range has no from: and to:; add from: and to:, e.g. {from: 1, to: 64, factor: 2}"},
		{"neither factor nor step", "{n: {from: 1, to: 8}}", "sweep.yaml:1:12: sweep.n: the range has no factor: or step:; add factor: 2 for 1, 2, 4, … or step: 1 for 1, 2, 3, …"},
		{"negative step", "{n: {from: 1, to: 8, step: -1}}", "sweep.yaml:1:35: sweep.n.step: step must be positive, found -1; use a positive step (from: and to: give the direction)"},
		{"geometric to 0", "{n: {from: 8, to: 0, factor: 2}}", "sweep.yaml:1:26: sweep.n.to: a geometric range cannot end at 0; end a geometric range at 1 or more"},
		{"unknown range key", "{n: {from: 1, to: 8, stp: 1}}", "sweep.yaml:1:29: sweep.n.stp: unknown key \"stp\" in sweep.n; did you mean \"step\"?"},
		{"too many values", "{n: {from: 1, to: 100000, step: 1}}", "sweep.yaml:1:12: sweep.n: the range has more than 10000 values; use a larger step or factor, or a smaller range"},
		{"a scalar", "{n: 8}", "sweep.yaml:1:12: sweep.n: expected sweep values, found the integer 8; write a list ([32, 16, 8]) or a range ({from: 1, to: 64, factor: 2} or {from: 1, to: 64, step: 1})"},
		{"bad name", "{2n: [1]}", "sweep.yaml:1:9: sweep.2n: \"2n\" is not a valid variable name; use a letter followed by letters, digits or _, e.g. n"},
		{"repeated name", "{n: [1], n: [2]}", "sweep.yaml:1:17: sweep.n: sweep variable \"n\" appears twice (first on line 1); remove one of them"},
		{"not a mapping", "[1, 2]", "sweep.yaml:1:8: sweep: expected a mapping from sweep variables to values, found a list; write variables and their values, e.g. \"sweep: {n: [32, 16, 8]}\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sw, errs := parseSweep(t, tt.src)
			var got string
			if len(errs) > 0 {
				got = errs.Lines()
			} else {
				var parts []string
				for _, v := range sw.Vars {
					vals, err := v.Values.Expand()
					if err != nil {
						t.Fatal(err)
					}
					parts = append(parts, fmt.Sprintf("%s=%v", v.Name, vals))
				}
				got = strings.Join(parts, " ")
			}
			if got != tt.want {
				t.Errorf("sweep: %s\ngot  %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestSweepOverride(t *testing.T) {
	t.Parallel()
	list := func(xs ...int64) Values { return Values{List: xs} }
	top := Sweep{Vars: []SweepVar{{"n", list(1, 2)}, {"m", list(3)}}}
	tests := []struct {
		name     string
		base, ov Sweep
		want     string
	}{
		{"no override", top, Sweep{}, "n=[1, 2] m=[3]"},
		{"replace one variable", top, Sweep{Vars: []SweepVar{{"m", list(7, 8)}}}, "n=[1, 2] m=[7, 8]"},
		{"add a variable after the others", top, Sweep{Vars: []SweepVar{{"k", list(5)}, {"n", list(9)}}}, "n=[9] m=[3] k=[5]"},
		{"no defaults", Sweep{}, Sweep{Vars: []SweepVar{{"n", list(4)}}}, "n=[4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.base.Override(tt.ov)
			var parts []string
			for _, v := range got.Vars {
				parts = append(parts, v.Name+"="+v.Values.String())
			}
			if s := strings.Join(parts, " "); s != tt.want {
				t.Errorf("Override = %s, want %s", s, tt.want)
			}
		})
	}
	t.Run("base unchanged", func(t *testing.T) {
		t.Parallel()
		base := Sweep{Vars: []SweepVar{{"n", list(1)}}}
		_ = base.Override(Sweep{Vars: []SweepVar{{"n", list(2)}}})
		if base.Vars[0].Values.List[0] != 1 {
			t.Error("Override changed its receiver")
		}
	})
}
