package pipeline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// curve is a synthetic accuracy per point; the search must find the smallest point that meets
// the target, as the grid would, when accuracy rises with size.
func TestBisectSyntheticCurves(t *testing.T) {
	t.Parallel()
	widths := make([]int64, 32) // n = 1 … 32 of CNN2: 63n² + 335n + 10
	for i := range widths {
		n := int64(i + 1)
		widths[i] = 63*n*n + 335*n + 10
	}
	rising := func(mid float64) func(p int64) float64 {
		return func(p int64) float64 { return 1 / (1 + math.Exp(-(math.Log(float64(p))-mid)*3)) }
	}
	rng := rand.New(rand.NewPCG(1, 1))
	noise := make([]float64, 32)
	for i := range noise {
		noise[i] = rng.NormFloat64() * 0.002
	}
	tests := []struct {
		name     string
		acc      func(p int64) float64
		target   float64
		maxEvals int
	}{
		{"monotone", rising(7), 0.97, 8},
		{"monotone, turning at the top", rising(11), 0.97, 10},
		{"always above", func(int64) float64 { return 0.99 }, 0.97, 2},
		{"never reaches", func(int64) float64 { return 0.9 }, 0.97, 8},
		{"flat at the target", func(int64) float64 { return 0.97 }, 0.97, 2},
		{"noisy", func(p int64) float64 { return rising(7)(p) + noise[sizeIndex(widths, p)] }, 0.97, 10},
		{"dip above the turning point", rising(7.3), 0.97, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pts := orderByParams(widths)
			grid := -1
			for i := len(pts) - 1; i >= 0; i-- {
				if tt.acc(pts[i].Params) >= tt.target {
					grid = i
				}
			}
			if tt.name == "dip above the turning point" {
				// The point right above the first meeting one falls below the target.
				dip, acc := pts[grid+1].Params, tt.acc
				tt.acc = func(p int64) float64 {
					if p == dip {
						return 0.96
					}
					return acc(p)
				}
			}
			out, err := bisect(pts, func(i int) (bool, error) { return tt.acc(pts[i].Params) >= tt.target, nil },
				func(i int) string { return fmt.Sprintf("n=%d", pts[i].Index+1) })
			if err != nil {
				t.Fatal(err)
			}
			checkBisectOutcome(t, pts, out, func(i int) bool { return tt.acc(pts[i].Params) >= tt.target }, grid, tt.maxEvals)
		})
	}
}

// checkBisectOutcome checks a search over pts, where meets says which points meet the target:
// at most maxEvals evaluations, none twice, the grid's turning point when accuracy rises with
// size (a bracketing one and a note when it does not), and the point above it checked.
func checkBisectOutcome(t *testing.T, pts []searchPoint, out searchOutcome, meets func(i int) bool, grid, maxEvals int) {
	t.Helper()
	if len(out.Evaluated) > maxEvals {
		t.Errorf("evaluated %d points, want at most %d: %v", len(out.Evaluated), maxEvals, out.Evaluated)
	}
	seen := map[int]bool{}
	for _, i := range out.Evaluated {
		if seen[i] {
			t.Errorf("point %d evaluated twice", i)
		}
		seen[i] = true
	}
	monotone := true
	for i := 1; i < len(pts); i++ {
		monotone = monotone && (meets(i) || !meets(i-1))
	}
	switch {
	case monotone && out.Turning != grid:
		t.Errorf("turning point %d, the grid says %d", out.Turning, grid)
	case out.Turning >= 0 && (!meets(out.Turning) || out.Turning > 0 && meets(out.Turning-1) && !seen[out.Turning-1]):
		t.Errorf("turning point %d does not bracket the target", out.Turning)
	case !monotone && len(out.Notes) == 0:
		t.Errorf("non-monotone accuracy without a note")
	}
	if out.Turning >= 0 && out.Turning+1 < len(pts) && !seen[out.Turning+1] {
		t.Errorf("the point above the turning point was not checked")
	}
}

func sizeIndex(widths []int64, p int64) int {
	for i, w := range widths {
		if w == p {
			return i
		}
	}
	return -1
}

// Points already known (a resumed run) are not evaluated again; an evaluation error stops the search.
func TestBisectErrors(t *testing.T) {
	t.Parallel()
	pts := orderByParams([]int64{40, 10, 30, 20})
	if pts[0].Index != 1 || pts[3].Index != 0 {
		t.Fatalf("order %v", pts)
	}
	calls := 0
	_, err := bisect(pts, func(i int) (bool, error) {
		if calls++; calls == 2 {
			return false, fmt.Errorf("boom")
		}
		return false, nil
	}, func(i int) string { return fmt.Sprint(i) })
	if err == nil || calls != 2 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}
