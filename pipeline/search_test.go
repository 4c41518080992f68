package pipeline

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/report"
)

// cnn2Grid is CNN2's parameter count (63n² + 335n + 10) at n = 1 … k.
func cnn2Grid(k int) []int64 {
	widths := make([]int64, k)
	for i := range widths {
		n := int64(i + 1)
		widths[i] = 63*n*n + 335*n + 10
	}
	return widths
}

// seedGrids are the grids of examples/mnist-seed.yaml (n² + 796n + 10 over n = 16 … 512, and so
// on) and CNN2 at every width from 1 to 32.
var seedGrids = map[string][]int64{
	"mlp":       {13002, 26506, 55050, 118282, 269322, 669706},
	"mlp-pool":  {3594, 7690, 17418, 43018, 118794, 368650},
	"cnn1":      {1236, 4802, 18954, 75338, 300426, 1199882},
	"cnn2":      {408, 1232, 3354, 10218, 34618, 126090},
	"cnn2 1…32": cnn2Grid(32),
}

// fakeTrainer is a trainer of synthetic accuracies: acc gives each position's figure. It counts
// trainings and fails the test on a point trained twice.
type fakeTrainer struct {
	t         *testing.T
	pts       []searchPoint
	acc       func(params int64) float64
	target    float64
	trained   map[int]bool
	trainings int
}

func (f *fakeTrainer) eval(i int) (pointResult, error) {
	if f.trained[i] {
		f.t.Errorf("position %d trained twice", i)
	}
	f.trained[i] = true
	f.trainings++
	a := f.acc(f.pts[i].Params)
	return pointResult{Meets: a >= f.target, Figure: a}, nil
}

// searchWith runs the plain (target NaN) or guided search over grid with a fake trainer.
func searchWith(t *testing.T, grid []int64, acc func(int64) float64, target float64, guided bool) (searchOutcome, *fakeTrainer) {
	t.Helper()
	pts := orderByParams(grid)
	f := &fakeTrainer{t: t, pts: pts, acc: acc, target: target, trained: map[int]bool{}}
	label := func(i int) string { return fmt.Sprintf("#%d", pts[i].Index) }
	run := bisect
	if guided {
		run = func(pts []searchPoint, eval evalFunc, label func(int) string) (searchOutcome, error) {
			return guidedBisect(pts, target, eval, label)
		}
	}
	out, err := run(pts, f.eval, label)
	if err != nil {
		t.Fatal(err)
	}
	if f.trainings != len(out.Evaluated) {
		t.Fatalf("%d trainings, %d evaluated", f.trainings, len(out.Evaluated))
	}
	return out, f
}

// powerLaw is accuracy a − b·P^(−alpha).
func powerLaw(a, b, alpha float64) func(int64) float64 {
	return func(p int64) float64 { return a - b*math.Pow(float64(p), -alpha) }
}

