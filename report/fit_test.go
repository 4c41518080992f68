package report

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// lawPoints samples a − b·P^(−α) at n log-spaced parameter counts from lo
// to hi, adding Gaussian noise with standard deviation sd (a fraction)
// drawn from a fixed seed.
func lawPoints(a, b, alpha, lo, hi float64, n int, sd float64, seed uint64) []FitPoint {
	rng := rand.New(rand.NewPCG(seed, 0))
	pts := make([]FitPoint, n)
	for i := range pts {
		p := math.Round(lo * math.Pow(hi/lo, float64(i)/float64(n-1)))
		pts[i] = FitPoint{Params: p, Accuracy: a - b*math.Pow(p, -alpha) + sd*rng.NormFloat64()}
	}
	return pts
}

func TestFitPowerLawRecovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		a, b, alph float64
		lo, hi     float64
		n          int
		sd         float64
		// Tolerances: absolute on A and Alpha, relative on B and on the
		// predicted parameter count at the target.
		tolA, tolAlpha, tolB, tolP float64
		target                     float64
	}{
		{"exact mlp-like", 0.99, 2, 0.5, 100, 1e6, 10, 0, 1e-9, 1e-8, 1e-8, 1e-8, 0.97},
		{"exact cnn-like", 0.994, 30, 0.8, 400, 75000, 6, 0, 1e-9, 1e-8, 1e-8, 1e-8, 0.98},
		{"exact slow decay", 0.95, 0.6, 0.12, 10, 1e7, 12, 0, 1e-9, 1e-8, 1e-8, 1e-8, 0.80},
		{"exact steep", 0.985, 500, 2.2, 20, 2000, 8, 0, 1e-9, 1e-8, 1e-8, 1e-8, 0.97},
		{"noise 0.05 points", 0.99, 2, 0.5, 100, 1e6, 12, 0.0005, 0.001, 0.01, 0.05, 0.05, 0.97},
		{"noise 0.1 points, 32 widths", 0.994, 30, 0.8, 400, 75000, 32, 0.001, 0.001, 0.01, 0.05, 0.05, 0.98},
	}
	for _, tt := range tests {
		for _, seed := range []uint64{42, 43, 44} {
			t.Run(tt.name+"/seed "+strconv.FormatUint(seed, 10), func(t *testing.T) {
				t.Parallel()
				pts := lawPoints(tt.a, tt.b, tt.alph, tt.lo, tt.hi, tt.n, tt.sd, seed)
				f, err := FitPowerLaw(pts)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(f.A-tt.a) > tt.tolA || math.Abs(f.Alpha-tt.alph) > tt.tolAlpha || math.Abs(f.B/tt.b-1) > tt.tolB {
					t.Errorf("fit %s (A %v, B %v, α %v), want %v − %v·P^(−%v)", f, f.A, f.B, f.Alpha, tt.a, tt.b, tt.alph)
				}
				want := math.Pow((tt.a-tt.target)/tt.b, -1/tt.alph)
				got, ok := f.ParamsAt(tt.target)
				if !ok || math.Abs(got/want-1) > tt.tolP {
					t.Errorf("ParamsAt(%v) = %v, %v; want %v (±%v%%)", tt.target, got, ok, want, 100*tt.tolP)
				}
				if tt.sd == 0 && (f.RMSE > 1e-7 || f.R2 < 1-1e-9) {
					t.Errorf("exact data fits with RMSE %v, R² %v; want 0 and 1", f.RMSE, f.R2)
				}
				if tt.sd > 0 && (f.RMSE > 2*tt.sd || f.R2 < 0.95) {
					t.Errorf("noisy data (sd %v) fits with RMSE %v, R² %v", tt.sd, f.RMSE, f.R2)
				}
				if f.N != tt.n || f.MinParams != pts[0].Params || f.MaxParams != pts[len(pts)-1].Params {
					t.Errorf("fit covers %d points, %v..%v; want %d, %v..%v", f.N, f.MinParams, f.MaxParams, tt.n, pts[0].Params, pts[len(pts)-1].Params)
				}
			})
		}
	}
}

// TestFitPowerLawIsLeastSquares cross-checks the optimum: nudging any of
// A, B and α (within the constraints) does not lower the squared residual.
func TestFitPowerLawIsLeastSquares(t *testing.T) {
	t.Parallel()
	pts := lawPoints(0.99, 2, 0.5, 100, 1e6, 12, 0.001, 7)
	f, err := FitPowerLaw(pts)
	if err != nil {
		t.Fatal(err)
	}
	sse := func(g Fit) float64 {
		s := 0.0
		for _, p := range pts {
			r := p.Accuracy - g.Accuracy(p.Params)
			s += r * r
		}
		return s
	}
	base := sse(f)
	if got := math.Sqrt(base / float64(len(pts))); math.Abs(got-f.RMSE) > 1e-12 {
		t.Errorf("RMSE %v, recomputed %v", f.RMSE, got)
	}
	for _, d := range []float64{1e-3, 1e-5} {
		for _, g := range []Fit{
			{A: f.A + d, B: f.B, Alpha: f.Alpha}, {A: f.A - d, B: f.B, Alpha: f.Alpha},
			{A: f.A, B: f.B * (1 + d), Alpha: f.Alpha}, {A: f.A, B: f.B * (1 - d), Alpha: f.Alpha},
			{A: f.A, B: f.B, Alpha: f.Alpha + d}, {A: f.A, B: f.B, Alpha: f.Alpha - d},
		} {
			if g.A <= 1 && sse(g) < base*(1-1e-9) {
				t.Errorf("law %s has a smaller squared residual (%v) than the fit %s (%v)", g, sse(g), f, base)
			}
		}
	}
}

