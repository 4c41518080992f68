package report

import (
	"math"
	"reflect"
	"testing"
)

func ok(label string, params int64, acc float64) Point {
	return Point{Label: label, Params: params, Accuracy: acc, Status: StatusOK}
}

func withStatus(p Point, s Status) Point {
	p.Status = s
	return p
}

func TestTurningPoint(t *testing.T) {
	t.Parallel()
	// want summarizes a TurningResult by indices into the model's points.
	type want struct {
		Found                   bool
		Index, Closest, Largest int
		NonMonotone             []string
	}
	tests := []struct {
		name   string
		points []Point
		target float64
		want   want
	}{
		{
			name:   "smallest meeting the target",
			points: []Point{ok("n=8", 800, 0.99), ok("n=4", 400, 0.98), ok("n=2", 200, 0.96)},
			target: 0.97,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 0},
		},
		{
			name:   "accuracy equal to the target counts",
			points: []Point{ok("n=2", 200, 0.97), ok("n=1", 100, 0.9699999)},
			target: 0.97,
			want:   want{Found: true, Index: 0, Closest: -1, Largest: 0},
		},
		{
			name:   "everything above the target",
			points: []Point{ok("n=1", 100, 0.98), ok("n=2", 200, 0.985), ok("n=4", 400, 0.99)},
			target: 0.97,
			want:   want{Found: true, Index: 0, Closest: -1, Largest: 2},
		},
		{
			name:   "tie in params goes to the higher accuracy",
			points: []Point{ok("a", 100, 0.975), ok("b", 100, 0.98), ok("c", 300, 0.99)},
			target: 0.97,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 2},
		},
		{
			name:   "full tie goes to the earlier point",
			points: []Point{ok("a", 300, 0.99), ok("b", 100, 0.98), ok("c", 100, 0.98)},
			target: 0.97,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 0},
		},
		{
			name: "non-monotone accuracy",
			points: []Point{
				ok("n=1", 15, 0.90), ok("n=2", 25, 0.98), ok("n=4", 45, 0.97),
				withStatus(ok("n=8", 85, 0.10), StatusDiverged), ok("n=16", 165, 0.96), ok("n=32", 325, 0.99),
			},
			target: 0.975,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 5, NonMonotone: []string{"n=4", "n=16"}},
		},
		{
			name:   "diverged point is never the turning point",
			points: []Point{withStatus(ok("n=1", 100, 0.99), StatusDiverged), ok("n=2", 200, 0.98)},
			target: 0.97,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 1},
		},
		{
			name:   "pending point is ignored but can be the largest",
			points: []Point{ok("n=1", 100, 0.98), withStatus(ok("n=64", 6400, 0.99), StatusPending)},
			target: 0.97,
			want:   want{Found: true, Index: 0, Closest: -1, Largest: 1},
		},
		{
			name:   "largest tie prefers an ok point",
			points: []Point{withStatus(ok("p", 500, 0), StatusPending), ok("q", 500, 0.98), ok("r", 100, 0.99)},
			target: 0.97,
			want:   want{Found: true, Index: 2, Closest: -1, Largest: 1},
		},
		{
			name:   "ok status with NaN accuracy is ignored",
			points: []Point{ok("n=1", 100, math.NaN()), ok("n=2", 200, 0.98)},
			target: 0.97,
			want:   want{Found: true, Index: 1, Closest: -1, Largest: 1},
		},
		{
			name:   "nothing meets the target",
			points: []Point{ok("n=1", 100, 0.90), ok("n=4", 400, 0.96), ok("n=2", 200, 0.95)},
			target: 0.97,
			want:   want{Found: false, Index: -1, Closest: 1, Largest: 1},
		},
		{
			name:   "closest tie goes to fewer params",
			points: []Point{ok("n=4", 400, 0.96), ok("n=2", 200, 0.96), ok("n=1", 100, 0.90)},
			target: 0.97,
			want:   want{Found: false, Index: -1, Closest: 1, Largest: 0},
		},
		{
			name:   "diverged accuracy is not the closest",
			points: []Point{withStatus(ok("n=4", 400, 0.99), StatusDiverged), ok("n=2", 200, 0.90)},
			target: 0.97,
			want:   want{Found: false, Index: -1, Closest: 1, Largest: 0},
		},
		{
			name:   "all pending",
			points: []Point{{Label: "n=1", Params: 100, Status: StatusPending}, {Label: "n=2", Params: 200}},
			target: 0.97,
			want:   want{Found: false, Index: -1, Closest: -1, Largest: 1},
		},
		{
			name:   "empty model",
			target: 0.97,
			want:   want{Found: false, Index: -1, Closest: -1, Largest: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Model{Name: "m", Points: tt.points}
			tp := TurningPoint(m, tt.target)
			got := want{Found: tp.Found, Index: tp.Index, Closest: tp.ClosestIndex, Largest: tp.LargestIndex, NonMonotone: tp.NonMonotone}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("TurningPoint = %+v, want %+v", got, tt.want)
			}
			// The points returned must be the ones the indices name.
			check := func(what string, i int, p Point) {
				var w Point
				if i >= 0 {
					w = tt.points[i]
				}
				if !reflect.DeepEqual(p, w) && !(math.IsNaN(p.Accuracy) && math.IsNaN(w.Accuracy)) {
					t.Errorf("%s = %+v, want %+v", what, p, w)
				}
			}
			check("Point", tp.Index, tp.Point)
			check("Closest", tp.ClosestIndex, tp.Closest)
			check("Largest", tp.LargestIndex, tp.Largest)
		})
	}
}

