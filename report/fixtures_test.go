package report

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// fixedDate is the report date used by every test, so goldens are stable.
var fixedDate = time.Date(2025, 11, 27, 14, 30, 0, 0, time.UTC)

// mlpPool is "n² + 208n + 10" swept over n = 512 … 16.
func mlpPool() Model {
	layers := func(n int64) []Layer {
		return []Layer{{"dense_1", 197 * n}, {"dense_2", n*n + n}, {"dense_3", 10*n + 10}}
	}
	pt := func(n int64, label string, acc, loss float64, secs float64) Point {
		return Point{Label: label, Params: n*n + 208*n + 10, Accuracy: acc, Loss: loss, Epochs: 12,
			TrainSeconds: secs, Status: StatusOK, Layers: layers(n)}
	}
	return Model{Name: "mlp-pool", Polynomial: "n² + 208n + 10", Points: []Point{
		pt(512, "n=512", 0.9812, 0.0634, 1265.2),
		pt(256, "n=256", 0.9790, 0.0702, 512.9),
		pt(128, "n=128", 0.9768, 0.0781, 201.4),
		pt(64, "n=64", 0.9731, 0.0902, 96.3),
		pt(32, "n=32", 0.9655, 0.1177, 58.1),
		pt(16, "n=16", 0.9548, 0.1530, 41.7),
	}}
}

// cnn2 is "63n² + 335n + 10" swept over n = 32 … 1.
func cnn2() Model {
	layers := func(n int64) []Layer {
		return []Layer{{"conv_1", 10 * n}, {"conv_2", 63*n*n + 7*n}, {"dense_1", 318*n + 10}}
	}
	pt := func(n int64, label string, acc, loss float64, secs float64) Point {
		return Point{Label: label, Params: 63*n*n + 335*n + 10, Accuracy: acc, Loss: loss, Epochs: 12,
			TrainSeconds: secs, Status: StatusOK, Layers: layers(n)}
	}
	return Model{Name: "cnn2", Polynomial: "63n² + 335n + 10", Points: []Point{
		pt(32, "n=32", 0.9921, 0.0251, 4012.5),
		pt(16, "n=16", 0.9902, 0.0311, 1390.0),
		pt(8, "n=8", 0.9863, 0.0436, 512.4),
		pt(4, "n=4", 0.9795, 0.0668, 230.8),
		pt(2, "n=2", 0.9710, 0.0941, 121.6),
		pt(1, "n=1", 0.9312, 0.2287, 80.3),
	}}
}

// demoExperiment is a realistic two-model sweep at a 97% target.
func demoExperiment() Experiment {
	return Experiment{
		Title:       "MNIST: how small can it be?",
		Description: "Smallest MLP and CNN reaching 97% test accuracy on MNIST.",
		Target:      0.97,
		Env: Environment{
			Version: "v0.1.0", GoVersion: "go1.26.8", CPU: "AMD EPYC 7B13", Cores: 2, Date: fixedDate,
			SpecFile: "examples/mnist.yaml",
			SpecHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			SpecText: "target: 0.97\nmodels:\n  - name: mlp-pool\n  - name: cnn2\n",
		},
		Models: []Model{mlpPool(), cnn2()},
	}
}

// edgeExperiment exercises the awkward cases: diverged and pending points,
// non-monotone accuracy, an empty model, a model with every point pending,
// a model that never reaches the target, and text needing escapes.
func edgeExperiment() Experiment {
	return Experiment{
		Title:  "Edge cases",
		Target: 0.975,
		Note:   "trained with --epochs 2 (spec says 12)",
		Env: Environment{Version: "v0.1.0-dev", Date: fixedDate, SpecFile: "edge.yaml",
			SpecText: "# a ``` fence inside the spec\nmodels: []"},
		Models: []Model{
			{Name: "wobbly", Polynomial: "10n + 5", Points: []Point{
				{Label: "n=1", Params: 15, Accuracy: 0.90, Loss: 0.4, Epochs: 2, TrainSeconds: 0.4, Status: StatusOK},
				{Label: "n=2", Params: 25, Accuracy: 0.98, Loss: 0.1, Epochs: 2, TrainSeconds: 0.8, Status: StatusOK,
					Layers: []Layer{{"dense|a", 20}, {"bias", 5}}},
				{Label: "n=4", Params: 45, Accuracy: 0.97, Loss: 0.12, Epochs: 2, TrainSeconds: 1.5, Status: StatusOK},
				{Label: "n=8", Params: 85, Accuracy: 0, Loss: 0, Epochs: 1, TrainSeconds: 0.9, Status: StatusDiverged},
				{Label: "n=16", Params: 165, Accuracy: 0.96, Loss: 0.13, Epochs: 2, TrainSeconds: 3725, Status: StatusOK},
				{Label: "n=32", Params: 325, Status: StatusPending},
			}},
			{Name: "empty", Polynomial: "n"},
			{Name: "waiting", Polynomial: "2n", Points: []Point{
				{Label: "n=1", Params: 2, Status: StatusPending},
				{Label: "n=2", Params: 4, Status: StatusPending},
			}},
			{Name: "weak", Polynomial: "n + 1", Points: []Point{
				{Label: "n=10", Params: 11, Accuracy: 0.95, Loss: 0.2, Epochs: 2, TrainSeconds: 0.2, Status: StatusOK,
					Layers: []Layer{{"dense_1", 10}, {"dense_2", 1}}},
				{Label: "n=20", Params: 21, Accuracy: 0.95, Loss: 0.2, Epochs: 2, TrainSeconds: 0.3, Status: StatusOK},
			}},
		},
	}
}

