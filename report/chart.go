package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nnsweep/nnsweep/internal/numfmt"
	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
)

// Chart geometry, in pixels at chartDPI.
const (
	chartWidth  = 1000
	chartHeight = 620
	chartDPI    = 96
)

// seriesColors are the models' colours, in the models' order (the
// "tableau" palette: distinguishable and print-friendly).
var seriesColors = []drawing.Color{
	drawing.ColorFromHex("1f77b4"), // blue
	drawing.ColorFromHex("ff7f0e"), // orange
	drawing.ColorFromHex("2ca02c"), // green
	drawing.ColorFromHex("d62728"), // red
	drawing.ColorFromHex("9467bd"), // purple
	drawing.ColorFromHex("8c564b"), // brown
	drawing.ColorFromHex("e377c2"), // pink
	drawing.ColorFromHex("7f7f7f"), // grey
	drawing.ColorFromHex("bcbd22"), // olive
	drawing.ColorFromHex("17becf"), // cyan
}

var (
	textColor      = drawing.ColorFromHex("222222")
	axisColor      = drawing.ColorFromHex("555555")
	targetColor    = drawing.ColorFromHex("444444")
	gridMajorColor = drawing.ColorFromHex("d9d9d9")
	gridMinorColor = drawing.ColorFromHex("efefef")
	targetDash     = []float64{7, 5}
	fitDash        = []float64{4, 3}
	legendGrey     = drawing.ColorFromHex("999999")
)

// seriesColor returns the colour of the i-th model (0-based).
func seriesColor(i int) drawing.Color {
	return seriesColors[i%len(seriesColors)]
}

// logAxis is a parameter axis drawn on a linear range of log10(params),
// because go-chart's own logarithmic range misplaces points.
type logAxis struct {
	// Min and Max bound the axis, in log10(params).
	Min, Max float64
	// Ticks are the labelled ticks; Value is log10(params) and Label the
	// count in compact form ("1k", "2M").
	Ticks []chart.Tick
	// Minor are the unlabelled grid lines (2×…9× each power of ten that
	// has no tick), in log10(params).
	Minor []float64
}

// newLogAxis returns an axis covering parameter counts lo..hi (lo <= hi,
// both positive) with some padding on either side. The axis spans at least
// one decade; it has a labelled tick at every power of ten inside it, and
// also at 2× and 5× each power of ten when that gives fewer than three ticks.
func newLogAxis(lo, hi float64) logAxis {
	if !(lo > 0) || !(hi > 0) || lo > hi {
		panic(fmt.Sprintf("report: newLogAxis(%v, %v) needs 0 < lo <= hi", lo, hi))
	}
	a, b := math.Log10(lo), math.Log10(hi)
	pad := math.Max(0.06*(b-a), 0.08)
	a, b = a-pad, b+pad
	if b-a < 1 {
		mid := (a + b) / 2
		a, b = mid-0.5, mid+0.5
	}
	ax := logAxis{Min: a, Max: b}

	const eps = 1e-9
	first, last := int(math.Floor(a)), int(math.Ceil(b))
	inside := func(v float64) bool { return v >= a-eps && v <= b+eps }
	for d := first; d <= last; d++ {
		if v := float64(d); inside(v) {
			ax.Ticks = append(ax.Ticks, chart.Tick{Value: v, Label: compactCount(math.Pow(10, v))})
		}
	}
	labelled := map[int]bool{1: true}
	if len(ax.Ticks) < 3 {
		labelled[2], labelled[5] = true, true
		ax.Ticks = ax.Ticks[:0]
		for d := first; d <= last; d++ {
			for _, m := range []int{1, 2, 5} {
				if v := float64(d) + math.Log10(float64(m)); inside(v) {
					ax.Ticks = append(ax.Ticks, chart.Tick{Value: v, Label: compactCount(float64(m) * math.Pow(10, float64(d)))})
				}
			}
		}
	}
	for d := first; d <= last; d++ {
		for m := 2; m <= 9; m++ {
			if v := float64(d) + math.Log10(float64(m)); !labelled[m] && inside(v) {
				ax.Minor = append(ax.Minor, v)
			}
		}
	}
	return ax
}

// xPixel maps a parameter count to a horizontal pixel offset from the left
// of a plot area width pixels wide, as go-chart does for this axis.
func (ax logAxis) xPixel(params float64, width int) int {
	r := chart.ContinuousRange{Min: ax.Min, Max: ax.Max, Domain: width}
	return r.Translate(math.Log10(params))
}

