package report

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// FitPoint is one measured point for FitPowerLaw.
type FitPoint struct {
	// Params is the number of trainable parameters; it must be positive.
	Params float64
	// Accuracy is the test accuracy as a fraction in [0,1].
	Accuracy float64
}

// Fit is a power law of accuracy against parameters,
// accuracy ≈ A − B·P^(−Alpha), fitted by FitPowerLaw.
type Fit struct {
	// A is the accuracy the law approaches for large P, a fraction; A ≤ 1.
	A float64
	// B is the scale of the shortfall from A; B > 0.
	B float64
	// Alpha is the exponent of P; Alpha > 0.
	Alpha float64
	// RMSE is the root-mean-square difference between the law and the
	// points, as a fraction (0.0012 is 0.12 percentage points).
	RMSE float64
	// R2 is the coefficient of determination: 1 − (squared residuals) /
	// (squared deviations of the accuracies from their mean).
	R2 float64
	// N is the number of points fitted.
	N int
	// MinParams and MaxParams bound the parameter counts fitted.
	MinParams, MaxParams float64
}

// Accuracy returns the law's accuracy at params parameters, as a fraction.
func (f Fit) Accuracy(params float64) float64 {
	return f.A - f.B*math.Pow(params, -f.Alpha)
}

// ParamsAt returns the parameter count at which the law reaches accuracy
// acc (a fraction): P = ((A − acc)/B)^(−1/Alpha). It returns false when the
// law never reaches acc (A ≤ acc) or the fit is not a valid law. The count
// is not rounded and may be below 1 when the law is above acc everywhere.
func (f Fit) ParamsAt(acc float64) (float64, bool) {
	if !(f.B > 0 && f.Alpha > 0) || !(f.A > acc) {
		return 0, false
	}
	p := math.Pow((f.A-acc)/f.B, -1/f.Alpha)
	if math.IsInf(p, 0) || math.IsNaN(p) {
		return 0, false
	}
	return p, true
}

// String writes the law as the report shows it, e.g.
// "0.994 − 1.8·P^(−0.41)".
func (f Fit) String() string {
	return strconv.FormatFloat(f.A, 'g', 4, 64) + " − " + strconv.FormatFloat(f.B, 'g', 3, 64) +
		"·P^(−" + strconv.FormatFloat(f.Alpha, 'g', 2, 64) + ")"
}

// The search range of FitPowerLaw's exponent and the size of its grid.
const (
	fitAlphaMin   = 0.05
	fitAlphaMax   = 3
	fitAlphaSteps = 60
)

// ErrFlatAccuracy is returned by FitPowerLaw when accuracy does not rise
// with size, so no law with B > 0 fits better than a constant.
var ErrFlatAccuracy = errors.New("report: accuracy does not rise with size; no power law to fit")

// FitPowerLaw fits accuracy ≈ A − B·P^(−Alpha) to points by least squares,
// with A ≤ 1, B > 0 and Alpha in [0.05, 3].
//
// For a fixed Alpha the law is linear in A and B (in x = P^(−Alpha)), so
// they are solved exactly (with A clamped to 1 and B refitted when the
// unconstrained A exceeds 1); the residual over Alpha is scanned on a
// log-spaced grid of 60 values and the best cell refined by golden-section
// search. It needs at least 3 distinct parameter counts; it returns
// ErrFlatAccuracy when accuracy does not rise with size.
func FitPowerLaw(points []FitPoint) (Fit, error) {
	if len(points) == 0 {
		return Fit{}, errors.New("report: a power-law fit needs at least 3 distinct parameter counts, got none")
	}
	distinct := map[float64]bool{}
	f := Fit{N: len(points), MinParams: math.Inf(1), MaxParams: math.Inf(-1)}
	for _, p := range points {
		if !(p.Params > 0) || math.IsInf(p.Params, 0) {
			return Fit{}, fmt.Errorf("report: power-law fit: parameter count %v is not positive", p.Params)
		}
		if math.IsNaN(p.Accuracy) || math.IsInf(p.Accuracy, 0) {
			return Fit{}, fmt.Errorf("report: power-law fit: accuracy %v at %v parameters is not a number", p.Accuracy, p.Params)
		}
		distinct[p.Params] = true
		f.MinParams, f.MaxParams = math.Min(f.MinParams, p.Params), math.Max(f.MaxParams, p.Params)
	}
	if len(distinct) < 3 {
		return Fit{}, fmt.Errorf("report: a power-law fit needs at least 3 distinct parameter counts, got %d", len(distinct))
	}
	var mean, sst float64
	lowAcc, highAcc := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		mean += p.Accuracy
		lowAcc, highAcc = math.Min(lowAcc, p.Accuracy), math.Max(highAcc, p.Accuracy)
	}
	mean /= float64(len(points))
	for _, p := range points {
		sst += (p.Accuracy - mean) * (p.Accuracy - mean)
	}
	if highAcc-lowAcc < 1e-12 {
		return Fit{}, ErrFlatAccuracy
	}

	// Scan log α, then refine around the best grid value.
	lo, hi := math.Log(fitAlphaMin), math.Log(fitAlphaMax)
	step := (hi - lo) / (fitAlphaSteps - 1)
	best, bestSSE := -1, math.Inf(1)
	for i := range fitAlphaSteps {
		if l, ok := profileFit(points, f.MinParams, math.Exp(lo+float64(i)*step)); ok && l.sse < bestSSE {
			best, bestSSE = i, l.sse
		}
	}
	if best < 0 {
		return Fit{}, ErrFlatAccuracy
	}
	u := goldenSection(func(u float64) float64 {
		if l, ok := profileFit(points, f.MinParams, math.Exp(u)); ok {
			return l.sse
		}
		return math.Inf(1)
	}, math.Max(lo, lo+float64(best-1)*step), math.Min(hi, lo+float64(best+1)*step))
	l, ok := profileFit(points, f.MinParams, math.Exp(u))
	if !ok || l.sse > bestSSE {
		l, _ = profileFit(points, f.MinParams, math.Exp(lo+float64(best)*step))
	}
	f.A, f.B, f.Alpha = l.a, l.b, l.alpha
	f.RMSE = math.Sqrt(l.sse / float64(len(points)))
	f.R2 = 1 - l.sse/sst
	return f, nil
}

