package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./report -update if the change is intended)\n%s",
			path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}

func itoa(i int) string { return numfmt.GroupDigits(int64(i)) }

func TestGolden(t *testing.T) {
	t.Parallel()
	experiments := []struct {
		name string
		e    Experiment
	}{
		{"demo", demoExperiment()},
		{"edge", edgeExperiment()},
		{"single", Experiment{Title: "One model", Target: 0.9, Models: []Model{{Name: "only", Points: []Point{
			{Label: "n=3", Params: 1234567, Accuracy: 0.91, Loss: 0.3, Epochs: 1, TrainSeconds: 12, Status: StatusOK}}}}}},
		{"nothing", Experiment{Target: 0.97}},
		{"sweep", sweepExperiment()},
		{"meansd", meanSDExperiment()},
		{"earlystop", earlyStopExperiment()},
	}
	for _, x := range experiments {
		t.Run(x.name+"/markdown", func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WriteMarkdown(&b, x.e, "chart"); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, x.name+".md.golden", b.Bytes())
		})
		for _, format := range TableFormats {
			t.Run(x.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				var b bytes.Buffer
				if err := WriteTable(&b, x.e, format); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, x.name+".table."+format+".golden", b.Bytes())
			})
		}
	}
}

// TestMarkdownDeterministic checks that only the date line depends on the
// date, and that rendering twice gives the same bytes.
func TestMarkdownDeterministic(t *testing.T) {
	t.Parallel()
	render := func(e Experiment) string {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, e, "chart"); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	e := demoExperiment()
	a, b := render(e), render(e)
	if a != b {
		t.Fatal("two renderings of the same experiment differ")
	}
	e.Env.Date = time.Date(2031, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	c := render(e)
	al, cl := strings.Split(a, "\n"), strings.Split(c, "\n")
	if len(al) != len(cl) {
		t.Fatalf("line count changed with the date: %d vs %d", len(al), len(cl))
	}
	for i := range al {
		if al[i] != cl[i] && !strings.HasPrefix(al[i], "- Date: ") {
			t.Errorf("line %d changed with the date:\n%s\n%s", i+1, al[i], cl[i])
		}
	}
	if !strings.Contains(c, "- Date: 2031-01-02 02:04:05 UTC\n") {
		t.Error("date is not printed in UTC")
	}
}

func TestMarkdownContent(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, demoExperiment(), "charts/acc vs params"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"n = 2: 932 parameters at 97.10% test accuracy, 1/81 of the largest point (75,242 parameters).",
		"cnn2 needs 1/18.7 of the parameters of mlp-pool for the same target.",
		"![accuracy vs parameters](charts/acc%20vs%20params.png)",
		"(charts/acc%20vs%20params.svg)",
		"<details><summary>spec</summary>",
		"In the turning point (n = 2), `dense_1` holds 69% of the weights",
		"| **n=2** | 932 | 97.10% | 0.0941 | 12 | 2m02s | 81× | ✓ |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	b.Reset()
	if err := WriteMarkdown(&b, demoExperiment(), ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "![") {
		t.Error("an empty chartBase still embeds a chart")
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	for _, target := range []float64{0, -0.5, 1.2, 97} {
		e := demoExperiment()
		e.Target = target
		if err := WriteMarkdown(&b, e, "chart"); err == nil {
			t.Errorf("WriteMarkdown accepts target %v", target)
		}
		if err := WriteTable(&b, e, "csv"); err == nil {
			t.Errorf("WriteTable accepts target %v", target)
		}
		if err := WriteChart(t.TempDir(), "chart", e); err == nil {
			t.Errorf("WriteChart accepts target %v", target)
		}
	}
	bad := sweepExperiment()
	bad.Rule = "median"
	const wantRule = `report: unknown rule "median"; use one of mean, min, mean-sd`
	for name, err := range map[string]error{
		"WriteMarkdown": WriteMarkdown(&b, bad, "chart"),
		"WriteTable":    WriteTable(&b, bad, "json"),
		"WriteChart":    WriteChart(t.TempDir(), "chart", bad),
		"Write":         Write(t.TempDir(), bad),
	} {
		if err == nil || err.Error() != wantRule {
			t.Errorf("%s with rule median: error = %v, want %s", name, err, wantRule)
		}
	}
	err := WriteTable(&b, demoExperiment(), "yaml")
	if want := `report: unknown table format "yaml"; use one of text, csv, json, markdown`; err == nil || err.Error() != want {
		t.Errorf("WriteTable(yaml) error = %v, want %s", err, want)
	}
}