func TestFitPowerLawConstrained(t *testing.T) {
	t.Parallel()
	// Data whose unconstrained asymptote is above 100%: A is held at 1.
	pts := []FitPoint{{100, 0.80}, {1000, 0.95}, {10000, 0.995}, {100000, 1}}
	f, err := FitPowerLaw(pts)
	if err != nil {
		t.Fatal(err)
	}
	if f.A > 1 || !(f.B > 0) || !(f.Alpha > 0) {
		t.Errorf("fit %s breaks A ≤ 1, B > 0, α > 0", f)
	}
}

func TestFitPowerLawDegenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		points  []FitPoint
		wantErr string
	}{
		{"no points", nil, "at least 3 distinct parameter counts, got none"},
		{"two points", []FitPoint{{100, 0.9}, {1000, 0.95}}, "at least 3 distinct parameter counts, got 2"},
		{"three points, two sizes", []FitPoint{{100, 0.9}, {100, 0.91}, {1000, 0.95}}, "at least 3 distinct parameter counts, got 2"},
		{"flat accuracy", []FitPoint{{100, 0.97}, {1000, 0.97}, {10000, 0.97}}, ErrFlatAccuracy.Error()},
		{"falling accuracy", []FitPoint{{100, 0.98}, {1000, 0.97}, {10000, 0.96}}, ErrFlatAccuracy.Error()},
		{"zero params", []FitPoint{{0, 0.9}, {100, 0.95}, {1000, 0.97}}, "parameter count 0 is not positive"},
		{"NaN accuracy", []FitPoint{{10, 0.9}, {100, math.NaN()}, {1000, 0.97}}, "is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := FitPowerLaw(tt.points)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FitPowerLaw error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(tt.name, "accuracy") && !errors.Is(err, ErrFlatAccuracy) && tt.wantErr == ErrFlatAccuracy.Error() {
				t.Errorf("error %v is not ErrFlatAccuracy", err)
			}
		})
	}
}

// TestFitAboveTargetEverywhere: when every point beats the target, the fit
// still works and predicts a turning point below the smallest point.
func TestFitAboveTargetEverywhere(t *testing.T) {
	t.Parallel()
	pts := lawPoints(0.995, 0.5, 0.6, 1000, 100000, 5, 0, 1)
	f, err := FitPowerLaw(pts)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := f.ParamsAt(0.97)
	if !ok || p >= pts[0].Params {
		t.Errorf("ParamsAt(0.97) = %v, %v; want a count below the smallest point (%v)", p, ok, pts[0].Params)
	}
}

func TestParamsAt(t *testing.T) {
	t.Parallel()
	f := Fit{A: 0.99, B: 2, Alpha: 0.5}
	tests := []struct {
		name   string
		f      Fit
		acc    float64
		want   float64
		wantOK bool
	}{
		// 0.99 − 2/√P = 0.97 ⇔ √P = 100.
		{"target", f, 0.97, 10000, true},
		{"closer to the asymptote", f, 0.98, 40000, true},
		{"at the asymptote", f, 0.99, 0, false},
		{"above the asymptote", f, 0.995, 0, false},
		{"below the law at P = 1", f, -2.01, 1.0 / 2.25, true},
		{"B not positive", Fit{A: 0.99, B: 0, Alpha: 0.5}, 0.97, 0, false},
		{"α not positive", Fit{A: 0.99, B: 2, Alpha: 0}, 0.97, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.f.ParamsAt(tt.acc)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-9*math.Max(1, tt.want) {
				t.Fatalf("ParamsAt(%v) = %v, %v; want %v, %v", tt.acc, got, ok, tt.want, tt.wantOK)
			}
			if ok {
				if back := tt.f.Accuracy(got); math.Abs(back-tt.acc) > 1e-12 {
					t.Errorf("Accuracy(ParamsAt(%v)) = %v", tt.acc, back)
				}
			}
		})
	}
}

func TestFitString(t *testing.T) {
	t.Parallel()
	if got, want := (Fit{A: 0.99412, B: 1.8049, Alpha: 0.4083}).String(), "0.9941 − 1.8·P^(−0.41)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
