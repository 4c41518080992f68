package report

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	chart "github.com/wcharczuk/go-chart/v2"
)

func TestNewLogAxis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lo, hi float64
		want   []string
	}{
		{"four decades", 900, 1.2e6, []string{"1k", "10k", "100k", "1M"}},
		{"demo sweep", 408, 368650, []string{"1k", "10k", "100k"}},
		{"small span gets 2 and 5", 15, 325, []string{"20", "50", "100", "200"}},
		{"one point", 932, 932, []string{"500", "1k", "2k"}},
		{"millions", 2e6, 3e8, []string{"2M", "5M", "10M", "20M", "50M", "100M", "200M"}},
		{"three decades", 2e6, 3e9, []string{"10M", "100M", "1B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ax := newLogAxis(tt.lo, tt.hi)
			var got []string
			for _, tk := range ax.Ticks {
				got = append(got, tk.Label)
				if tk.Value < ax.Min || tk.Value > ax.Max {
					t.Errorf("tick %s at %v outside the axis [%v, %v]", tk.Label, tk.Value, ax.Min, ax.Max)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ticks = %v, want %v", got, tt.want)
			}
			if ax.Min >= math.Log10(tt.lo) || ax.Max <= math.Log10(tt.hi) {
				t.Errorf("axis [%v, %v] does not strictly contain log10 of %v..%v", ax.Min, ax.Max, tt.lo, tt.hi)
			}
			if ax.Max-ax.Min < 1-1e-9 {
				t.Errorf("axis spans %v decades, want at least 1", ax.Max-ax.Min)
			}
			if !sort.Float64sAreSorted(ax.Minor) {
				t.Errorf("minor grid lines not sorted: %v", ax.Minor)
			}
		})
	}
}

// TestXPixelIsLogarithmic checks the mapping against log10 computed
// independently: pixels grow with params, and equal ratios of parameter
// counts are equal distances.
func TestXPixelIsLogarithmic(t *testing.T) {
	t.Parallel()
	ax := newLogAxis(100, 1e6)
	const width = 800
	prev := -1
	for _, p := range []float64{100, 150, 408, 932, 1000, 2358, 10000, 75242, 368650, 1e6} {
		x := ax.xPixel(p, width)
		if x <= prev {
			t.Errorf("xPixel(%v) = %d, not right of the previous point (%d)", p, x, prev)
		}
		prev = x
		want := (math.Log10(p) - ax.Min) / (ax.Max - ax.Min) * width
		if math.Abs(float64(x)-want) > 1 {
			t.Errorf("xPixel(%v) = %d, want %.1f", p, x, want)
		}
	}
	d1 := ax.xPixel(1000, width) - ax.xPixel(100, width)
	d2 := ax.xPixel(1e6, width) - ax.xPixel(1e5, width)
	if diff := d1 - d2; diff < -1 || diff > 1 {
		t.Errorf("a decade is %d px at 100..1k but %d px at 100k..1M", d1, d2)
	}
}

func TestAccuracyAxis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		low               float64
		wantMin, wantStep float64
	}{
		{93.12, 92, 2},
		{97, 96, 1},
		{99.2, 98.5, 0.5},
		{88, 86, 2},
		{50, 40, 10},
		{0, 0, 20},
		{100, 99.5, 0.5},
	}
	for _, tt := range tests {
		min, max, step := accuracyAxis(tt.low)
		if min != tt.wantMin || max != 100 || step != tt.wantStep {
			t.Errorf("accuracyAxis(%v) = %v, %v, %v; want %v, 100, %v", tt.low, min, max, step, tt.wantMin, tt.wantStep)
		}
		if min >= tt.low && tt.low > 0 {
			t.Errorf("accuracyAxis(%v) starts at %v, not below the lowest point", tt.low, min)
		}
	}
}

func TestWriteChart(t *testing.T) {
	t.Parallel()
	one := Experiment{Title: "one point", Target: 0.97, Models: []Model{{Name: "m", Points: []Point{ok("n=1", 932, 0.971)}}}}
	odd := demoExperiment()
	odd.Title = `a <b> & "c"`
	odd.Models[0].Name = "mlp<pool>&co"
	tests := []struct {
		name string
		e    Experiment
	}{
		{"demo", demoExperiment()},
		{"edge", edgeExperiment()},
		{"one point", one},
		{"all pending", Experiment{Target: 0.97, Models: []Model{{Name: "p", Points: []Point{{Label: "n=1", Params: 50, Status: StatusPending}}}}}},
		{"empty model", Experiment{Target: 0.97, Models: []Model{{Name: "empty"}}}},
		{"no models", Experiment{Target: 0.97}},
		{"same params twice", Experiment{Target: 0.5, Models: []Model{{Name: "a", Points: []Point{ok("x", 10, 0.6)}}, {Name: "b", Points: []Point{ok("y", 10, 0.6)}}}}},
		{"text needing XML escapes", odd},
		{"repeats, bisect and prediction", sweepExperiment()},
		{"mean-sd and a fit with too few sizes", meanSDExperiment()},
		{"early stopping and a flat model", earlyStopExperiment()},
		{"prediction far beyond the data", farPrediction()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := WriteChart(dir, "chart", tt.e); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, "chart.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("chart.png: %v", err)
			}
			if b := img.Bounds(); b.Dx() != chartWidth || b.Dy() != chartHeight {
				t.Errorf("chart.png is %dx%d, want %dx%d", b.Dx(), b.Dy(), chartWidth, chartHeight)
			}
			svg, err := os.ReadFile(filepath.Join(dir, "chart.svg"))
			if err != nil {
				t.Fatal(err)
			}
			checkXML(t, svg)
			if tt.e.Title != "" && !bytes.Contains(svg, []byte(">"+xmlText(tt.e.Title)+"<")) {
				t.Errorf("chart.svg lacks the title %q", tt.e.Title)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Errorf("dir holds %d entries, want chart.png and chart.svg only", len(entries))
			}
		})
	}
}