// TestWriteDemo writes the demo report into $NNSWEEP_REPORT_DEMO, for
// looking at the chart: NNSWEEP_REPORT_DEMO=/tmp/reportdemo go test ./report -run Demo
func TestWriteDemo(t *testing.T) {
	dir := os.Getenv("NNSWEEP_REPORT_DEMO")
	if dir == "" {
		t.Skip("set NNSWEEP_REPORT_DEMO to a directory to write the demo report")
	}
	if err := Write(dir, demoExperiment()); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir+"/edge", edgeExperiment()); err != nil {
		t.Fatal(err)
	}
	predicted := demoExperiment()
	predicted.Predict = true
	for name, e := range map[string]Experiment{
		"sweep": sweepExperiment(), "meansd": meanSDExperiment(), "earlystop": earlyStopExperiment(), "predict": predicted,
	} {
		if err := Write(dir+"/"+name, e); err != nil {
			t.Fatal(err)
		}
	}
}

// seeds returns one run per accuracy, with seeds 1, 2, …; an accuracy of
// -1 makes a diverged run and -2 a pending one. Losses, epochs and times
// are derived from the accuracy so the fixtures stay short.
func seeds(maxEpochs int, secs float64, accs ...float64) []Run {
	runs := make([]Run, len(accs))
	for i, a := range accs {
		r := Run{Seed: int64(i + 1), Accuracy: a, Loss: 2.5 * (1 - a), Status: StatusOK,
			Epochs: maxEpochs - (i*5+int(a*1000))%4, TrainSeconds: secs * (1 + 0.05*float64(i))}
		switch a {
		case -1:
			r = Run{Seed: int64(i + 1), Epochs: 2, TrainSeconds: secs / 6, Status: StatusDiverged}
		case -2:
			r = Run{Seed: int64(i + 1), Status: StatusPending}
		}
		runs[i] = r
	}
	return runs
}

// totalSeconds is the training time of every run of points.
func totalSeconds(points []Point) float64 {
	t := 0.0
	for _, p := range points {
		for _, r := range p.Runs {
			t += r.TrainSeconds
		}
	}
	return t
}

