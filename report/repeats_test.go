package report

import (
	"math"
	"reflect"
	"testing"
)

// runsOf makes ok runs with the given accuracies; -1 is a diverged run and
// -2 a pending one.
func runsOf(accs ...float64) []Run {
	runs := make([]Run, len(accs))
	for i, a := range accs {
		switch a {
		case -1:
			runs[i] = Run{Seed: int64(i), Status: StatusDiverged, Epochs: 1, TrainSeconds: 1}
		case -2:
			runs[i] = Run{Seed: int64(i), Status: StatusPending}
		default:
			runs[i] = Run{Seed: int64(i), Accuracy: a, Loss: 1 - a, Status: StatusOK, Epochs: 10 + i, TrainSeconds: 2}
		}
	}
	return runs
}

func TestAggregate(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	// sd3 is the sample standard deviation of 0.97, 0.98, 0.99: 0.01.
	const sd3 = 0.01
	tests := []struct {
		name string
		runs []Run
		rule string
		want Summary
	}{
		{
			name: "mean of three",
			runs: runsOf(0.97, 0.98, 0.99), rule: RuleMean,
			want: Summary{Runs: 3, OK: 3, Mean: 0.98, SD: sd3, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 6, Figure: 0.98, Status: StatusOK},
		},
		{
			name: "empty rule is mean",
			runs: runsOf(0.97, 0.98, 0.99), rule: "",
			want: Summary{Runs: 3, OK: 3, Mean: 0.98, SD: sd3, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 6, Figure: 0.98, Status: StatusOK},
		},
		{
			name: "min",
			runs: runsOf(0.97, 0.98, 0.99), rule: RuleMin,
			want: Summary{Runs: 3, OK: 3, Mean: 0.98, SD: sd3, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 6, Figure: 0.97, Status: StatusOK},
		},
		{
			name: "mean-sd",
			runs: runsOf(0.97, 0.98, 0.99), rule: RuleMeanSD,
			want: Summary{Runs: 3, OK: 3, Mean: 0.98, SD: sd3, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 6, Figure: 0.97, Status: StatusOK},
		},
		{
			name: "single run: sd 0, every rule gives its accuracy",
			runs: runsOf(0.975), rule: RuleMeanSD,
			want: Summary{Runs: 1, OK: 1, Mean: 0.975, Min: 0.975, Max: 0.975, Loss: 0.025, Epochs: 10, TrainSeconds: 2, Figure: 0.975, Status: StatusOK},
		},
		{
			name: "diverged run is left out of mean",
			runs: runsOf(0.97, -1, 0.99), rule: RuleMean,
			want: Summary{Runs: 3, OK: 2, Diverged: 1, Mean: 0.98, SD: math.Sqrt(2) * 0.01, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 5, Figure: 0.98, Status: StatusOK},
		},
		{
			name: "diverged run under mean-sd",
			runs: runsOf(0.98, -1, 0.98), rule: RuleMeanSD,
			want: Summary{Runs: 3, OK: 2, Diverged: 1, Mean: 0.98, Min: 0.98, Max: 0.98, Loss: 0.02, Epochs: 11, TrainSeconds: 5, Figure: 0.98, Status: StatusOK},
		},
		{
			name: "diverged run fails the point under min",
			runs: runsOf(0.97, -1, 0.99), rule: RuleMin,
			want: Summary{Runs: 3, OK: 2, Diverged: 1, Mean: 0.98, SD: math.Sqrt(2) * 0.01, Min: 0.97, Max: 0.99, Loss: 0.02, Epochs: 11, TrainSeconds: 5, Figure: nan, Status: StatusDiverged},
		},
		{
			name: "all diverged",
			runs: runsOf(-1, -1), rule: RuleMean,
			want: Summary{Runs: 2, Diverged: 2, Loss: nan, Epochs: 1, TrainSeconds: 2, Figure: nan, Status: StatusDiverged},
		},
		{
			name: "pending runs are ignored",
			runs: runsOf(0.96, -2), rule: RuleMin,
			want: Summary{Runs: 2, OK: 1, Pending: 1, Mean: 0.96, Min: 0.96, Max: 0.96, Loss: 0.04, Epochs: 10, TrainSeconds: 2, Figure: 0.96, Status: StatusOK},
		},
		{
			name: "nothing finished",
			runs: runsOf(-2, -2), rule: RuleMean,
			want: Summary{Runs: 2, Pending: 2, Loss: nan, Figure: nan, Status: StatusPending},
		},
		{
			name: "no runs",
			runs: nil, rule: RuleMin,
			want: Summary{Loss: nan, Figure: nan, Status: StatusPending},
		},
		{
			name: "ok run with NaN accuracy counts as pending",
			runs: []Run{{Status: StatusOK, Accuracy: nan}, {Status: StatusOK, Accuracy: 0.9, Loss: 0.3, Epochs: 4}},
			rule: RuleMean,
			want: Summary{Runs: 2, OK: 1, Pending: 1, Mean: 0.9, Min: 0.9, Max: 0.9, Loss: 0.3, Epochs: 4, Figure: 0.9, Status: StatusOK},
		},
		{
			name: "NaN loss and time are skipped",
			runs: []Run{{Status: StatusOK, Accuracy: 0.9, Loss: nan, TrainSeconds: nan}, {Status: StatusOK, Accuracy: 0.8, Loss: 0.5, TrainSeconds: 3}},
			rule: RuleMean,
			want: Summary{Runs: 2, OK: 2, Mean: 0.85, SD: math.Sqrt(0.005), Min: 0.8, Max: 0.9, Loss: 0.5, TrainSeconds: 3, Figure: 0.85, Status: StatusOK},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Aggregate(tt.runs, tt.rule)
			if !summariesClose(got, tt.want) {
				t.Fatalf("Aggregate =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// summariesClose compares summaries with a tolerance on the floats, NaN
// equal to NaN.
func summariesClose(a, b Summary) bool {
	close := func(x, y float64) bool {
		return (math.IsNaN(x) && math.IsNaN(y)) || math.Abs(x-y) <= 1e-12
	}
	return a.Runs == b.Runs && a.OK == b.OK && a.Diverged == b.Diverged && a.Pending == b.Pending &&
		a.Status == b.Status && close(a.Mean, b.Mean) && close(a.SD, b.SD) && close(a.Min, b.Min) &&
		close(a.Max, b.Max) && close(a.Loss, b.Loss) && close(a.Epochs, b.Epochs) &&
		close(a.TrainSeconds, b.TrainSeconds) && close(a.Figure, b.Figure)
}

// TestAggregateEqualRunsMeetTheirAccuracy: seeds that all score exactly
// the target meet it under every rule (no rounding in the mean).
func TestAggregateEqualRunsMeetTheirAccuracy(t *testing.T) {
	t.Parallel()
	for _, acc := range []float64{0.97, 0.1, 0.3, 0.9712, 0.99} {
		for _, n := range []int{2, 3, 5, 7, 10} {
			accs := make([]float64, n)
			for i := range accs {
				accs[i] = acc
			}
			for _, rule := range Rules {
				if s := Aggregate(runsOf(accs...), rule); s.Figure != acc || s.SD != 0 {
					t.Errorf("%d runs at %v under %s: figure %v, sd %v", n, acc, rule, s.Figure, s.SD)
				}
			}
		}
	}
}

func TestAggregateUnknownRulePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r != `report: unknown rule "median"; use one of mean, min, mean-sd` {
			t.Errorf("panic = %v", r)
		}
	}()
	Aggregate(runsOf(0.9), "median")
}

func TestResolve(t *testing.T) {
	t.Parallel()
	p := Point{Label: "n=2", Params: 932, Accuracy: 0.5, Status: StatusPending, MaxEpochs: 12,
		Runs: []Run{
			{Seed: 1, Accuracy: 0.97, Loss: 0.1, Epochs: 7, TrainSeconds: 10, Status: StatusOK},
			{Seed: 2, Accuracy: 0.99, Loss: 0.2, Epochs: 8, TrainSeconds: 20, Status: StatusOK},
		}}
	got := resolve(p, RuleMin)
	want := p
	want.Accuracy, want.Loss, want.Epochs, want.TrainSeconds, want.Status = 0.97, 0.15000000000000002, 8, 30, StatusOK
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolve =\n %+v\nwant\n %+v", got, want)
	}
	plain := ok("n=1", 10, 0.9)
	if got := resolve(plain, RuleMin); !reflect.DeepEqual(got, plain) {
		t.Errorf("resolve changed a point without runs: %+v", got)
	}
}

// repeated is a point with Params and runs at the given accuracies.
func repeated(label string, params int64, accs ...float64) Point {
	return Point{Label: label, Params: params, Runs: runsOf(accs...)}
}

func TestTurningPointByRule(t *testing.T) {
	t.Parallel()
	m := Model{Name: "m", Points: []Point{
		repeated("n=1", 100, 0.960, 0.965, 0.970),
		repeated("n=2", 200, 0.975, 0.968, 0.982), // mean 0.975, min 0.968
		repeated("n=3", 300, 0.976, -1, 0.978),    // a diverged seed
		repeated("n=4", 400, 0.972, 0.974, 0.976), // min 0.972, mean-sd 0.972
		ok("n=5", 500, 0.99),                      // trained once
	}}
	tests := []struct {
		rule        string
		target      float64
		want        string
		wantAcc     float64
		nonMonotone []string
	}{
		{RuleMean, 0.97, "n=2", 0.975, nil},
		{"", 0.97, "n=2", 0.975, nil},
		{RuleMin, 0.97, "n=4", 0.972, nil},
		{RuleMin, 0.9675, "n=2", 0.968, nil},
		{RuleMeanSD, 0.97, "n=3", 0.977 - math.Sqrt(2)*0.001, []string{}},
		{RuleMean, 0.9765, "n=3", 0.977, []string{"n=4"}},
		{RuleMin, 0.98, "n=5", 0.99, nil},
	}
	for _, tt := range tests {
		tp := TurningPointByRule(m, tt.target, tt.rule)
		if !tp.Found || tp.Label != tt.want || math.Abs(tp.Accuracy-tt.wantAcc) > 1e-12 {
			t.Errorf("rule %q, target %v: turning point %s at %v (found %v), want %s at %v",
				tt.rule, tt.target, tp.Label, tp.Accuracy, tp.Found, tt.want, tt.wantAcc)
		}
		if len(tp.NonMonotone) != len(tt.nonMonotone) || (len(tt.nonMonotone) > 0 && !reflect.DeepEqual(tp.NonMonotone, tt.nonMonotone)) {
			t.Errorf("rule %q, target %v: NonMonotone %v, want %v", tt.rule, tt.target, tp.NonMonotone, tt.nonMonotone)
		}
		if len(tp.Runs) == 0 && tt.want != "n=5" {
			t.Errorf("rule %q: the turning point lost its runs", tt.rule)
		}
	}
	// TurningPoint judges repeated points by their mean.
	if tp := TurningPoint(m, 0.97); tp.Label != "n=2" {
		t.Errorf("TurningPoint = %s, want n=2 (mean rule)", tp.Label)
	}
	// Nothing reaches the target: the closest is by the rule's figure.
	tp := TurningPointByRule(m, 0.995, RuleMin)
	if tp.Found || tp.Closest.Label != "n=5" {
		t.Errorf("closest = %s (found %v), want n=5", tp.Closest.Label, tp.Found)
	}
	tp = TurningPointByRule(Model{Points: m.Points[:4]}, 0.995, RuleMin)
	if tp.Closest.Label != "n=4" || tp.Closest.Accuracy != 0.972 {
		t.Errorf("closest under min = %s at %v, want n=4 at 0.972 (n=3 has a diverged seed)", tp.Closest.Label, tp.Closest.Accuracy)
	}
}

func TestParetoFrontByRule(t *testing.T) {
	t.Parallel()
	models := []Model{
		{Name: "a", Points: []Point{
			repeated("n=1", 100, 0.95, 0.97), // mean 0.96, min 0.95
			repeated("n=2", 200, 0.96, 0.96), // mean 0.96, min 0.96
			repeated("n=3", 300, 0.99, -1),   // fails under min
		}},
		{Name: "b", Points: []Point{ok("x", 250, 0.955)}},
	}
	tests := []struct {
		rule string
		want [][2]int
	}{
		// Under mean, n=2 ties n=1 on accuracy with more parameters, and b/x is below both.
		{RuleMean, [][2]int{{0, 0}, {0, 2}}},
		// Under min, n=1 (0.95) < n=2 (0.96); n=3 fails; b/x (0.955) is dominated by n=2.
		{RuleMin, [][2]int{{0, 0}, {0, 1}}},
	}
	for _, tt := range tests {
		var got [][2]int
		for _, r := range ParetoFrontByRule(models, tt.rule) {
			got = append(got, [2]int{r.ModelIndex, r.PointIndex})
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParetoFrontByRule(%s) = %v, want %v", tt.rule, got, tt.want)
		}
	}
	if front := ParetoFront(models); len(front) != 2 || math.Abs(front[0].Point.Accuracy-0.96) > 1e-12 {
		t.Errorf("ParetoFront (mean) = %+v", front)
	}
}
