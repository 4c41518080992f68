package report

import (
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
}