func TestTimesSmaller(t *testing.T) {
	t.Parallel()
	tp := TurningPoint(cnn2(), 0.97)
	if got, want := tp.TimesSmaller(), 75242.0/932; got != want {
		t.Errorf("TimesSmaller = %v, want %v", got, want)
	}
	if tp.Params != 932 || tp.Label != "n=2" {
		t.Errorf("turning point = %s with %d params, want n=2 with 932", tp.Label, tp.Params)
	}
	if got := TurningPoint(Model{}, 0.97).TimesSmaller(); got != 0 {
		t.Errorf("TimesSmaller of an empty model = %v, want 0", got)
	}
}

func TestParetoFront(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		models []Model
		want   [][2]int // (model index, point index), in front order
	}{
		{
			name:   "no models",
			models: nil,
			want:   nil,
		},
		{
			name:   "empty and pending models",
			models: []Model{{Name: "empty"}, {Name: "p", Points: []Point{{Label: "n=1", Params: 5, Status: StatusPending}}}},
			want:   nil,
		},
		{
			name: "across models, sorted by params",
			models: []Model{
				{Name: "mlp", Points: []Point{ok("n=4", 4000, 0.98), ok("n=2", 2000, 0.96), ok("n=1", 1000, 0.93)}},
				{Name: "cnn", Points: []Point{ok("n=2", 900, 0.97), ok("n=1", 400, 0.92)}},
			},
			want: [][2]int{{1, 1}, {1, 0}, {0, 0}},
		},
		{
			name: "identical points are both kept",
			models: []Model{
				{Name: "a", Points: []Point{ok("n=1", 100, 0.95), ok("n=2", 200, 0.90)}},
				{Name: "b", Points: []Point{ok("n=1", 100, 0.95)}},
			},
			want: [][2]int{{0, 0}, {1, 0}},
		},
		{
			name: "equal params: only the higher accuracy",
			models: []Model{
				{Name: "a", Points: []Point{ok("x", 100, 0.94), ok("y", 100, 0.95)}},
			},
			want: [][2]int{{0, 1}},
		},
		{
			name: "equal accuracy: only the fewer params",
			models: []Model{
				{Name: "a", Points: []Point{ok("x", 200, 0.95), ok("y", 100, 0.95)}},
			},
			want: [][2]int{{0, 1}},
		},
		{
			name: "diverged and pending points neither join nor dominate",
			models: []Model{
				{Name: "a", Points: []Point{
					withStatus(ok("d", 10, 0.99), StatusDiverged),
					withStatus(ok("p", 20, 0.99), StatusPending),
					ok("x", 100, 0.90), ok("y", 300, 0.97),
				}},
			},
			want: [][2]int{{0, 2}, {0, 3}},
		},
		{
			name: "non-monotone points fall off the front",
			models: []Model{
				{Name: "w", Points: []Point{ok("n=1", 15, 0.90), ok("n=2", 25, 0.98), ok("n=4", 45, 0.97), ok("n=16", 165, 0.96)}},
			},
			want: [][2]int{{0, 0}, {0, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got [][2]int
			for _, r := range ParetoFront(tt.models) {
				got = append(got, [2]int{r.ModelIndex, r.PointIndex})
				if m := tt.models[r.ModelIndex]; r.Model != m.Name || !reflect.DeepEqual(r.Point, m.Points[r.PointIndex]) {
					t.Errorf("PointRef %+v does not match the point it names", r)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParetoFront = %v, want %v", got, tt.want)
			}
		})
	}
}
