package pipeline

import (
	"context"
	"fmt"
	"sort"

	"github.com/nnsweep/nnsweep/report"
)

// Searching for the turning point without training every point (search: bisect).
//
// Training cost grows with size, so the search starts at the cheap end: it orders a model's
// points by parameter count, trains the smallest, then gallops upward, each step to the first
// point with at least twice the parameters of the last one trained, until a point meets the
// target. It then bisects the last interval until a point that misses and the next larger point
// that meets are adjacent, and finally checks the point above the answer: accuracy is not
// guaranteed to rise with size, and when that neighbour misses the target the answer is not
// sound, so the search goes on upward from there. Points already trained (a resumed run) are
// used as they are and never trained again.

// searchPoint is one candidate of a search: its index in the model's point list and its size.
type searchPoint struct {
	Index  int
	Params int64
}

// evalFunc trains the point at position i of the params-ordered candidates (or reads its stored
// result) and reports whether it meets the target.
type evalFunc func(i int) (meets bool, err error)

// searchOutcome is what a search found.
type searchOutcome struct {
	// Turning is the position (in params order) of the smallest point found to meet the target,
	// or -1 when none does.
	Turning int
	// Evaluated lists the positions evaluated, in order.
	Evaluated []int
	// Notes explains the steps taken because accuracy did not rise with size.
	Notes []string
}

// orderByParams returns the candidates sorted by parameter count (ties keep the spec's order).
func orderByParams(params []int64) []searchPoint {
	pts := make([]searchPoint, len(params))
	for i, p := range params {
		pts[i] = searchPoint{Index: i, Params: p}
	}
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].Params < pts[b].Params })
	return pts
}

// bisect runs the search over candidates sorted by params; label names a position for notes.
func bisect(pts []searchPoint, eval evalFunc, label func(i int) string) (searchOutcome, error) {
	bs := &bisection{pts: pts, eval: eval, known: map[int]bool{}, out: searchOutcome{Turning: -1}}
	n := len(pts)
	lo := -1 // the largest position known to miss, below hi
	start := 0
	for n > 0 {
		hi, err := bs.gallop(start, &lo)
		if err != nil || hi < 0 {
			return bs.out, err // nothing meets the target
		}
		if hi, err = bs.narrow(lo, hi); err != nil {
			return bs.out, err
		}
		bs.out.Turning = hi
		// Confirm with the next larger point.
		if hi+1 >= n {
			return bs.out, nil
		}
		m, err := bs.meets(hi + 1)
		if err != nil || m {
			return bs.out, err
		}
		bs.out.Notes = append(bs.out.Notes, fmt.Sprintf("%s meets the target but the larger %s does not: accuracy does not rise with size here, so the search went on above %s",
			label(hi), label(hi+1), label(hi+1)))
		bs.out.Turning = -1
		lo, start = hi+1, hi+2
		if start >= n {
			// Nothing above: the smallest meeting point found stays the answer, with the note.
			bs.out.Turning = hi
			return bs.out, nil
		}
	}
	return bs.out, nil
}

// bisection is the state of one bisect search: what is known of each position evaluated.
type bisection struct {
	pts   []searchPoint
	eval  evalFunc
	known map[int]bool
	out   searchOutcome
}

// meets evaluates position i once, and reports whether it meets the target.
func (bs *bisection) meets(i int) (bool, error) {
	if m, ok := bs.known[i]; ok {
		return m, nil
	}
	m, err := bs.eval(i)
	if err != nil {
		return false, err
	}
	bs.known[i] = m
	bs.out.Evaluated = append(bs.out.Evaluated, i)
	return m, nil
}

// gallop climbs from start, at least doubling the parameters each step, to the first position
// that meets the target (-1: none), setting *lo to the last that missed.
func (bs *bisection) gallop(start int, lo *int) (int, error) {
	n := len(bs.pts)
	for i := start; i < n; {
		m, err := bs.meets(i)
		if err != nil {
			return -1, err
		}
		if m {
			return i, nil
		}
		*lo = i
		if i == n-1 {
			break
		}
		next := i + 1
		for next < n-1 && bs.pts[next].Params < 2*bs.pts[i].Params {
			next++
		}
		i = next
	}
	return -1, nil
}

// narrow bisects between lo, which misses, and hi, which meets, to the smallest meeting position.
func (bs *bisection) narrow(lo, hi int) (int, error) {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		m, err := bs.meets(mid)
		if err != nil {
			return hi, err
		}
		if m {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// search runs the bisect search over one model's jobs (every seed of every point), training only
// the points it needs, and records in the manifest that the search is done and what it noted.
func (r *runState) search(ctx context.Context, jobs, all []job, sp shardPlan) error {
	m := jobs[0].model
	var points [][]job // the seeds of each point, in the spec's order
	var params []int64
	for i, j := range jobs {
		if i == 0 || j.pointIndex != jobs[i-1].pointIndex {
			pc, err := m.Count.At(j.point)
			if err != nil {
				return err
			}
			points = append(points, nil)
			params = append(params, pc.Params)
		}
		points[len(points)-1] = append(points[len(points)-1], j)
	}
	if r.searches == nil {
		r.searches = map[string]searchState{}
	}
	r.searches[m.Name] = searchState{}
	if err := r.writeManifest(all, sp); err != nil {
		return err
	}
	rule := r.e.Spec.Target.Rule
	if rule == "" {
		rule = report.RuleMean
	}
	cands := orderByParams(params)
	meets := func(i int) (bool, error) {
		var runs []report.Run
		for _, j := range points[cands[i].Index] {
			rec, err := r.ensure(ctx, j)
			if err != nil {
				return false, err
			}
			runs = append(runs, reportRun(rec))
		}
		s := report.Aggregate(runs, rule)
		return s.Status == report.StatusOK && s.Figure >= r.e.Spec.Target.Min, nil
	}
	label := func(i int) string { return points[cands[i].Index][0].point.String() }
	out, err := bisect(cands, meets, label)
	if err != nil {
		return err
	}
	verdict := "no point meets the target"
	if out.Turning >= 0 {
		verdict = "turning point " + label(out.Turning)
	}
	fmt.Fprintf(r.stderr, "%s: bisect evaluated %d of %d points: %s\n", m.Name, len(out.Evaluated), len(points), verdict)
	r.searches[m.Name] = searchState{done: true, notes: out.Notes}
	if err := r.writeManifest(all, sp); err != nil {
		return err
	}
	_, err = writeReport(r.opts.Out)
	return err
}