// TestSearchSyntheticCurves runs the plain and the guided search on synthetic accuracy curves
// over the grids of the seed experiment, with a trainer that counts: never more trainings than
// plain bisection's worst case nor than the grid, none twice, the grid's turning point when
// accuracy rises with size (a bracketing one and a note when it does not), the point above the
// answer confirmed. On curves that follow a power law the guided search, summed over every grid,
// needs fewer trainings than plain bisection.
func TestSearchSyntheticCurves(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	noise := map[int64]float64{}
	for _, grid := range seedGrids {
		for _, p := range grid {
			noise[p] = rng.NormFloat64() * 0.002
		}
	}
	type curve struct {
		name   string
		acc    func(p int64) float64
		target float64
		law    bool // follows a power law exactly
	}
	var curves []curve
	// Power laws whose turning point falls anywhere from the bottom of a grid to its top.
	for _, b := range []float64{0.5, 1, 2, 4, 8, 16, 32, 64} {
		for _, alpha := range []float64{0.35, 0.5, 0.7} {
			curves = append(curves, curve{fmt.Sprintf("power law b=%g α=%g", b, alpha), powerLaw(0.995, b, alpha), 0.97, true})
		}
	}
	rising := func(mid float64) func(p int64) float64 {
		return func(p int64) float64 { return 1 / (1 + math.Exp(-(math.Log(float64(p))-mid)*3)) }
	}
	for _, mid := range []float64{6, 7, 8, 9, 10, 11, 12} {
		curves = append(curves,
			curve{fmt.Sprintf("logistic %g", mid), rising(mid), 0.97, false},
			curve{fmt.Sprintf("noisy logistic %g", mid), func(p int64) float64 { return rising(mid)(p) + noise[p] }, 0.97, false})
	}
	curves = append(curves,
		curve{"all pass", func(int64) float64 { return 0.99 }, 0.97, false},
		curve{"all fail", func(int64) float64 { return 0.9 }, 0.97, false},
		curve{"flat at the target", func(int64) float64 { return 0.97 }, 0.97, false},
		curve{"flat below, then a step", func(p int64) float64 { return map[bool]float64{true: 0.98, false: 0.9}[p > 50000] }, 0.97, false},
		curve{"power law above a dip", func(p int64) float64 {
			if p == 10218 || p == 75338 || p == 55050 || p == 17418 {
				return 0.96
			}
			return powerLaw(0.995, 4, 0.5)(p)
		}, 0.97, false},
	)
	var plainLaw, guidedLaw int
	for _, name := range slices.Sorted(maps.Keys(seedGrids)) {
		grid := seedGrids[name]
		for _, c := range curves {
			pts := orderByParams(grid)
			meets := func(i int) bool { return c.acc(pts[i].Params) >= c.target }
			gridTurning := -1
			for i := len(pts) - 1; i >= 0; i-- {
				if meets(i) {
					gridTurning = i
				}
			}
			plain, _ := searchWith(t, grid, c.acc, c.target, false)
			guided, _ := searchWith(t, grid, c.acc, c.target, true)
			for _, out := range []searchOutcome{plain, guided} {
				what := fmt.Sprintf("%s, %s, guided %v", name, c.name, out.Guided > 0)
				checkSearchOutcome(t, what, pts, out, meets, gridTurning)
			}
			if guided.Budget != plain.Budget || len(plain.Evaluated) > plain.Budget {
				t.Errorf("%s, %s: budget %d, plain evaluated %d", name, c.name, plain.Budget, len(plain.Evaluated))
			}
			if c.law {
				plainLaw += len(plain.Evaluated)
				guidedLaw += len(guided.Evaluated)
			}
		}
	}
	t.Logf("power-law curves: plain bisection %d trainings, guided %d", plainLaw, guidedLaw)
	if guidedLaw >= plainLaw {
		t.Errorf("on power-law curves the guided search trained %d points, plain bisection %d", guidedLaw, plainLaw)
	}
}

// checkSearchOutcome checks a search over pts, where meets says which points meet the target and
// grid is the grid's turning point (-1: none): at most the budget and the grid's size, none
// twice, the grid's answer when accuracy rises with size (a bracketing one and a note when it
// does not), and the point above it checked.
func checkSearchOutcome(t *testing.T, what string, pts []searchPoint, out searchOutcome, meets func(i int) bool, grid int) {
	t.Helper()
	if len(out.Evaluated) > len(pts) {
		t.Errorf("%s: evaluated %d points of a grid of %d", what, len(out.Evaluated), len(pts))
	}
	seen := map[int]bool{}
	for _, i := range out.Evaluated {
		if seen[i] {
			t.Errorf("%s: point %d evaluated twice", what, i)
		}
		seen[i] = true
	}
	monotone := true
	for i := 1; i < len(pts); i++ {
		monotone = monotone && (meets(i) || !meets(i-1))
	}
	switch {
	case monotone && out.Turning != grid:
		t.Errorf("%s: turning point %d, the grid says %d", what, out.Turning, grid)
	case monotone && len(out.Evaluated) > out.Budget:
		t.Errorf("%s: evaluated %d points, plain bisection needs at most %d", what, len(out.Evaluated), out.Budget)
	case out.Turning >= 0 && (!meets(out.Turning) || out.Turning > 0 && !seen[out.Turning-1] && meets(out.Turning-1)):
		t.Errorf("%s: turning point %d does not bracket the target", what, out.Turning)
	case out.Turning > 0 && !seen[out.Turning-1]:
		t.Errorf("%s: the point below the turning point %d was not checked", what, out.Turning)
	case !monotone && len(out.Notes) == 0 && out.Turning >= 0 && out.Turning+1 < len(pts) && !meets(out.Turning+1):
		t.Errorf("%s: non-monotone accuracy without a note", what)
	}
	if out.Turning >= 0 && out.Turning+1 < len(pts) && !seen[out.Turning+1] {
		t.Errorf("%s: the point above the turning point was not checked", what)
	}
}