// sweepExperiment uses every addition of issue 6: three seeds per point
// judged by the min rule, a bisect search over n = 1 … 32 that skipped
// most points, early stopping, a diverged seed, a pending seed, and the
// power-law prediction.
func sweepExperiment() Experiment {
	cnnPoints := make([]Point, 32)
	for n := int64(1); n <= 32; n++ {
		cnnPoints[n-1] = Point{Label: fmt.Sprintf("n=%d", n), Params: 63*n*n + 335*n + 10, MaxEpochs: 12, Status: StatusSkipped}
	}
	trained := map[int][]Run{
		1: seeds(12, 80, 0.9301, 0.9322, 0.9313),
		2: seeds(12, 122, 0.9712, -1, 0.9698),
		4: seeds(12, 231, 0.9801, 0.9779, 0.9794),
		5: seeds(12, 290, 0.9822, 0.9808, 0.9815),
		6: seeds(12, 355, 0.9835, 0.9796, 0.9829),
		7: seeds(12, 430, 0.9851, 0.9843, 0.9856),
	}
	for n, runs := range trained {
		cnnPoints[n-1].Runs = runs
		cnnPoints[n-1].Status = StatusPending // ignored: Runs decide
		cnnPoints[n-1].Layers = []Layer{{"conv_1", 10 * int64(n)}, {"conv_2", 63*int64(n*n) + 7*int64(n)}, {"dense_1", 318*int64(n) + 10}}
	}
	cnn := Model{Name: "cnn2", Polynomial: "63n² + 335n + 10", Points: cnnPoints}
	cnn.Search = &SearchInfo{Method: "bisect", Trained: 6, GridPoints: 32,
		TrainSeconds: totalSeconds(cnnPoints), GridSecondsEstimate: 3 * 3600,
		Notes: []string{"accuracy fell from n=5 (98.08%) to n=6 (97.96%): trained n=7 to confirm the bracket"}}

	mlp := Model{Name: "mlp-pool", Polynomial: "n² + 208n + 10"}
	for _, x := range []struct {
		n    int64
		runs []Run
	}{
		{16, seeds(12, 42, 0.9541, 0.9552, 0.9550)},
		{32, seeds(12, 58, 0.9650, 0.9661, 0.9649)},
		{64, seeds(12, 96, 0.9728, 0.9736, 0.9725)},
		{128, seeds(12, 201, 0.9770, 0.9761, 0.9772)},
		{256, seeds(12, 513, 0.9795, 0.9788, 0.9791)},
		{512, seeds(12, 1265, 0.9815, 0.9808, -2)},
	} {
		mlp.Points = append(mlp.Points, Point{Label: fmt.Sprintf("n=%d", x.n), Params: x.n*x.n + 208*x.n + 10,
			MaxEpochs: 12, Runs: x.runs})
	}
	mlp.Search = &SearchInfo{Method: "grid", Trained: 6, GridPoints: 6, TrainSeconds: totalSeconds(mlp.Points)}

	return Experiment{
		Title:       "MNIST: smallest model, 3 seeds, bisection",
		Description: "Same sweep as the demo, searched by bisection with three seeds per point.",
		Target:      0.98,
		Rule:        RuleMin,
		Predict:     true,
		Env:         Environment{Version: "v0.2.0", GoVersion: "go1.26.8", Date: fixedDate, SpecFile: "examples/bisect.yaml"},
		Models:      []Model{cnn, mlp},
	}
}

// meanSDExperiment judges by mean − sd and has the awkward repeat cases: a
// single seed, all seeds diverged, a point trained once without Runs, and
// too few sizes for a fit.
func meanSDExperiment() Experiment {
	return Experiment{
		Title:   "Mean minus sd",
		Target:  0.9,
		Rule:    RuleMeanSD,
		Predict: true,
		Env:     Environment{Version: "v0.2.0", Date: fixedDate},
		Models: []Model{{Name: "tiny", Polynomial: "10n + 5", Points: []Point{
			{Label: "n=1", Params: 15, Runs: seeds(5, 1, 0.85, 0.87)},
			{Label: "n=2", Params: 25, Runs: seeds(5, 2, 0.93)},
			{Label: "n=4", Params: 45, Runs: seeds(5, 3, -1, -1)},
			{Label: "n=8", Params: 85, Accuracy: 0.95, Loss: 0.1, Epochs: 5, TrainSeconds: 4, Status: StatusOK},
			{Label: "n=16", Params: 165, Status: StatusPending},
		}}},
	}
}

// earlyStopExperiment has no repeats: one seed per point, early stopping,
// a grid search line, and a fit above the target everywhere.
func earlyStopExperiment() Experiment {
	pt := func(label string, params int64, acc float64, epochs int, status Status) Point {
		return Point{Label: label, Params: params, Accuracy: acc, Loss: 2 * (1 - acc), Epochs: epochs, MaxEpochs: 20,
			TrainSeconds: float64(params) / 50, Status: status}
	}
	return Experiment{
		Title:   "Early stopping",
		Target:  0.95,
		Predict: true,
		Env:     Environment{Version: "v0.2.0", Date: fixedDate},
		Models: []Model{
			{Name: "wide", Polynomial: "100n + 10", Search: &SearchInfo{Method: "grid", Trained: 4, GridPoints: 5, TrainSeconds: 90},
				Points: []Point{
					pt("n=10", 1010, 0.9612, 9, StatusOK),
					pt("n=20", 2010, 0.9724, 20, StatusOK),
					pt("n=40", 4010, 0.9788, 14, StatusOK),
					pt("n=80", 8010, 0.9821, 11, StatusOK),
					pt("n=160", 16010, 0, 3, StatusDiverged),
				}},
			{Name: "flat", Polynomial: "n", Points: []Point{
				pt("n=100", 100, 0.9, 20, StatusOK), pt("n=200", 200, 0.9, 20, StatusOK), pt("n=400", 400, 0.9, 20, StatusOK),
			}},
		},
	}
}
