package report

import (
	"bytes"
	"strings"
	"testing"
)

// Text from the user's files reaches report.md and the terminal as text: control characters are
// removed and HTML is escaped, wherever the text appears.
func TestHostileText(t *testing.T) {
	t.Parallel()
	e := demoExperiment()
	e.Description = "Line one\nline \x1b[31mtwo\x1b[0m <script>alert(1)</script> *kept emphasis*"
	e.Note = "<img src=x onerror=alert(2)>"
	e.Models[0].Name = "mlp<b>\x1b]0;title\x07"
	e.Models[0].Points[0].Label = "n=<i>1</i>"
	e.Models[0].Points[0].Layers = []Layer{{Name: "<svg onload=alert(3)>", Params: 10}}
	e.Env.CPU = "\x1b[2JEPYC"
	var md bytes.Buffer
	if err := WriteMarkdown(&md, e, "chart"); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, bad := range []string{"<script", "<img", "<b>", "<i>", "<svg", "\x1b", "\x07"} {
		if strings.Contains(out, bad) {
			t.Errorf("report.md contains %q", bad)
		}
	}
	for _, want := range []string{"Line one\nline [31mtwo[0m &lt;script&gt;alert(1)&lt;/script&gt; *kept emphasis*", "&lt;img src=x onerror=alert(2)&gt;",
		"## mlp&lt;b&gt;]0;title", "CPU: [2JEPYC"} {
		if !strings.Contains(out, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, format := range []string{"text", "markdown"} {
		var table bytes.Buffer
		if err := WriteTable(&table, e, format); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(table.String(), "\x1b\x07") || format == "markdown" && strings.Contains(table.String(), "<b>") {
			t.Errorf("%s table:\n%q", format, table.String())
		}
	}
}

// A turning point with smaller points still pending is the turning point so far.
func TestTurningPointSoFar(t *testing.T) {
	t.Parallel()
	e := demoExperiment()
	var md bytes.Buffer
	WriteMarkdown(&md, e, "")
	if strings.Contains(md.String(), "so far") {
		t.Fatalf("every point is trained, yet the report says so far:\n%s", md.String())
	}
	m := &e.Models[1] // cnn2: its turning point n=2 is above n=1
	for i := range m.Points {
		if m.Points[i].Label == "n=1" {
			m.Points[i].Status = StatusPending
		}
	}
	md.Reset()
	WriteMarkdown(&md, e, "")
	if want := "**Turning point so far:** n = 2: 932 parameters at 97.10% test accuracy, 1/81 of the largest point (75,242 parameters). 1 smaller point is not trained yet: one of them may meet the target too."; !strings.Contains(md.String(), want) {
		t.Fatalf("report lacks %q:\n%s", want, md.String())
	}
}