// lawAt is the best law for one exponent.
type lawAt struct {
	a, b, alpha, sse float64
}

// profileFit solves A and B by least squares for a fixed alpha, with
// A ≤ 1; ok is false when the best B is not positive. x = (P/scale)^(−α)
// keeps the regression well conditioned; B is scaled back at the end.
func profileFit(points []FitPoint, scale, alpha float64) (lawAt, bool) {
	n := float64(len(points))
	xs := make([]float64, len(points))
	var xm, ym float64
	for i, p := range points {
		xs[i] = math.Pow(p.Params/scale, -alpha)
		xm += xs[i]
		ym += p.Accuracy
	}
	xm, ym = xm/n, ym/n
	var sxx, sxy float64
	for i, p := range points {
		sxx += (xs[i] - xm) * (xs[i] - xm)
		sxy += (xs[i] - xm) * (p.Accuracy - ym)
	}
	if !(sxx > 1e-300) {
		return lawAt{}, false
	}
	b := -sxy / sxx
	a := ym + b*xm
	if a > 1 {
		// The constrained optimum lies on A = 1: fit B alone.
		var num, den float64
		for i, p := range points {
			num += xs[i] * (1 - p.Accuracy)
			den += xs[i] * xs[i]
		}
		a, b = 1, num/den
	}
	if !(b > 0) {
		return lawAt{}, false
	}
	var sse float64
	for i, p := range points {
		r := p.Accuracy - (a - b*xs[i])
		sse += r * r
	}
	return lawAt{a: a, b: b * math.Pow(scale, alpha), alpha: alpha, sse: sse}, true
}

// goldenSection returns a minimizer of f on [lo, hi] to within 1e-10.
func goldenSection(f func(float64) float64, lo, hi float64) float64 {
	const invPhi = 0.6180339887498949
	c, d := hi-invPhi*(hi-lo), lo+invPhi*(hi-lo)
	fc, fd := f(c), f(d)
	for hi-lo > 1e-10 {
		if fc <= fd {
			hi, d, fd = d, c, fc
			c = hi - invPhi*(hi-lo)
			fc = f(c)
		} else {
			lo, c, fc = c, d, fd
			d = lo + invPhi*(hi-lo)
			fd = f(d)
		}
	}
	return (lo + hi) / 2
}

// FitModel fits a power law (FitPowerLaw) to the ok points of m with a
// positive parameter count, each point's accuracy being rule's figure
// (see Aggregate; "" means RuleMean). It panics on an unknown rule.
func FitModel(m Model, rule string) (Fit, error) {
	return fitResolved(resolveModel(m, rule))
}

// fitResolved is FitModel for a model whose points are resolved.
func fitResolved(m Model) (Fit, error) {
	var pts []FitPoint
	for _, p := range m.Points {
		if p.ok() && p.Params > 0 {
			pts = append(pts, FitPoint{Params: float64(p.Params), Accuracy: p.Accuracy})
		}
	}
	return FitPowerLaw(pts)
}