// TestGuidedSearchKeepsTheBudget checks the guarantee exhaustively on small grids: for every
// turning point and accuracies drawn at random on either side of the target (so the fit proposes
// all sorts of points), the guided search never evaluates more points than plain bisection's
// worst case, and finds the grid's turning point.
func TestGuidedSearchKeepsTheBudget(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2, 3))
	guidedSteps := 0
	for n := 1; n <= 12; n++ {
		for trial := 0; trial < 30; trial++ {
			grid := make([]int64, n)
			p := int64(100 + rng.IntN(100))
			for i := range grid {
				grid[i] = p
				p += 1 + int64(float64(p)*rng.Float64()*3)
			}
			for turning := 0; turning <= n; turning++ {
				figs := map[int64]float64{}
				for i, q := range grid {
					if i >= turning {
						figs[q] = 0.97 + 0.03*rng.Float64()
					} else {
						figs[q] = 0.97 - 0.3*rng.Float64() - 1e-9
					}
				}
				acc := func(q int64) float64 { return figs[q] }
				out, _ := searchWith(t, grid, acc, 0.97, true)
				guidedSteps += out.Guided
				want := turning
				if turning == n {
					want = -1
				}
				pts := orderByParams(grid)
				checkSearchOutcome(t, fmt.Sprintf("n=%d trial %d turning %d", n, trial, turning), pts, out,
					func(i int) bool { return i >= turning }, want)
			}
		}
	}
	if guidedSteps == 0 {
		t.Fatal("the fit proposed no point")
	}
}

// The plain search is the gallop + bisect that search: bisect ran before the fit guided it: the
// same points in the same order, the same answer and notes, on random grids and random (often
// non-monotone) outcomes; after a detour, where it now uses the points it knows above, never more
// points.
func TestPlainSearchMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 5))
	detours := 0
	for trial := 0; trial < 3000; trial++ {
		n := 1 + rng.IntN(20)
		grid := make([]int64, n)
		p := int64(1 + rng.IntN(50))
		for i := range grid {
			grid[i] = p
			p += int64(rng.IntN(3) * rng.IntN(int(p)+1))
		}
		pts := orderByParams(grid)
		meets := make([]bool, n)
		turning := rng.IntN(n + 1)
		for i := range meets {
			meets[i] = i >= turning
			if rng.IntN(4) == 0 {
				meets[i] = !meets[i]
			}
		}
		eval := func(i int) (pointResult, error) { return pointResult{Meets: meets[i], Figure: math.NaN()}, nil }
		label := func(i int) string { return fmt.Sprint(i) }
		got, _ := bisect(pts, eval, label)
		want := referenceBisect(pts, func(i int) bool { return meets[i] }, label)
		if len(want.Notes) > 0 {
			// After a detour the reference galloped again past the points it knew above it; the
			// search now uses them, so it evaluates other points, never more, with as sound an answer.
			detours++
			if len(got.Evaluated) > len(want.Evaluated) {
				t.Errorf("grid %v meets %v: %d evaluated, the reference %d", grid, meets, len(got.Evaluated), len(want.Evaluated))
			}
			if got.Turning >= 0 && (!meets[got.Turning] || len(got.Notes) == 0) {
				t.Errorf("grid %v meets %v: turning point %d, notes %q", grid, meets, got.Turning, got.Notes)
			}
			continue
		}
		if !slices.Equal(got.Evaluated, want.Evaluated) || got.Turning != want.Turning || !slices.Equal(got.Notes, want.Notes) {
			t.Fatalf("grid %v meets %v:\ngot  %v turning %d notes %q\nwant %v turning %d notes %q",
				grid, meets, got.Evaluated, got.Turning, got.Notes, want.Evaluated, want.Turning, want.Notes)
		}
		// The guided search with no figures to fit is the plain search.
		if g, _ := guidedBisect(pts, 0.5, eval, label); !slices.Equal(g.Evaluated, want.Evaluated) || g.Turning != want.Turning {
			t.Fatalf("guided search without figures: %v, plain %v", g.Evaluated, want.Evaluated)
		}
	}
	if detours == 0 || detours > 2000 {
		t.Errorf("%d of 3000 trials made a detour", detours)
	}
}

