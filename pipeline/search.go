package pipeline

import (
	"context"
	"fmt"
	"maps"
	"math"
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
// sound, so the search goes on upward from there, using what it learnt of the points above.
// Points already trained (a resumed run) are used as they are and never trained again.
//
// Guided by the fit: once two points have a figure, the search fits a power law of the error
// against the parameters (with two points the law 1 − accuracy = B·P^(−α); with three or more
// report.FitPowerLaw's accuracy = A − B·P^(−α)) and, instead of doubling or halving, tries the
// smallest point of the open interval at or above the parameter count the law predicts for the
// target. A proposal is taken only when it keeps bisection's guarantee: for every turning point
// consistent with what is known (accuracy rising with size), finishing by plain gallop + bisect
// after the proposal needs no more trainings in all than plain gallop + bisect needs on this grid
// at worst. Otherwise the plain step is taken. The end is the same as plain bisection's: the
// smallest meeting point with a missing point (or nothing) below it and the point above it
// confirmed, so on monotone data the turning point is the grid's.

// searchPoint is one candidate of a search: its index in the model's point list and its size.
type searchPoint struct {
	Index  int
	Params int64
}

// pointResult is what evaluating one candidate tells the search.
type pointResult struct {
	// Meets says whether the point meets the target.
	Meets bool
	// Figure is the point's accuracy by the target's rule, a fraction; NaN when it has none
	// (a diverged training), and then the fit leaves it out.
	Figure float64
}

// evalFunc trains the point at position i of the params-ordered candidates (or reads its stored
// result) and reports what it found.
type evalFunc func(i int) (pointResult, error)

// searchOutcome is what a search found.
type searchOutcome struct {
	// Turning is the position (in params order) of the smallest point found to meet the target,
	// or -1 when none does.
	Turning int
	// Evaluated lists the positions evaluated, in order.
	Evaluated []int
	// Guided counts the positions of Evaluated that the power-law fit proposed.
	Guided int
	// Budget is the most positions plain gallop + bisect evaluates on this grid when accuracy
	// rises with size (its worst case over every turning point); a monotone guided search never
	// evaluates more.
	Budget int
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

// bisect runs the plain gallop + bisect search over candidates sorted by params; label names a
// position for notes.
func bisect(pts []searchPoint, eval evalFunc, label func(i int) string) (searchOutcome, error) {
	return runSearch(pts, math.NaN(), eval, label)
}

// guidedBisect runs the search with the power-law fit's proposals toward target (a fraction).
func guidedBisect(pts []searchPoint, target float64, eval evalFunc, label func(i int) string) (searchOutcome, error) {
	return runSearch(pts, target, eval, label)
}

// runSearch is bisect, guided by the fit when target is a number.
func runSearch(pts []searchPoint, target float64, eval evalFunc, label func(i int) string) (searchOutcome, error) {
	out := searchOutcome{Turning: -1, Budget: plainWorstCase(pts)}
	known := map[int]pointResult{}
	var c cursor
	for {
		st := advance(pts, known, &c)
		if st.next < 0 {
			out.Turning = st.turning
			break
		}
		next := st.next
		if !math.IsNaN(target) && !st.confirm {
			if g, ok := propose(pts, known, st.lo, st.hi, target); ok && g != next && keepsBudget(pts, known, c, g, len(out.Evaluated), out.Budget) {
				next = g
				out.Guided++
			}
		}
		r, err := eval(next)
		if err != nil {
			out.Notes = detourNotes(c, label)
			return out, err
		}
		known[next] = r
		out.Evaluated = append(out.Evaluated, next)
	}
	out.Notes = detourNotes(c, label)
	if top := len(pts) - 1; out.Guided > 0 && out.Turning < 0 && top >= 0 && len(out.Evaluated) < len(pts) {
		// The fit jumped to the largest point, and it missed: say what that rests on.
		why := "misses the target"
		if math.IsNaN(known[top].Figure) {
			why = "has no accuracy (diverged)"
		}
		out.Notes = append(out.Notes, fmt.Sprintf("the largest point, %s, %s: taking accuracy to rise with size, the search trained %d of the %d points; `--search grid` trains the others",
			label(top), why, len(out.Evaluated), len(pts)))
	}
	return out, nil
}

// cursor is where a search stands beyond what is known of each position: the positions below
// floor are settled, and each detour is a point that met the target with the next larger one
// missing it.
type cursor struct {
	floor   int
	detours [][2]int
}

// searchStep is the next thing a search does: evaluate next (-1: the search is done, with
// turning as its answer), which lies in the open interval (lo, hi) of positions between the
// largest known miss and the smallest known meet above the floor (hi = len(pts) when none meets),
// or is the confirmation of the point above the answer (confirm).
type searchStep struct {
	next, turning, lo, hi int
	confirm               bool
}

// advance returns plain gallop + bisect's next step given the known results, moving c past the
// detours the known results show. It depends on nothing else, so a search can be replayed from
// any state; the positions it returns are never known already.
func advance(pts []searchPoint, known map[int]pointResult, c *cursor) searchStep {
	n := len(pts)
	for {
		if c.floor >= n {
			turning := -1
			if len(c.detours) > 0 {
				// Nothing above: the last meeting point found stays the answer, with the note.
				turning = c.detours[len(c.detours)-1][0]
			}
			return searchStep{next: -1, turning: turning}
		}
		hi := n
		for i := c.floor; i < n; i++ {
			if r, ok := known[i]; ok && r.Meets {
				hi = i
				break
			}
		}
		lo := c.floor - 1
		for i := hi - 1; i >= c.floor; i-- {
			if r, ok := known[i]; ok && !r.Meets {
				lo = i
				break
			}
		}
		switch {
		case hi == n && lo == n-1:
			return searchStep{next: -1, turning: -1} // nothing meets the target
		case hi == n && lo < c.floor:
			return searchStep{next: c.floor, lo: lo, hi: hi}
		case hi == n:
			// Gallop: the first point with at least twice the parameters of the last miss.
			next := lo + 1
			for next < n-1 && pts[next].Params < 2*pts[lo].Params {
				next++
			}
			return searchStep{next: next, lo: lo, hi: hi}
		case hi-lo > 1:
			return searchStep{next: lo + (hi-lo)/2, lo: lo, hi: hi}
		case hi+1 >= n:
			return searchStep{next: -1, turning: hi}
		}
		r, ok := known[hi+1]
		switch {
		case !ok:
			return searchStep{next: hi + 1, lo: lo, hi: hi, confirm: true}
		case r.Meets:
			return searchStep{next: -1, turning: hi}
		}
		c.detours = append(c.detours, [2]int{hi, hi + 1})
		c.floor = hi + 2
	}
}

// detourNotes explains each detour of c.
func detourNotes(c cursor, label func(i int) string) []string {
	var notes []string
	for _, d := range c.detours {
		notes = append(notes, fmt.Sprintf("%s meets the target but the larger %s does not: accuracy does not rise with size here, so the search went on above %s",
			label(d[0]), label(d[1]), label(d[1])))
	}
	return notes
}

// plainRemaining counts the positions plain gallop + bisect evaluates from the state (known, c)
// when position i meets the target exactly when meets(i).
func plainRemaining(pts []searchPoint, known map[int]pointResult, c cursor, meets func(i int) bool) int {
	k := maps.Clone(known)
	if k == nil {
		k = map[int]pointResult{}
	}
	c.detours = append([][2]int(nil), c.detours...)
	count := 0
	for {
		st := advance(pts, k, &c)
		if st.next < 0 {
			return count
		}
		k[st.next] = pointResult{Meets: meets(st.next)}
		count++
	}
}

// plainWorstCase is the most positions plain gallop + bisect evaluates over pts when accuracy
// rises with size: the maximum over every turning point t (t = len(pts): none meets).
func plainWorstCase(pts []searchPoint) int {
	worst := 0
	for t := 0; t <= len(pts); t++ {
		worst = max(worst, plainRemaining(pts, nil, cursor{}, func(i int) bool { return i >= t }))
	}
	return worst
}

// keepsBudget says whether evaluating g now, after used evaluations, and finishing by plain
// gallop + bisect stays within budget for every turning point consistent with the known results
// above c's floor. With no consistent turning point (accuracy already falls with size), it is false.
func keepsBudget(pts []searchPoint, known map[int]pointResult, c cursor, g, used, budget int) bool {
	consistent := false
	for t := c.floor; t <= len(pts); t++ {
		fits := true
		for i, r := range known {
			if i >= c.floor && r.Meets != (i >= t) {
				fits = false
				break
			}
		}
		if !fits {
			continue
		}
		consistent = true
		meets := func(i int) bool { return i >= t }
		k := maps.Clone(known)
		k[g] = pointResult{Meets: meets(g)}
		if used+1+plainRemaining(pts, k, c, meets) > budget {
			return false
		}
	}
	return consistent
}

// propose returns the position the power-law fit of the known figures proposes in the open
// interval (lo, hi): the smallest at or above the parameter count the law predicts for target,
// or the interval's end nearest to it. ok is false when the known figures predict nothing (fewer
// than two, or an error that does not fall with size).
func propose(pts []searchPoint, known map[int]pointResult, lo, hi int, target float64) (int, bool) {
	var fit []report.FitPoint
	for i, r := range known {
		if !math.IsNaN(r.Figure) && !math.IsInf(r.Figure, 0) {
			fit = append(fit, report.FitPoint{Params: float64(pts[i].Params), Accuracy: r.Figure})
		}
	}
	want, ok := predictParams(fit, target)
	hi = min(hi, len(pts))
	if !ok || hi-lo < 2 {
		return 0, false
	}
	for i := lo + 1; i < hi; i++ {
		if float64(pts[i].Params) >= want {
			return i, true
		}
	}
	return hi - 1, true
}

// predictParams returns the parameter count at which a power law fitted to points reaches the
// accuracy target: with three or more distinct counts report.FitPowerLaw's law, with two the law
// 1 − accuracy = B·P^(−α) through both (the error must fall with size).
func predictParams(points []report.FitPoint, target float64) (float64, bool) {
	sort.Slice(points, func(a, b int) bool { return points[a].Params < points[b].Params })
	distinct := 0
	for i := range points {
		if i == 0 || points[i].Params != points[i-1].Params {
			distinct++
		}
	}
	switch {
	case distinct >= 3:
		f, err := report.FitPowerLaw(points)
		if err != nil {
			return 0, false
		}
		return f.ParamsAt(target)
	case distinct == 2:
		p1, p2 := points[0], points[len(points)-1]
		e1, e2, et := 1-p1.Accuracy, 1-p2.Accuracy, 1-target
		if !(e1 > e2 && e2 > 0 && et > 0) {
			return 0, false
		}
		alpha := math.Log(e1/e2) / math.Log(p2.Params/p1.Params)
		want := p2.Params * math.Pow(e2/et, 1/alpha)
		return want, !math.IsNaN(want) && !math.IsInf(want, 0)
	}
	return 0, false
}

// search runs the bisect search over one model's jobs (every seed of every point), training only
// the points it needs, and records in the manifest that the search is done, which points it
// evaluated and what it noted.
func (r *runState) search(ctx context.Context, jobs, all []job, sp shardPlan) error {
	m := jobs[0].model
	points := bySeeds(jobs) // the seeds of each point, in the spec's order
	var params []int64
	for _, seeds := range points {
		pc, err := m.Count.At(seeds[0].point)
		if err != nil {
			return err
		}
		params = append(params, pc.Params)
	}
	if err := r.setSearch(m.Name, searchState{}, all, sp); err != nil {
		return err
	}
	rule := r.e.Spec.Target.Rule
	if rule == "" {
		rule = report.RuleMean
	}
	cands := orderByParams(params)
	meets := func(i int) (pointResult, error) {
		recs, err := r.ensurePoint(ctx, points[cands[i].Index])
		if err != nil {
			return pointResult{}, err
		}
		var runs []report.Run
		for _, rec := range recs {
			runs = append(runs, reportRun(rec))
		}
		s := report.Aggregate(runs, rule)
		res := pointResult{Meets: s.Status == report.StatusOK && s.Figure >= r.e.Spec.Target.Min, Figure: s.Figure}
		if s.Status != report.StatusOK {
			res.Figure = math.NaN()
		}
		return res, nil
	}
	label := func(i int) string { return points[cands[i].Index][0].point.String() }
	out, err := guidedBisect(cands, r.e.Spec.Target.Min, meets, label)
	if err != nil {
		return err
	}
	verdict := "no point meets the target"
	if out.Turning >= 0 {
		verdict = "turning point " + label(out.Turning)
	}
	guided := ""
	if out.Guided > 0 {
		guided = fmt.Sprintf(", %d of them proposed by the power-law fit", out.Guided)
	}
	fmt.Fprintf(r.stderr, "%s: bisect evaluated %d of %d points%s (plain bisection needs up to %d): %s\n",
		m.Name, len(out.Evaluated), len(points), guided, out.Budget, verdict)
	var evaluated []string
	for _, i := range out.Evaluated {
		evaluated = append(evaluated, label(i))
	}
	st := searchState{done: true, notes: out.Notes, evaluated: evaluated, guided: out.Guided}
	if err := r.setSearch(m.Name, st, all, sp); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writeReport()
}

// setSearch records where model's search stands and writes the manifest that says so; the
// searches of several models may call it at once.
func (r *runState) setSearch(model string, st searchState, all []job, sp shardPlan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.searches == nil {
		r.searches = map[string]searchState{}
	}
	r.searches[model] = st
	return r.writeManifest(all, sp)
}

// bySeeds splits plan-ordered jobs into the seeds of each point.
func bySeeds(jobs []job) [][]job {
	var out [][]job
	for i, j := range jobs {
		if i == 0 || j.pointIndex != jobs[i-1].pointIndex {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], j)
	}
	return out
}
