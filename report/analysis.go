package report

import "sort"

// TurningResult is the outcome of TurningPoint for one model.
//
// Indices are 0-based positions in the model's Points; -1 means "none".
type TurningResult struct {
	// Found reports whether some ok point reaches the target.
	Found bool
	// Point is the turning point when Found, the zero Point otherwise. Its
	// fields are promoted, so tp.Params is the turning point's size.
	Point
	// Index is the turning point's index, or -1.
	Index int
	// Closest is, when nothing reaches the target, the ok point with the
	// highest accuracy (ties: fewer parameters, then the earlier point).
	// It is the zero Point when Found or when the model has no ok point.
	Closest Point
	// ClosestIndex is Closest's index, or -1.
	ClosestIndex int
	// Largest is the point with the most parameters whatever its status
	// (ties: an ok point, then the earlier point): the reference for
	// "times smaller".
	Largest Point
	// LargestIndex is Largest's index, or -1 for a model without points.
	LargestIndex int
	// NonMonotone lists, in the model's order, the labels of ok points
	// larger than the turning point whose accuracy misses the target:
	// accuracy is not monotone in size, and the report warns about it.
	// Diverged points are not listed; the report shows them as diverged.
	NonMonotone []string
}

// TimesSmaller is Largest.Params / Params: how many times smaller the
// turning point is than the largest point. It is 0 when nothing was found
// or a parameter count is not positive.
func (r TurningResult) TimesSmaller() float64 {
	if !r.Found || r.Params <= 0 || r.Largest.Params <= 0 {
		return 0
	}
	return float64(r.Largest.Params) / float64(r.Params)
}

// TurningPoint finds the turning point of m: among the ok points whose
// accuracy is at or above target (a fraction, e.g. 0.97), the one with the
// fewest parameters. Ties in parameters go to the higher accuracy, then to
// the earlier point.
//
// Accuracy need not grow with size; the turning point is still simply the
// smallest point that meets the target, and the larger ok points that miss
// it are listed in NonMonotone. When no point meets the target, Found is
// false and Closest is the best ok point.
//
// Points trained with several seeds (with Runs) are judged by their mean
// accuracy; TurningPointByRule chooses another figure.
func TurningPoint(m Model, target float64) TurningResult {
	return TurningPointByRule(m, target, RuleMean)
}

// TurningPointByRule is TurningPoint with points that have Runs judged by
// rule's figure (see Aggregate; "" means RuleMean). The points it returns
// (Point, Closest, Largest) are resolved: a point with Runs has the rule's
// figure as Accuracy and the status Aggregate gives it, so a point whose
// runs all diverged, or that has a diverged run under RuleMin, is never the
// turning point. Points without Runs are judged on Accuracy as in
// TurningPoint. It panics on an unknown rule.
func TurningPointByRule(m Model, target float64, rule string) TurningResult {
	return turningPoint(resolveModel(m, rule), target)
}

// turningPoint finds the turning point of a model whose points are resolved.
func turningPoint(m Model, target float64) (tp TurningResult) {
	tp.Index, tp.ClosestIndex, tp.LargestIndex = -1, -1, -1
	for i, p := range m.Points {
		if tp.LargestIndex < 0 || p.Params > tp.Largest.Params ||
			(p.Params == tp.Largest.Params && p.ok() && !tp.Largest.ok()) {
			tp.Largest, tp.LargestIndex = p, i
		}
		if !p.ok() {
			continue
		}
		if p.Accuracy >= target {
			if tp.Index < 0 || p.Params < tp.Params ||
				(p.Params == tp.Params && p.Accuracy > tp.Accuracy) {
				tp.Point, tp.Index = p, i
			}
		}
		if tp.ClosestIndex < 0 || p.Accuracy > tp.Closest.Accuracy ||
			(p.Accuracy == tp.Closest.Accuracy && p.Params < tp.Closest.Params) {
			tp.Closest, tp.ClosestIndex = p, i
		}
	}
	if tp.Index >= 0 {
		tp.Found = true
		tp.Closest, tp.ClosestIndex = Point{}, -1
		for _, p := range m.Points {
			if p.ok() && p.Params > tp.Params && p.Accuracy < target {
				tp.NonMonotone = append(tp.NonMonotone, p.Label)
			}
		}
	}
	return tp
}

// PointRef names one point of one model of an experiment.
type PointRef struct {
	// Model is the model's name.
	Model string
	// ModelIndex is the model's 0-based index in the models given.
	ModelIndex int
	// PointIndex is the point's 0-based index in that model's Points.
	PointIndex int
	// Point is a copy of the point.
	Point Point
}

// ParetoFront returns the ok points of all models that no other ok point
// dominates: q dominates p when q has at most p's parameters and at least
// its accuracy, and is strictly better in one of the two. Points with
// identical parameters and accuracy do not dominate each other, so both
// are kept.
//
// The front is sorted by parameters ascending, then accuracy descending,
// then model and point index. It is empty when no point is ok.
//
// Points trained with several seeds are compared by their mean accuracy;
// ParetoFrontByRule chooses another figure.
func ParetoFront(models []Model) []PointRef {
	return ParetoFrontByRule(models, RuleMean)
}

// ParetoFrontByRule is ParetoFront with points that have Runs compared by
// rule's figure (see Aggregate; "" means RuleMean). The points of the front
// are resolved, as in TurningPointByRule. It panics on an unknown rule.
func ParetoFrontByRule(models []Model, rule string) []PointRef {
	return paretoFront(resolveModels(models, rule))
}

// paretoFront is the front of models whose points are resolved.
func paretoFront(models []Model) []PointRef {
	var all []PointRef
	for mi, m := range models {
		for pi, p := range m.Points {
			if p.ok() {
				all = append(all, PointRef{Model: m.Name, ModelIndex: mi, PointIndex: pi, Point: p})
			}
		}
	}
	var front []PointRef
	for _, c := range all {
		dominated := false
		for _, o := range all {
			if dominates(o.Point, c.Point) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, c)
		}
	}
	sort.SliceStable(front, func(i, j int) bool {
		a, b := front[i], front[j]
		if a.Point.Params != b.Point.Params {
			return a.Point.Params < b.Point.Params
		}
		if a.Point.Accuracy != b.Point.Accuracy {
			return a.Point.Accuracy > b.Point.Accuracy
		}
		if a.ModelIndex != b.ModelIndex {
			return a.ModelIndex < b.ModelIndex
		}
		return a.PointIndex < b.PointIndex
	})
	return front
}

// dominates reports whether q is at least as good as p on both parameters
// (fewer is better) and accuracy, and strictly better on one.
func dominates(q, p Point) bool {
	return q.Params <= p.Params && q.Accuracy >= p.Accuracy &&
		(q.Params < p.Params || q.Accuracy > p.Accuracy)
}

// paretoSet returns the front of models whose points are resolved as a set
// of (model index, point index) pairs.
func paretoSet(models []Model) map[[2]int]bool {
	set := make(map[[2]int]bool)
	for _, r := range paretoFront(models) {
		set[[2]int{r.ModelIndex, r.PointIndex}] = true
	}
	return set
}