// accuracyAxis returns the vertical axis for accuracies (in percent) whose
// lowest value is low: from below low, rounded down to a tick, to 100%,
// with a tick every step percentage points.
func accuracyAxis(low float64) (min, max, step float64) {
	max = 100
	low = math.Min(math.Max(low, 0), 100)
	span := max - low
	switch {
	case span <= 2.5:
		step = 0.5
	case span <= 6:
		step = 1
	case span <= 12:
		step = 2
	case span <= 30:
		step = 5
	case span <= 60:
		step = 10
	default:
		step = 20
	}
	margin := math.Max(0.1*span, step/2)
	min = math.Max(0, math.Floor((low-margin)/step)*step)
	return min, max, step
}

// tickedRange is a continuous range that supplies its own ticks, so the
// axis keeps the bounds we set instead of snapping to the outer ticks.
type tickedRange struct {
	chart.ContinuousRange
	ticks []chart.Tick
}

// GetTicks returns the range's ticks.
func (r *tickedRange) GetTicks(chart.Renderer, chart.Style, chart.ValueFormatter) []chart.Tick {
	return r.ticks
}

// plotted is one model's ok points, sorted by parameters, as chart values.
type plotted struct {
	name     string
	color    drawing.Color
	x, y     []float64  // log10(params), accuracy in percent (the rule's figure)
	bars     []errorBar // mean ± sd of points with two or more ok runs
	turning  bool       // whether the model has a turning point
	tx, ty   float64    // the turning point, when turning
	tpLabel  string     // the turning point's label on the chart
	hasPoint bool       // whether any point is plotted
	points   int        // number of points, plotted or not
	hasFit   bool       // whether fit holds a power law (Experiment.Predict)
	fit      Fit
	hasPred  bool      // whether the fit predicts a turning point
	predX    float64   // the predicted turning point, log10(params)
	fitX     []float64 // the fitted curve as drawn (log10 params)
	fitY     []float64 // and its accuracies in percent
}

// errorBar is a vertical bar from lo to hi (accuracy in percent) at x
// (log10 params).
type errorBar struct {
	x, lo, hi float64
}

// chartData gathers what the chart shows of e, whose points need not be
// resolved.
func chartData(e Experiment) []plotted {
	models := resolveModels(e.Models, e.Rule)
	var out []plotted
	for i, m := range models {
		p := plotted{name: modelName(models, i), color: seriesColor(i), points: len(m.Points)}
		pts := make([]Point, 0, len(m.Points))
		for _, pt := range m.Points {
			if pt.ok() && pt.Params > 0 {
				pts = append(pts, pt)
			}
		}
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].Params < pts[b].Params })
		for _, pt := range pts {
			x := math.Log10(float64(pt.Params))
			p.x = append(p.x, x)
			p.y = append(p.y, 100*pt.Accuracy)
			if len(pt.Runs) > 1 {
				if s := Aggregate(pt.Runs, e.Rule); s.OK >= 2 && s.SD > 0 {
					p.bars = append(p.bars, errorBar{x: x, lo: 100 * (s.Mean - s.SD), hi: 100 * (s.Mean + s.SD)})
				}
			}
		}
		p.hasPoint = len(pts) > 0
		if e.Predict {
			if f, err := fitResolved(m); err == nil {
				p.hasFit, p.fit = true, f
				if pred, ok := f.ParamsAt(e.Target); ok && pred >= 1 {
					p.hasPred, p.predX = true, math.Log10(pred)
				}
			}
		}
		if tp := turningPoint(m, e.Target); tp.Found && tp.Params > 0 {
			p.turning = true
			p.tx, p.ty = math.Log10(float64(tp.Params)), 100*tp.Accuracy
			p.tpLabel = tp.Label + " · " + numfmt.GroupDigits(tp.Params) + " params"
		}
		out = append(out, p)
	}
	return out
}

