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