// checkXML fails unless data is well-formed XML with an <svg> root.
func checkXML(t *testing.T, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart.svg is not well-formed XML: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok && root == "" {
			root = s.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("chart.svg root element is %q, want svg", root)
	}
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	if err := Write(dir, demoExperiment()); err != nil {
		t.Fatal(err)
	}
	// Writing again replaces the files in place.
	if err := Write(dir, demoExperiment()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"chart.png", "chart.svg", "report.md"}; !reflect.DeepEqual(names, want) {
		t.Errorf("dir holds %v, want %v (no temporary files left)", names, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("![accuracy vs parameters](chart.png)")) {
		t.Error("report.md does not embed chart.png")
	}
}

// farPrediction has a fit whose predicted turning point lies decades
// beyond the data, off the chart.
func farPrediction() Experiment {
	law := func(p int64) float64 { return 0.99 - 2/math.Sqrt(float64(p)) }
	pts := []Point{}
	for _, p := range []int64{100, 400, 1600} {
		pts = append(pts, ok("p="+itoa(int(p)), p, law(p)))
	}
	return Experiment{Target: 0.985, Predict: true, Models: []Model{{Name: "far", Points: pts}}}
}

// TestChartPrediction checks what the chart gathers for predictions and
// repeats: fits only with Predict, a fitted curve clipped to the axes even
// when its predicted turning point lies far beyond the data, and one error
// bar per point with a spread over two or more ok seeds.
func TestChartPrediction(t *testing.T) {
	t.Parallel()
	e := demoExperiment()
	e.Predict = true
	data := chartData(e)
	for _, d := range data {
		if !d.hasFit || !d.hasPred {
			t.Fatalf("%s: no fit or no prediction", d.name)
		}
	}
	far := chartData(farPrediction())[0]
	if !far.hasPred || far.predX < math.Log10(1e5) {
		t.Fatalf("far prediction at 10^%v, want beyond 100k", far.predX)
	}
	ax := newLogAxis(100, 1600)
	g := geometry{x: ax, ymin: 80, ymax: 100, target: 98.5}
	xs, ys := fitCurve(far, g)
	if len(xs) < 2 {
		t.Fatal("no fitted curve")
	}
	for i := range xs {
		if xs[i] < ax.Min || xs[i] > ax.Max || ys[i] < g.ymin || ys[i] > g.ymax {
			t.Fatalf("curve point (%v, %v) outside the axes", xs[i], ys[i])
		}
	}
	// Without Predict nothing is fitted.
	for _, d := range chartData(demoExperiment()) {
		if d.hasFit || d.hasPred {
			t.Errorf("%s is fitted without Predict", d.name)
		}
	}
	// Error bars: one per point with two or more ok seeds and a spread.
	bars := 0
	for _, d := range chartData(sweepExperiment()) {
		bars += len(d.bars)
		for _, b := range d.bars {
			if !(b.lo < b.hi) {
				t.Errorf("%s: bar %+v is empty", d.name, b)
			}
		}
	}
	// cnn2: 5 trained points under min (n=2 fails, a diverged seed), mlp-pool: 6.
	if bars != 11 {
		t.Errorf("sweep chart has %d error bars, want 11", bars)
	}
}

// A predicted turning point is drawn on the target line, at the parameter count the fit predicts,
// and labelled as a prediction; it is not a marker at the top edge that reads as a measured point.
func TestChartPredictionOnTargetLine(t *testing.T) {
	t.Parallel()
	e := demoExperiment()
	e.Predict = true
	g := geometry{x: newLogAxis(100, 1e6), ymin: 90, ymax: 100, target: 97}
	cb := chart.Box{Top: 10, Left: 50, Right: 950, Bottom: 560}
	_, lineY := g.px(cb, 3, 97)
	drawn := 0
	for _, d := range chartData(e) {
		x, y, ok := g.predictionAt(d, cb)
		if !ok {
			continue
		}
		drawn++
		if wantX, _ := g.px(cb, d.predX, 97); y != lineY || x != wantX {
			t.Errorf("%s: prediction drawn at (%d, %d), want (%d, %d) on the target line", d.name, x, y, wantX, lineY)
		}
	}
	if drawn == 0 {
		t.Fatal("no prediction on the chart")
	}
	dir := t.TempDir()
	if err := WriteChart(dir, "chart", e); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "chart.svg"))
	if n := strings.Count(string(svg), ">predicted</text>"); n != drawn {
		t.Errorf("%d predictions labelled, want %d", n, drawn)
	}
}

// Charts render at once without a data race (go test -race): reports of runs in one process
// refresh concurrently.
func TestChartsAtOnce(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			var buf bytes.Buffer
			errs[i] = renderChart(&buf, demoExperiment(), chart.SVG)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