// WriteChart writes the accuracy-versus-parameters chart of e to
// dir/base.png and dir/base.svg, each atomically.
//
// The x axis is the parameter count on a log scale, the y axis the test
// accuracy in percent. Each model is one line with a marker per ok point
// (diverged and pending points, and points without a positive parameter
// count, are not plotted); a dashed line marks the target, and each model's
// turning point has a larger, outlined marker and a label "n=2 · 932 params".
// The legend goes in the corner of the plot that hides the least data.
//
// A point trained with several seeds is plotted at its rule's figure
// (e.Rule, named in the y axis title) with a thin bar over mean ± sd when
// two or more seeds are ok. With e.Predict, each model's power-law fit is a
// thin dashed curve in its colour, and its predicted turning point a hollow
// diamond on the target line labelled "predicted" (left off when it lies
// more than half a decade beyond the data).
func WriteChart(dir, base string, e Experiment) error {
	if err := checkExperiment(e); err != nil {
		return err
	}
	if base == "" {
		return fmt.Errorf("report: empty chart file name")
	}
	for _, f := range []struct {
		ext    string
		render chart.RendererProvider
	}{{".png", chart.PNG}, {".svg", svg}} {
		var buf bytes.Buffer
		if err := renderChart(&buf, e, f.render); err != nil {
			return fmt.Errorf("report: rendering %s%s: %w", base, f.ext, err)
		}
		if err := writeFile(filepath.Join(dir, base+f.ext), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func renderChart(buf *bytes.Buffer, e Experiment, rp chart.RendererProvider) error {
	if _, err := chartFont(); err != nil {
		return err
	}
	data := chartData(e)
	target := 100 * e.Target
	lo, hi := parameterExtent(e, data)
	xa := newLogAxis(math.Pow(10, lo), math.Pow(10, hi))
	ymin, ymax, yticks := accuracyTicks(target, data)
	c := baseChart(e, xa, ymin, ymax, yticks)
	geo := geometry{x: xa, ymin: ymin, ymax: ymax, target: target}
	addSeries(&c, data, geo)
	nameStyle := c.XAxis.NameStyle
	title := "test accuracy (%)"
	if hasRuns(e.Models) {
		title += ", " + ruleFigure(e.Rule) + " of seeds"
	}
	c.Elements = []chart.Renderable{
		errorBars(data, geo), predictedMarkers(data, geo), turningMarkers(data, geo),
		legend(e, data, geo), yTitle(title, nameStyle.FontSize),
	}
	return c.Render(rp, buf)
}

// chartFont loads go-chart's default font once, before any chart renders: go-chart loads it
// lazily with an unsynchronised check, which races when two reports render at once (two runs in
// one process, or trainings at once refreshing a report).
var chartFont = sync.OnceValues(chart.GetDefaultFont)

// parameterExtent returns the chart's horizontal extent in decades: the ok points, else every
// point, else 100..1M, widened to a predicted turning point up to predictionReach beyond them.
func parameterExtent(e Experiment, data []plotted) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, d := range data {
		for _, x := range d.x {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	if math.IsInf(lo, 1) {
		for _, m := range e.Models {
			for _, p := range m.Points {
				if p.Params > 0 {
					v := math.Log10(float64(p.Params))
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 2, 6
	}
	// A predicted turning point up to half a decade beyond the data widens
	// the axis; one further out is left off the chart (the report says it).
	dataLo, dataHi := lo, hi
	for _, d := range data {
		if d.hasPred && d.predX >= dataLo-predictionReach && d.predX <= dataHi+predictionReach {
			lo, hi = math.Min(lo, d.predX), math.Max(hi, d.predX)
		}
	}
	return lo, hi
}

// accuracyTicks returns the accuracy axis, in percent, that shows the target and every point and
// error bar, and its ticks.
func accuracyTicks(target float64, data []plotted) (ymin, ymax float64, yticks []chart.Tick) {
	low := target
	for _, d := range data {
		for _, y := range d.y {
			low = math.Min(low, y)
		}
		for _, b := range d.bars {
			low = math.Min(low, b.lo)
		}
	}
	ymin, ymax, ystep := accuracyAxis(low)
	for v := ymin; v <= ymax+1e-9; v += ystep {
		v = math.Round(v*1e6) / 1e6
		yticks = append(yticks, chart.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64) + "%"})
	}

	return ymin, ymax, yticks
}

// baseChart returns the chart's frame: title, axes, their ticks and grid lines, no series.
func baseChart(e Experiment, xa logAxis, ymin, ymax float64, yticks []chart.Tick) chart.Chart {
	var xgrid, ygrid []chart.GridLine
	for _, t := range xa.Ticks {
		xgrid = append(xgrid, chart.GridLine{Value: t.Value})
	}
	for _, v := range xa.Minor {
		xgrid = append(xgrid, chart.GridLine{Value: v, IsMinor: true})
	}
	for _, t := range yticks {
		ygrid = append(ygrid, chart.GridLine{Value: t.Value})
	}

	axisStyle := chart.Style{FontSize: 11, FontColor: textColor, StrokeColor: axisColor, StrokeWidth: 1}
	nameStyle := chart.Style{FontSize: 12, FontColor: textColor}
	yRange := func() *tickedRange {
		return &tickedRange{ContinuousRange: chart.ContinuousRange{Min: ymin, Max: ymax}, ticks: yticks}
	}

	c := chart.Chart{
		Title:      e.Title,
		TitleStyle: chart.Style{FontSize: 15, FontColor: textColor},
		Width:      chartWidth,
		Height:     chartHeight,
		DPI:        chartDPI,
		Background: chart.Style{Padding: chart.Box{Top: 50, Left: chartPadLeft + yTitleWidth, Right: 30, Bottom: 20}},
		XAxis: chart.XAxis{
			Name:           "parameters (log scale)",
			NameStyle:      nameStyle,
			Style:          axisStyle,
			Range:          &tickedRange{ContinuousRange: chart.ContinuousRange{Min: xa.Min, Max: xa.Max}, ticks: xa.Ticks},
			GridLines:      xgrid,
			GridMajorStyle: chart.Style{StrokeColor: gridMajorColor, StrokeWidth: 1},
			GridMinorStyle: chart.Style{StrokeColor: gridMinorColor, StrokeWidth: 1},
		},
		// Series use the secondary y axis, which go-chart draws on the left;
		// the primary one (right) is hidden but needs a valid range.
		YAxis: chart.YAxis{Style: chart.Hidden(), Range: yRange()},
		// Its title is drawn by yTitle: go-chart rotates it to read downwards.
		YAxisSecondary: chart.YAxis{
			Style:          axisStyle,
			Range:          yRange(),
			GridLines:      ygrid,
			GridMajorStyle: chart.Style{StrokeColor: gridMajorColor, StrokeWidth: 1},
		},
	}
	if c.Title == "" {
		c.TitleStyle.Hidden = true
		c.Background.Padding.Top = 20
	}
	return c
}

// addSeries adds the target line, the fitted curves (under the data), each model's points and
// the labels of the turning points to c.
func addSeries(c *chart.Chart, data []plotted, geo geometry) {
	target, xa := geo.target, geo.x
	c.Series = append(c.Series, chart.ContinuousSeries{
		Name:    "target",
		YAxis:   chart.YAxisSecondary,
		Style:   chart.Style{StrokeColor: targetColor, StrokeWidth: 1.5, StrokeDashArray: targetDash},
		XValues: []float64{xa.Min, xa.Max},
		YValues: []float64{target, target},
	})
	// Fitted curves go under the data.
	for i, d := range data {
		if xs, ys := fitCurve(d, geo); len(xs) >= 2 {
			data[i].fitX, data[i].fitY = xs, ys
			c.Series = append(c.Series, chart.ContinuousSeries{
				Name:    d.name + " fit",
				YAxis:   chart.YAxisSecondary,
				Style:   chart.Style{StrokeColor: d.color, StrokeWidth: 1.25, StrokeDashArray: fitDash},
				XValues: xs,
				YValues: ys,
			})
		}
	}
	var labels []chart.Value2
	for _, d := range data {
		if !d.hasPoint {
			continue
		}
		c.Series = append(c.Series, chart.ContinuousSeries{
			Name:    d.name,
			YAxis:   chart.YAxisSecondary,
			Style:   chart.Style{StrokeColor: d.color, StrokeWidth: 2, DotColor: d.color, DotWidth: 3.5},
			XValues: d.x,
			YValues: d.y,
		})
		if d.turning {
			ax, ay := geo.labelAnchor(d.tx, d.ty)
			labels = append(labels, chart.Value2{
				XValue: ax, YValue: ay, Label: d.tpLabel,
				Style: chart.Style{StrokeColor: d.color, StrokeWidth: 1.5, FontColor: textColor, FillColor: drawing.ColorWhite, FontSize: 10},
			})
		}
	}
	if len(labels) > 0 {
		c.Series = append(c.Series, chart.AnnotationSeries{Annotations: labels, YAxis: chart.YAxisSecondary})
	}
}

// predictionReach is how far beyond the data, in decades, a predicted
// turning point may widen the parameter axis.
const predictionReach = 0.5

// fitCurve samples d's fitted law (log10 params, accuracy in percent) over
// the model's points and its predicted turning point, within the axes.
func fitCurve(d plotted, g geometry) (xs, ys []float64) {
	if !d.hasFit || !d.hasPoint {
		return nil, nil
	}
	lo, hi := d.x[0], d.x[len(d.x)-1]
	if d.hasPred {
		lo, hi = math.Min(lo, d.predX), math.Max(hi, d.predX)
	}
	lo, hi = math.Max(lo, g.x.Min), math.Min(hi, g.x.Max)
	const samples = 120
	for i := 0; i <= samples; i++ {
		x := lo + (hi-lo)*float64(i)/samples
		y := 100 * d.fit.Accuracy(math.Pow(10, x))
		if y < g.ymin || y > g.ymax || math.IsNaN(y) {
			continue
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}

// errorBars draws, for each point with two or more ok runs, a thin
// vertical bar over mean ± sd with short caps, in the model's colour.
func errorBars(data []plotted, g geometry) chart.Renderable {
	return func(r chart.Renderer, cb chart.Box, _ chart.Style) {
		const capHalf = 4
		for _, d := range data {
			r.SetStrokeColor(d.color)
			r.SetStrokeWidth(1.25)
			r.SetStrokeDashArray(nil)
			for _, b := range d.bars {
				x, ylo := g.px(cb, b.x, math.Max(b.lo, g.ymin))
				_, yhi := g.px(cb, b.x, math.Min(b.hi, g.ymax))
				r.MoveTo(x, ylo)
				r.LineTo(x, yhi)
				r.MoveTo(x-capHalf, ylo)
				r.LineTo(x+capHalf, ylo)
				r.MoveTo(x-capHalf, yhi)
				r.LineTo(x+capHalf, yhi)
				r.Stroke()
			}
		}
		r.ResetStyle()
	}
}

// predictedMarkers marks each model's predicted turning point that lies
// on the chart where the prediction is: a hollow diamond in the model's
// colour on the target line, labelled "predicted" above it on the left
// (the measured turning point's label hangs below on the right), so that
// it is not read as a measured point. It is drawn before the measured
// turning points, which stay on top where the two are close.
func predictedMarkers(data []plotted, g geometry) chart.Renderable {
	return func(r chart.Renderer, cb chart.Box, defaults chart.Style) {
		for _, d := range data {
			x, y, ok := g.predictionAt(d, cb)
			if !ok {
				continue
			}
			diamond(r, x, y, predDiamond, d.color)
			r.SetFont(defaults.GetFont())
			r.SetFontSize(9)
			r.SetFontColor(d.color)
			tb := r.MeasureText(predLabel)
			r.Text(predLabel, x-tb.Width()-predDiamond-3, y-predDiamond-3)
		}
		r.ResetStyle()
	}
}

// predLabel labels a predicted turning point on the chart.
const predLabel = "predicted"

// predictionAt is where d's predicted turning point is drawn in the plot
// area cb: on the target line, at the predicted parameter count; ok is
// false when d has no prediction on the chart.
func (g geometry) predictionAt(d plotted, cb chart.Box) (x, y int, ok bool) {
	if !d.hasPred || d.predX < g.x.Min || d.predX > g.x.Max {
		return 0, 0, false
	}
	x, y = g.px(cb, d.predX, g.target)
	return x, y, true
}

// predDiamond is the size of the predicted-turning-point diamond, in
// pixels from centre to corner.
const predDiamond = 5

// diamond draws a hollow diamond centred on (x, y), r pixels from centre
// to corner, outlined in c.
func diamond(rd chart.Renderer, x, y, r int, c drawing.Color) {
	rd.SetFillColor(drawing.ColorWhite)
	rd.SetStrokeColor(c)
	rd.SetStrokeWidth(1.75)
	rd.SetStrokeDashArray(nil)
	rd.MoveTo(x, y-r)
	rd.LineTo(x+r, y)
	rd.LineTo(x, y+r)
	rd.LineTo(x-r, y)
	rd.Close()
	rd.FillStroke()
}

// geometry maps chart values to pixels once go-chart has laid out the
// plot area (the canvas box handed to elements).
type geometry struct {
	x          logAxis
	ymin, ymax float64 // accuracy in percent
	target     float64 // accuracy in percent
}

// labelAnchor is where a turning point's label points to: a little below
// and right of the point, where an increasing curve leaves room. The
// offsets are in pixels of an estimated plot area; turningMarkers draws a
// leader line from the point to the anchor wherever it ends up.
// When the label would sit on the target line, it goes just below it.
func (g geometry) labelAnchor(x, y float64) (float64, float64) {
	const plotW, plotH = chartWidth - 120, chartHeight - 140 // estimated plot area
	perPxX, perPxY := (g.x.Max-g.x.Min)/plotW, (g.ymax-g.ymin)/plotH
	ay := y - labelDY*perPxY
	if math.Abs(ay-g.target) < labelClear*perPxY {
		ay = g.target - labelClear*perPxY
	}
	return x + labelDX*perPxX, ay
}

// Offsets in pixels from a turning point to its label's anchor, and the
// least distance from the anchor to the target line (half a label's height
// and a gap).
const labelDX, labelDY, labelClear = 6, 24, 18

func (g geometry) px(cb chart.Box, x, y float64) (int, int) {
	xr := chart.ContinuousRange{Min: g.x.Min, Max: g.x.Max, Domain: cb.Width()}
	yr := chart.ContinuousRange{Min: g.ymin, Max: g.ymax, Domain: cb.Height()}
	return cb.Left + xr.Translate(x), cb.Bottom - yr.Translate(y)
}

// turningMarkers draws a larger, outlined marker on each turning point.
func turningMarkers(data []plotted, g geometry) chart.Renderable {
	return func(r chart.Renderer, cb chart.Box, _ chart.Style) {
		for _, d := range data {
			if !d.turning {
				continue
			}
			x, y := g.px(cb, d.tx, d.ty)
			ax, ay := g.labelAnchor(d.tx, d.ty)
			lx, ly := g.px(cb, ax, ay)
			r.SetStrokeColor(d.color)
			r.SetStrokeWidth(1.5)
			r.SetStrokeDashArray(nil)
			r.MoveTo(x, y)
			r.LineTo(lx, ly)
			r.Stroke()
			r.SetFillColor(d.color)
			r.SetStrokeColor(textColor)
			r.SetStrokeWidth(1.5)
			r.SetStrokeDashArray(nil)
			r.Circle(7, x, y)
			r.FillStroke()
		}
		r.ResetStyle()
	}
}

// legendEntry is one line of the legend.
type legendEntry struct {
	text    string
	color   drawing.Color
	dash    []float64
	dot     float64 // marker radius; 0 for none
	line    bool
	width   float64       // line width; 0 means 2
	marker  drawing.Color // outline of the marker, for the turning-point entry
	bar     bool          // an error bar sample
	diamond bool          // a hollow diamond sample
}

// legend draws the legend in the corner of the plot area where it covers
// the least of the data.
func legend(e Experiment, data []plotted, g geometry) chart.Renderable {
	entries := legendEntries(e, data, g)
	return func(r chart.Renderer, cb chart.Box, defaults chart.Style) {
		r.SetFont(defaults.GetFont())
		r.SetFontSize(10.5)
		r.SetFontColor(textColor)
		textW, lineH := 0, 0
		for _, en := range entries {
			tb := r.MeasureText(en.text)
			textW, lineH = max(textW, tb.Width()), max(lineH, tb.Height())
		}
		lineH = max(lineH, 14)
		// Slack for SVG viewers that lack Roboto and fall back to a wider font.
		textW += textW / 8
		w := legendPad + legendSample + legendGap + textW + legendPad
		h := legendPad + len(entries)*lineH + (len(entries)-1)*legendSpacing + legendPad
		box := legendCorner(cb, w, h, legendSamples(r, cb, e, data, g))

		chart.Draw.Box(r, box, chart.Style{FillColor: drawing.Color{R: 255, G: 255, B: 255, A: 235}, StrokeColor: drawing.ColorFromHex("bbbbbb"), StrokeWidth: 1})
		y := box.Top + legendPad
		for _, en := range entries {
			mid := y + lineH/2
			x0, x1 := box.Left+legendPad, box.Left+legendPad+legendSample
			en.drawSample(r, x0, x1, mid)
			r.SetStrokeDashArray(nil)
			r.SetFont(defaults.GetFont())
			r.SetFontSize(10.5)
			r.SetFontColor(textColor)
			tb := r.MeasureText(en.text)
			r.Text(en.text, x1+legendGap, mid+tb.Height()/2)
			y += lineH + legendSpacing
		}
		r.ResetStyle()
	}
}

// The legend's measures, in pixels.
const (
	legendPad     = 8  // inside the legend box
	legendInset   = 10 // between the legend and the plot area's edge
	legendSample  = 28 // width of the line sample
	legendGap     = 8  // between sample and text
	legendSpacing = 6  // between lines
)

// legendEntries lists the legend's lines: each model, the target, and the turning points, error
// bars, fits and predictions where the chart has them.
func legendEntries(e Experiment, data []plotted, g geometry) []legendEntry {
	entries := []legendEntry{}
	for _, d := range data {
		text := d.name
		switch {
		case d.points == 0:
			text += " (no points)"
		case !d.hasPoint:
			text += " (no results yet)"
		}
		entries = append(entries, legendEntry{text: text, color: d.color, line: true, dot: 3.5})
	}
	entries = append(entries, legendEntry{text: "target " + targetPercent(e.Target), color: targetColor, dash: targetDash, line: true})
	for _, d := range data {
		if d.turning {
			entries = append(entries, legendEntry{text: "turning point (smallest ≥ target)", color: drawing.ColorFromHex("bbbbbb"), dot: 7, marker: textColor})
			break
		}
	}
	var bars, fits, preds bool
	for _, d := range data {
		bars = bars || len(d.bars) > 0
		fits = fits || len(d.fitX) >= 2
		preds = preds || (d.hasPred && d.predX >= g.x.Min && d.predX <= g.x.Max)
	}
	if bars {
		entries = append(entries, legendEntry{text: "mean ± sd over seeds", color: legendGrey, bar: true})
	}
	if fits {
		entries = append(entries, legendEntry{text: "power-law fit", color: legendGrey, dash: fitDash, line: true, width: 1.25})
	}
	if preds {
		entries = append(entries, legendEntry{text: "predicted turning point (power-law fit, on the target)", color: legendGrey, diamond: true})
	}
	return entries
}

// legendSamples returns pixels of what the chart draws (curves, bars, points, labels, the
// target), which the legend should not hide.
func legendSamples(r chart.Renderer, cb chart.Box, e Experiment, data []plotted, g geometry) [][2]int {
	var samples [][2]int
	for _, d := range data {
		for i := range d.fitX {
			x, y := g.px(cb, d.fitX[i], d.fitY[i])
			samples = append(samples, [2]int{x, y})
		}
		for _, b := range d.bars {
			x, y1 := g.px(cb, b.x, b.lo)
			_, y2 := g.px(cb, b.x, b.hi)
			for k := 0; k <= 4; k++ {
				samples = append(samples, [2]int{x, y1 + (y2-y1)*k/4})
			}
		}
		if d.hasPred {
			x, y := g.px(cb, d.predX, g.target)
			for ; y >= cb.Top; y -= 8 {
				samples = append(samples, [2]int{x, y})
			}
		}
		for i := range d.x {
			x, y := g.px(cb, d.x[i], d.y[i])
			samples = append(samples, [2]int{x, y})
			if i+1 < len(d.x) {
				x2, y2 := g.px(cb, d.x[i+1], d.y[i+1])
				for k := 1; k < 16; k++ {
					samples = append(samples, [2]int{x + (x2-x)*k/16, y + (y2-y)*k/16})
				}
			}
		}
		if d.turning {
			x, y := g.px(cb, d.tx, d.ty)
			tb := r.MeasureText(d.tpLabel)
			for dx := 0; dx <= tb.Width()+20; dx += 8 {
				samples = append(samples, [2]int{x + dx, y - 10}, [2]int{x + dx, y + 10})
			}
		}
	}
	_, ty := g.px(cb, g.x.Min, 100*e.Target)
	for x := cb.Left; x <= cb.Right; x += 8 {
		samples = append(samples, [2]int{x, ty})
	}
	return samples
}

// legendCorner returns the corner of the plot area where a w×h legend hides the fewest samples
// (bottom right, top left, bottom left, top right, in that order of preference).
func legendCorner(cb chart.Box, w, h int, samples [][2]int) chart.Box {
	corners := []chart.Box{
		{Left: cb.Right - legendInset - w, Top: cb.Bottom - legendInset - h}, // bottom right
		{Left: cb.Left + legendInset, Top: cb.Top + legendInset},             // top left
		{Left: cb.Left + legendInset, Top: cb.Bottom - legendInset - h},      // bottom left
		{Left: cb.Right - legendInset - w, Top: cb.Top + legendInset},        // top right
	}
	best, bestScore := 0, math.MaxInt
	for i, b := range corners {
		score := 0
		for _, s := range samples {
			if s[0] >= b.Left-6 && s[0] <= b.Left+w+6 && s[1] >= b.Top-6 && s[1] <= b.Top+h+6 {
				score++
			}
		}
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	box := corners[best]
	box.Right, box.Bottom = box.Left+w, box.Top+h
	return box
}

// drawSample draws the entry's sample between x0 and x1 on the line at height mid.
func (en legendEntry) drawSample(r chart.Renderer, x0, x1, mid int) {
	if en.line {
		r.SetStrokeColor(en.color)
		r.SetStrokeWidth(2)
		if en.width > 0 {
			r.SetStrokeWidth(en.width)
		}
		r.SetStrokeDashArray(en.dash)
		r.MoveTo(x0, mid)
		r.LineTo(x1, mid)
		r.Stroke()
	}
	if en.dot > 0 {
		r.SetStrokeDashArray(nil)
		r.SetFillColor(en.color)
		if en.marker.IsZero() {
			r.SetStrokeColor(en.color)
			r.SetStrokeWidth(1)
		} else {
			r.SetStrokeColor(en.marker)
			r.SetStrokeWidth(1.5)
		}
		r.Circle(en.dot, (x0+x1)/2, mid)
		r.FillStroke()
	}
	if en.bar {
		cx := (x0 + x1) / 2
		r.SetStrokeColor(en.color)
		r.SetStrokeWidth(1.25)
		r.SetStrokeDashArray(nil)
		r.MoveTo(cx, mid-6)
		r.LineTo(cx, mid+6)
		r.MoveTo(cx-4, mid-6)
		r.LineTo(cx+4, mid-6)
		r.MoveTo(cx-4, mid+6)
		r.LineTo(cx+4, mid+6)
		r.Stroke()
	}
	if en.diamond {
		cx := (x0 + x1) / 2
		r.SetStrokeColor(targetColor)
		r.SetStrokeWidth(1.5)
		r.SetStrokeDashArray(targetDash)
		r.MoveTo(x0, mid)
		r.LineTo(x1, mid)
		r.Stroke()
		diamond(r, cx, mid, predDiamond, en.color)
	}
}

// yTitleWidth is the room left of the y tick labels for the axis title.
const yTitleWidth = 26

// yTitle draws the y axis title, reading upwards, centred on the plot area.
func yTitle(title string, size float64) chart.Renderable {
	return func(r chart.Renderer, cb chart.Box, defaults chart.Style) {
		r.SetFont(defaults.GetFont())
		r.SetFontSize(size)
		r.SetFontColor(textColor)
		tb := r.MeasureText(title)
		r.SetTextRotation(-math.Pi / 2)
		// Rotated a quarter turn back, the text runs upwards from (x, y)
		// with its glyphs left of x.
		x := chartPadLeft + yTitleWidth - 6
		r.Text(title, x, cb.Top+cb.Height()/2+tb.Width()/2)
		r.ClearTextRotation()
		r.ResetStyle()
	}
}

// chartPadLeft is the background padding left of the y axis title.
const chartPadLeft = 20

// svgRenderer is go-chart's SVG renderer with text escaped for XML, which
// go-chart writes verbatim (a model named "a<b" would break the file).
type svgRenderer struct{ chart.Renderer }

// Text draws body escaped for XML.
func (s svgRenderer) Text(body string, x, y int) {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(body))
	s.Renderer.Text(b.String(), x, y)
}

// svg is a chart.RendererProvider for svgRenderer.
func svg(width, height int) (chart.Renderer, error) {
	r, err := chart.SVG(width, height)
	if err != nil {
		return nil, err
	}
	return svgRenderer{r}, nil
}
