package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/internal/numfmt"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// TableFormats are the formats WriteTable accepts.
var TableFormats = []string{"text", "csv", "json", "markdown"}

// Row is one point of one model as WriteTable exports it in JSON.
type Row struct {
	// Model is the model's name.
	Model string `json:"model"`
	// Point is the point's label, e.g. "n=2".
	Point string `json:"point"`
	// Params is the number of trainable parameters.
	Params int64 `json:"params"`
	// Accuracy is the test accuracy as a fraction in [0,1]; nil unless the
	// status is "ok".
	Accuracy *float64 `json:"accuracy"`
	// Loss is the mean test loss per example; nil unless the status is "ok"
	// and the loss is finite.
	Loss *float64 `json:"loss"`
	// Epochs is the number of epochs actually trained.
	Epochs int `json:"epochs"`
	// TrainSeconds is the wall-clock training time in seconds.
	TrainSeconds float64 `json:"train_seconds"`
	// Status is "ok", "diverged" or "pending".
	Status Status `json:"status"`
	// Pareto reports whether the point is on the Pareto front of all models.
	Pareto bool `json:"pareto"`
	// TurningPoint reports whether the point is its model's turning point.
	TurningPoint bool `json:"turning_point"`

	// The fields below are absent from JSON (empty in CSV) for a point
	// trained once (without Runs), and for one without MaxEpochs.

	// Mean, SD and Min are the mean, sample standard deviation and lowest
	// test accuracy of the point's ok runs, as fractions (see Aggregate).
	// Mean and Min are nil when no run is ok, SD when fewer than two are.
	// For a point with Runs, Accuracy is the experiment's rule's figure.
	Mean *float64 `json:"mean,omitempty"`
	SD   *float64 `json:"sd,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	// Runs is the number of runs (seeds) of the point; 0 without Runs.
	Runs int `json:"runs,omitempty"`
	// RunsOK and RunsDiverged count the ok and the diverged runs; nil
	// without Runs.
	RunsOK       *int `json:"runs_ok,omitempty"`
	RunsDiverged *int `json:"runs_diverged,omitempty"`
	// MaxEpochs is the number of epochs the spec asks for; 0 when unknown.
	// Epochs below it on an ok point mean training stopped early.
	MaxEpochs int `json:"max_epochs,omitempty"`
}

// Rows returns one Row per point of e, model by model, each model's points
// in their given order. Points with Runs are resolved under e.Rule (see
// Point.Runs); Rows panics on an unknown rule, which WriteTable reports
// as an error instead.
func Rows(e Experiment) []Row {
	models := resolveModels(e.Models, e.Rule)
	pareto := paretoSet(models)
	rows := []Row{}
	for mi, m := range models {
		tp := turningPoint(m, e.Target)
		for pi, p := range m.Points {
			r := Row{
				Model: modelName(models, mi), Point: p.Label, Params: p.Params,
				Epochs: p.Epochs, TrainSeconds: p.TrainSeconds, Status: p.Status,
				Pareto: pareto[[2]int{mi, pi}], TurningPoint: tp.Found && tp.Index == pi,
				MaxEpochs: p.MaxEpochs,
			}
			if len(p.Runs) > 0 {
				s := Aggregate(p.Runs, e.Rule)
				r.Runs, r.RunsOK, r.RunsDiverged = s.Runs, &s.OK, &s.Diverged
				if s.OK > 0 {
					r.Mean, r.Min = &s.Mean, &s.Min
				}
				if s.OK >= 2 {
					r.SD = &s.SD
				}
			}
			if r.Status == "" {
				r.Status = StatusPending
			}
			if math.IsNaN(r.TrainSeconds) || math.IsInf(r.TrainSeconds, 0) {
				r.TrainSeconds = 0
			}
			if p.ok() {
				acc := p.Accuracy
				r.Accuracy = &acc
				if !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0) {
					l := p.Loss
					r.Loss = &l
				}
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// WriteTable writes every point of e as one table to w, in format "text"
// (aligned, for a terminal), "csv", "json" (an array of Row) or "markdown".
// Accuracy is a fraction in CSV and JSON and a percentage in text and
// Markdown; CSV and JSON leave accuracy and loss empty (null) for points
// without a result. For points with Runs, accuracy is the rule's figure;
// text and Markdown show "97.12% ± 0.08 (min 97.01%, 3 seeds)", JSON and
// CSV add mean, sd, min and run counts (see Row).
func WriteTable(w io.Writer, e Experiment, format string) error {
	if err := checkExperiment(e); err != nil {
		return err
	}
	switch format {
	case "text":
		return writeTextTable(w, e)
	case "csv":
		return writeCSVTable(w, e)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(Rows(e))
	case "markdown":
		return writeMarkdownTable(w, e)
	}
	return fmt.Errorf("report: unknown table format %q; use one of %s", format, strings.Join(TableFormats, ", "))
}

// humanTable is the table shown to people (text and Markdown): a header
// and rows of formatted cells.
func humanTable(e Experiment) (header []string, rows [][]string) {
	models := resolveModels(e.Models, e.Rule)
	accuracy := "test accuracy"
	if hasRuns(models) {
		accuracy = "test accuracy (rule: " + ruleName(e.Rule) + ")"
	}
	header = []string{"model", "point", "params", accuracy, "test loss", "epochs", "train time", "× smaller", "Pareto", "turning point"}
	mark := func(b bool) string {
		if b {
			return "✓"
		}
		return ""
	}
	pareto := paretoSet(models)
	for mi, m := range models {
		tp := turningPoint(m, e.Target)
		for pi, p := range m.Points {
			lossText := "—"
			if p.ok() {
				lossText = loss(p.Loss)
			}
			rows = append(rows, []string{
				modelName(models, mi), p.Label, numfmt.GroupDigits(p.Params), accuracyText(m, p), lossText, epochsText(p),
				duration(p.TrainSeconds), numfmt.TimesSmaller(tp.Largest.Params, p.Params),
				mark(pareto[[2]int{mi, pi}]), mark(tp.Found && tp.Index == pi),
			})
		}
	}
	return header, rows
}

// tableAligns are humanTable's column alignments: text left, numbers right,
// marks centred.
var tableAligns = []tw.Align{
	tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight,
	tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignCenter, tw.AlignCenter,
}

func writeTextTable(w io.Writer, e Experiment) error {
	header, rows := humanTable(e)
	for _, r := range rows {
		for i := range r {
			r[i] = oneLine(r[i]) // no control characters to the terminal
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: tableAligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: tableAligns}),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func writeMarkdownTable(w io.Writer, e Experiment) error {
	header, rows := humanTable(e)
	var b strings.Builder
	b.WriteString("|")
	for _, h := range header {
		fmt.Fprintf(&b, " %s |", cell(h))
	}
	b.WriteString("\n|")
	for _, a := range tableAligns {
		switch a {
		case tw.AlignRight:
			b.WriteString("--:|")
		case tw.AlignCenter:
			b.WriteString(":-:|")
		default:
			b.WriteString(":--|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for _, c := range r {
			fmt.Fprintf(&b, " %s |", cell(escapeHTML(c)))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCSVTable writes the rows of e as CSV. The columns for repeated
// seeds and early stopping (mean … max_epochs) are added only when some
// point has Runs or MaxEpochs, so older experiments keep their columns.
func writeCSVTable(w io.Writer, e Experiment) error {
	cw := csv.NewWriter(w)
	header := []string{"model", "point", "params", "accuracy", "loss", "epochs", "train_seconds", "status", "pareto", "turning_point"}
	extended := hasRuns(e.Models) || hasMaxEpochs(e.Models)
	if extended {
		header = append(header, "mean", "sd", "min", "runs", "runs_ok", "runs_diverged", "max_epochs")
	}
	cw.Write(header)
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
	count := func(n *int) string {
		if n == nil {
			return ""
		}
		return strconv.Itoa(*n)
	}
	positive := func(n int) string {
		if n <= 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	for _, r := range Rows(e) {
		rec := []string{
			r.Model, r.Point, strconv.FormatInt(r.Params, 10), num(r.Accuracy), num(r.Loss),
			strconv.Itoa(r.Epochs), strconv.FormatFloat(r.TrainSeconds, 'f', -1, 64), string(r.Status),
			strconv.FormatBool(r.Pareto), strconv.FormatBool(r.TurningPoint),
		}
		if extended {
			rec = append(rec, num(r.Mean), num(r.SD), num(r.Min), positive(r.Runs), count(r.RunsOK),
				count(r.RunsDiverged), positive(r.MaxEpochs))
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	return nil
}

// hasMaxEpochs reports whether some point of models says how many epochs
// the spec asks for.
func hasMaxEpochs(models []Model) bool {
	for _, m := range models {
		for _, p := range m.Points {
			if p.MaxEpochs > 0 {
				return true
			}
		}
	}
	return false
}