// referenceBisect is search: bisect as it was before the fit guided it, kept as the reference the
// plain search must reproduce.
func referenceBisect(pts []searchPoint, meetsAt func(i int) bool, label func(i int) string) searchOutcome {
	out := searchOutcome{Turning: -1}
	known := map[int]bool{}
	meets := func(i int) bool {
		if m, ok := known[i]; ok {
			return m
		}
		known[i] = meetsAt(i)
		out.Evaluated = append(out.Evaluated, i)
		return known[i]
	}
	n := len(pts)
	gallop := func(start int, lo *int) int {
		for i := start; i < n; {
			if meets(i) {
				return i
			}
			*lo = i
			if i == n-1 {
				break
			}
			next := i + 1
			for next < n-1 && pts[next].Params < 2*pts[i].Params {
				next++
			}
			i = next
		}
		return -1
	}
	lo, start := -1, 0
	for n > 0 {
		hi := gallop(start, &lo)
		if hi < 0 {
			return out
		}
		for hi-lo > 1 {
			if mid := lo + (hi-lo)/2; meets(mid) {
				hi = mid
			} else {
				lo = mid
			}
		}
		out.Turning = hi
		if hi+1 >= n || meets(hi+1) {
			return out
		}
		out.Notes = append(out.Notes, fmt.Sprintf("%s meets the target but the larger %s does not: accuracy does not rise with size here, so the search went on above %s",
			label(hi), label(hi+1), label(hi+1)))
		out.Turning = -1
		lo, start = hi+1, hi+2
		if start >= n {
			out.Turning = hi
			return out
		}
	}
	return out
}

// predictParams inverts the law through two points exactly, and FitPowerLaw's through three.
func TestPredictParams(t *testing.T) {
	t.Parallel()
	law := powerLaw(1, 2, 0.5) // accuracy 0.97 at P = (2/0.03)² = 4444.4…
	want := math.Pow(2/0.03, 2)
	two := []report.FitPoint{{Params: 400, Accuracy: law(400)}, {Params: 1600, Accuracy: law(1600)}}
	if got, ok := predictParams(two, 0.97); !ok || math.Abs(got-want)/want > 1e-9 {
		t.Errorf("two points: %v (ok %v), want %v", got, ok, want)
	}
	three := append(two, report.FitPoint{Params: 3000, Accuracy: law(3000)})
	if got, ok := predictParams(three, 0.97); !ok || math.Abs(got-want)/want > 0.02 {
		t.Errorf("three points: %v (ok %v), want %v", got, ok, want)
	}
	for _, tt := range []struct {
		name string
		pts  []report.FitPoint
	}{
		{"one point", two[:1]},
		{"error rising with size", []report.FitPoint{{Params: 400, Accuracy: 0.95}, {Params: 1600, Accuracy: 0.9}}},
		{"flat", []report.FitPoint{{Params: 400, Accuracy: 0.9}, {Params: 1600, Accuracy: 0.9}, {Params: 3000, Accuracy: 0.9}}},
	} {
		if got, ok := predictParams(tt.pts, 0.97); ok {
			t.Errorf("%s: predicted %v", tt.name, got)
		}
	}
}

// An evaluation error stops the search.
func TestBisectErrors(t *testing.T) {
	t.Parallel()
	pts := orderByParams([]int64{40, 10, 30, 20})
	if pts[0].Index != 1 || pts[3].Index != 0 {
		t.Fatalf("order %v", pts)
	}
	calls := 0
	_, err := guidedBisect(pts, 0.97, func(i int) (pointResult, error) {
		if calls++; calls == 2 {
			return pointResult{}, fmt.Errorf("boom")
		}
		return pointResult{Figure: 0.5}, nil
	}, func(i int) string { return fmt.Sprint(i) })
	if err == nil || calls != 2 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

// When the fit sends the search to the largest point and it misses, the search concludes that
// none meets after a few trainings, and its note says what that rests on.
func TestGuidedSearchNoteWhenTheLargestMisses(t *testing.T) {
	t.Parallel()
	grid := cnn2Grid(32)
	out, _ := searchWith(t, grid, powerLaw(0.995, 64, 0.5), 0.97, true)
	plain, _ := searchWith(t, grid, powerLaw(0.995, 64, 0.5), 0.97, false)
	if out.Turning != -1 || len(out.Evaluated) >= len(plain.Evaluated) || len(out.Notes) != 1 ||
		!strings.Contains(out.Notes[0], "the largest point, #31, misses the target") {
		t.Fatalf("guided %v, notes %q; plain %v", out.Evaluated, out.Notes, plain.Evaluated)
	}
	if len(plain.Notes) != 0 {
		t.Errorf("plain search notes %q", plain.Notes)
	}
}
