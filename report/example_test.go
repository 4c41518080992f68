package report_test

import (
	"fmt"

	"github.com/nnsweep/nnsweep/report"
)

func ExampleTurningPoint() {
	m := report.Model{Name: "cnn2", Polynomial: "63n² + 335n + 10", Points: []report.Point{
		{Label: "n=32", Params: 75242, Accuracy: 0.9921, Status: report.StatusOK},
		{Label: "n=8", Params: 6722, Accuracy: 0.9863, Status: report.StatusOK},
		{Label: "n=4", Params: 2358, Accuracy: 0.9650, Status: report.StatusOK}, // non-monotone
		{Label: "n=2", Params: 932, Accuracy: 0.9710, Status: report.StatusOK},
		{Label: "n=1", Params: 408, Accuracy: 0.9312, Status: report.StatusOK},
	}}
	tp := report.TurningPoint(m, 0.97)
	fmt.Printf("%s: %d params, %.0f× smaller than %s\n", tp.Label, tp.Params, tp.TimesSmaller(), tp.Largest.Label)
	fmt.Println("larger but below target:", tp.NonMonotone)
	// Output:
	// n=2: 932 params, 81× smaller than n=32
	// larger but below target: [n=4]
}

func ExampleParetoFront() {
	models := []report.Model{
		{Name: "mlp", Points: []report.Point{
			{Label: "n=64", Params: 17418, Accuracy: 0.9731, Status: report.StatusOK},
			{Label: "n=16", Params: 3594, Accuracy: 0.9548, Status: report.StatusOK},
		}},
		{Name: "cnn", Points: []report.Point{
			{Label: "n=2", Params: 932, Accuracy: 0.9710, Status: report.StatusOK},
			{Label: "n=8", Params: 6722, Accuracy: 0.9863, Status: report.StatusOK},
		}},
	}
	for _, r := range report.ParetoFront(models) {
		fmt.Println(r.Model, r.Point.Label)
	}
	// Output:
	// cnn n=2
	// cnn n=8
}

func ExampleAggregate() {
	runs := []report.Run{
		{Seed: 1, Accuracy: 0.9712, Status: report.StatusOK},
		{Seed: 2, Accuracy: 0.9701, Status: report.StatusOK},
		{Seed: 3, Accuracy: 0.9723, Status: report.StatusOK},
	}
	for _, rule := range report.Rules {
		s := report.Aggregate(runs, rule)
		fmt.Printf("%-7s %.4f (mean %.4f, sd %.4f, min %.4f, %d seeds)\n", rule, s.Figure, s.Mean, s.SD, s.Min, s.OK)
	}
	runs[1].Status = report.StatusDiverged
	fmt.Println("a diverged seed under min:", report.Aggregate(runs, report.RuleMin).Status)
	// Output:
	// mean    0.9712 (mean 0.9712, sd 0.0011, min 0.9701, 3 seeds)
	// min     0.9701 (mean 0.9712, sd 0.0011, min 0.9701, 3 seeds)
	// mean-sd 0.9701 (mean 0.9712, sd 0.0011, min 0.9701, 3 seeds)
	// a diverged seed under min: diverged
}

func ExampleFitPowerLaw() {
	// Test accuracies of cnn2 (63n² + 335n + 10) for n = 1, 2, 4, 8, 16, 32.
	f, err := report.FitPowerLaw([]report.FitPoint{
		{Params: 408, Accuracy: 0.9312}, {Params: 932, Accuracy: 0.9710}, {Params: 2358, Accuracy: 0.9795},
		{Params: 6722, Accuracy: 0.9863}, {Params: 21498, Accuracy: 0.9902}, {Params: 75242, Accuracy: 0.9921},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, ok := f.ParamsAt(0.97)
	fmt.Printf("accuracy ≈ %s, RMSE %.2f points\n", f, 100*f.RMSE)
	fmt.Printf("97%% at about %.0f parameters (%v)\n", p, ok)
	// Output:
	// accuracy ≈ 0.99 − 75.2·P^(−1.2), RMSE 0.21 points
	// 97% at about 999 parameters (true)
}
