package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestWriteSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    SearchInfo
		want string
	}{
		{
			name: "bisect with estimate and notes",
			s: SearchInfo{Method: "bisect", Trained: 6, GridPoints: 32, TrainSeconds: 250, GridSecondsEstimate: 3725,
				Notes: []string{"accuracy fell from n=12 (97.3%) to n=13 (96.9%): trained n=11 and n=14 to confirm the bracket"}},
			want: "**Search:** bisect trained 6 of 32 points (19%) in 4m10s; the full grid would take about 1h02m (est.), 93% saved.\n\n" +
				"- accuracy fell from n=12 (97.3%) to n=13 (96.9%): trained n=11 and n=14 to confirm the bracket\n\n",
		},
		{
			name: "grid",
			s:    SearchInfo{Method: "grid", Trained: 32, GridPoints: 32, TrainSeconds: 3725, GridSecondsEstimate: 3725},
			want: "**Search:** grid trained 32 of 32 points (100%) in 1h02m.\n\n",
		},
		{
			name: "no time saved",
			s:    SearchInfo{Method: "bisect", Trained: 30, GridPoints: 32, TrainSeconds: 4000, GridSecondsEstimate: 3725},
			want: "**Search:** bisect trained 30 of 32 points (94%) in 1h07m; the full grid would take about 1h02m (est.), no time saved.\n\n",
		},
		{
			name: "guided, with repeats, grid measured",
			s: SearchInfo{Method: "bisect", Trained: 4, GridPoints: 6, Trainings: 12, GridTrainings: 18, Guided: 2,
				TrainSeconds: 190, GridSeconds: 600, GridSecondsEstimate: 1e6},
			want: "**Search:** bisect needed 4 of 6 points (67%; 12 of 18 trainings) in 3m10s, 2 of them proposed by the power-law fit; " +
				"the full grid took 10m00s (measured: its results are in this folder), 68% saved.\n\n",
		},
		{
			name: "one seed per point: no trainings said",
			s:    SearchInfo{Method: "bisect", Trained: 3, GridPoints: 6, Trainings: 3, GridTrainings: 6, TrainSeconds: 30, GridSecondsEstimate: 120},
			want: "**Search:** bisect trained 3 of 6 points (50%) in 30.0 s; the full grid would take about 2m00s (est.), 75% saved.\n\n",
		},
		{
			name: "nothing known",
			s:    SearchInfo{Trained: 1},
			want: "**Search:** the search trained 1 point.\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			writeSearch(&b, tt.s)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestPredictionSentence(t *testing.T) {
	t.Parallel()
	// Points on 0.99 − 2·P^(−0.5): the target 0.97 is reached at 10,000.
	law := func(p int64) float64 { return 0.99 - 2/math.Sqrt(float64(p)) }
	m := Model{Points: []Point{ok("n=1", 2500, law(2500)), ok("n=2", 6400, law(6400)), ok("n=3", 12100, law(12100)), ok("n=4", 40000, law(40000))}}
	tests := []struct {
		name   string
		m      Model
		target float64
		want   string
	}{
		{"measured above", m, 0.97, "fit accuracy ≈ 0.99 − 2·P^(−0.5) to 4 points (RMSE 0.00 points, R² 1.000); predicted turning point ≈ 10,000 parameters; measured: 12,100 (n=3), 21% above the prediction."},
		{"beyond the data", m, 0.985, "predicted turning point ≈ 160,000 parameters, beyond the largest point with a result (40,000): an extrapolation; measured: none yet."},
		{"below the data", m, 0.9, "predicted turning point ≈ 494 parameters, below the smallest point with a result (2,500); measured: 2,500 (n=1), 5.06× the prediction."},
		{"out of reach", m, 0.995, "the fit levels off at 99.00%, below the target: no size is predicted to reach 99.5%."},
		{"too few sizes", Model{Points: m.Points[:2]}, 0.97, "no power-law fit: it needs results at 3 sizes or more (has 2)."},
		{"flat", Model{Points: []Point{ok("a", 1, 0.9), ok("b", 2, 0.9), ok("c", 3, 0.9)}}, 0.97, "no power-law fit: accuracy does not rise with size."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := predictionSentence(tt.m, turningPoint(tt.m, tt.target), tt.target)
			if !strings.Contains(got, tt.want) {
				t.Errorf("got  %s\nwant …%s", got, tt.want)
			}
		})
	}
}

// TestSkippedRows: three or more consecutive skipped points share one row
// in Markdown; fewer keep their own rows; other table formats list every
// point.
func TestSkippedRows(t *testing.T) {
	t.Parallel()
	skip := func(label string, params int64) Point {
		return Point{Label: label, Params: params, Status: StatusSkipped}
	}
	e := Experiment{Target: 0.9, Models: []Model{{Name: "m", Search: &SearchInfo{Method: "bisect", Trained: 2, GridPoints: 7},
		Points: []Point{
			ok("n=1", 10, 0.8), skip("n=2", 20), skip("n=3", 30), ok("n=4", 40, 0.95),
			skip("n=5", 50), skip("n=6", 60), skip("n=7", 70),
		}}}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, e, ""); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| n=2 | 20 | skipped by bisect | — | — | — | 3.5× |  |\n| n=3 | 30 | skipped by bisect |",
		"| n=5 … n=7 | 50 … 70 | skipped by bisect (3 points) | — | — | — | — |  |\n\n",
		"5 points skipped by bisect: not needed to find the turning point, and not failures.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	if strings.Contains(md, "without a test result") {
		t.Error("skipped points are counted as points without a test result")
	}
	b.Reset()
	if err := WriteTable(&b, e, "markdown"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "skipped by bisect"); got != 5 {
		t.Errorf("markdown table shows %d skipped rows, want 5", got)
	}
}

func TestSeedList(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		seeds []int64
		want  string
	}{
		{[]int64{3, 1, 2}, "1–3"},
		{[]int64{1, 2}, "1, 2"},
		{[]int64{7}, "7"},
		{[]int64{1, 4, 5, 6, 9, 10}, "1, 4–6, 9, 10"},
		{nil, ""},
	} {
		if got := seedList(tt.seeds); got != tt.want {
			t.Errorf("seedList(%v) = %q, want %q", tt.seeds, got, tt.want)
		}
	}
}

// A model's training recipe is a line under its parameters, and nothing when it has none.
func TestRecipeLine(t *testing.T) {
	t.Parallel()
	e := demoExperiment()
	var plain strings.Builder
	if err := WriteMarkdown(&plain, e, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "Training recipe") {
		t.Error("a model without a recipe has a recipe line")
	}
	e.Models[0].Recipe = "schedule cosine (alpha 0.1); label_smoothing 0.1"
	var with strings.Builder
	if err := WriteMarkdown(&with, e, ""); err != nil {
		t.Fatal(err)
	}
	line := "Parameters: `" + e.Models[0].Polynomial + "`\n\nTraining recipe: schedule cosine (alpha 0.1); label_smoothing 0.1\n\n"
	if !strings.Contains(with.String(), line) || strings.Count(with.String(), "Training recipe") != 1 {
		t.Errorf("no recipe line %q under the parameters of %s", line, e.Models[0].Name)
	}
}
