package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/numfmt"
	"github.com/nnsweep/nnsweep/spec"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// ParamsFormats are the output formats of Params.
var ParamsFormats = []string{"table", "markdown", "json"}

// ParamsOptions select what Params prints.
type ParamsOptions struct {
	// At, when set, evaluates every model at this point instead of its sweep and prints a per-layer
	// summary (like Keras's model.summary). Values outside the sweep are allowed.
	At map[string]int64
	// Format is "table" (default), "markdown" or "json".
	Format string
}

// ParamsJSON is the JSON form of Params, a contract other tools read.
type ParamsJSON struct {
	Models []ParamsModel `json:"models"`
}

// ParamsModel is one model's closed forms and its points.
type ParamsModel struct {
	Name   string        `json:"name"`
	Params string        `json:"params"` // polynomial, e.g. "63n² + 335n + 10"
	MACs   string        `json:"macs"`   // forward multiply-adds per example, as a polynomial
	Points []ParamsPoint `json:"points"`
}

// ParamsPoint is one point's counts, per layer and in total. Params is the total (Keras's
// "Total params"); for a model with non-trainable parameters or batch norm to fold, Trainable,
// NonTrainable and Folded (the count once batch norm is folded into the layer before it) are
// given too, and absent otherwise.
type ParamsPoint struct {
	Vars         map[string]int64  `json:"vars"`
	Params       int64             `json:"params"`
	Trainable    int64             `json:"trainable,omitempty"`
	NonTrainable *int64            `json:"non_trainable,omitempty"`
	Folded       int64             `json:"folded,omitempty"`
	MACs         int64             `json:"macs"`
	Layers       []builder.LayerAt `json:"layers"`
}

// ParseAt parses "n=2" or "n=2,m=4" into variable values.
func ParseAt(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		v, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if !ok || err != nil || name == "" {
			return nil, &UsageError{fmt.Sprintf("--at %q: write variable=value pairs separated by commas, e.g. --at n=2 or --at n=2,m=4", s)}
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, nil
}

// Params prints the closed-form parameter counts of a spec's models without training: per model
// the polynomial and a table of its points, or with At a per-layer summary at one point.
func Params(path string, opts ParamsOptions, w io.Writer) error {
	if opts.Format == "" {
		opts.Format = "table"
	}
	if !slices.Contains(ParamsFormats, opts.Format) {
		return &UsageError{fmt.Sprintf("--format %q: use one of %s", opts.Format, strings.Join(ParamsFormats, ", "))}
	}
	e, err := Load(path)
	if err != nil {
		return err
	}
	for name := range opts.At {
		used := false
		for _, m := range e.Models {
			used = used || slices.Contains(m.Vars, name)
		}
		if !used {
			return &UsageError{fmt.Sprintf("--at %s: no model of %s uses a sweep variable %s", name, path, name)}
		}
	}
	out := ParamsJSON{Models: []ParamsModel{}}
	for _, m := range e.Models {
		pm := ParamsModel{Name: m.Name, Params: m.Count.Params.String(), MACs: m.Count.MACs.String(), Points: []ParamsPoint{}}
		points := m.Points
		if opts.At != nil {
			p, err := pointAt(m, opts.At)
			if err != nil {
				return err
			}
			points = []spec.Point{p}
		}
		for _, p := range points {
			pc, err := m.Count.At(p)
			if err != nil {
				return err
			}
			pp := ParamsPoint{Vars: p.Map(), Params: pc.Params, MACs: pc.MACs, Layers: pc.Layers}
			if m.Count.HasNonTrainable() {
				non := pc.NonTrainable
				pp.Trainable, pp.NonTrainable, pp.Folded = pc.Params-non, &non, pc.Folded
			}
			pm.Points = append(pm.Points, pp)
		}
		out.Models = append(out.Models, pm)
	}
	switch {
	case opts.Format == "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	case opts.At != nil:
		return writeSummaries(w, e, out, opts.Format == "markdown")
	}
	return writePointTables(w, e, out, opts.Format == "markdown")
}

// pointAt builds the point of model m from the --at values, which must give every variable the
// model uses, and checks that every width is at least 1 there.
func pointAt(m Model, at map[string]int64) (spec.Point, error) {
	var p spec.Point
	for _, v := range m.Vars {
		x, ok := at[v]
		if !ok {
			return nil, &UsageError{fmt.Sprintf("--at gives no value for %s, which model %s uses (e.g. --at %s=%d)", v, m.Name, v, m.Points[0].Map()[v])}
		}
		p = append(p, spec.VarValue{Name: v, Value: x})
	}
	vars := p.Map()
	for _, l := range m.Layers {
		if w := l.Width; !w.IsZero() {
			if v, ok := w.Poly().Eval(vars); !ok || v < 1 {
				return nil, &UsageError{fmt.Sprintf("--at %s: layer %s's width %s is %d there; every width must be at least 1", p, l.Name, w, v)}
			}
		}
	}
	return p, nil
}

// formatInt groups n's digits: 75,242.
func formatInt(n int64) string { return numfmt.GroupDigits(n) }

func newTable(w io.Writer, markdown bool, aligns []tw.Align) *tablewriter.Table {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	}
	if markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	return tablewriter.NewTable(w, opts...)
}

func writePointTables(w io.Writer, e *Experiment, out ParamsJSON, markdown bool) error {
	for i, pm := range out.Models {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var largest int64
		for _, p := range pm.Points {
			largest = max(largest, p.Params)
		}
		heading(w, markdown, fmt.Sprintf("%s: %s parameters", pm.Name, pm.Params))
		split := e.Models[i].Count.HasNonTrainable()
		if split {
			// A model with batch norm: the total (which the turning point is judged on), its
			// trainable and non-trainable parts, and the count with batch norm folded.
			t := newTable(w, markdown, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight})
			t.Header([]string{"point", "params", "trainable", "non-trainable", "folded", "MACs", "× smaller"})
			for j, p := range pm.Points {
				t.Append([]string{e.Models[i].Points[j].String(), formatInt(p.Params), formatInt(p.Trainable), formatInt(*p.NonTrainable),
					formatInt(p.Folded), formatInt(p.MACs), numfmt.TimesSmallerFixed(largest, p.Params)})
			}
			if err := t.Render(); err != nil {
				return err
			}
			if markdown {
				fmt.Fprintln(w)
			}
			fmt.Fprintln(w, foldedNote)
			continue
		}
		t := newTable(w, markdown, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight})
		t.Header([]string{"point", "params", "MACs", "× smaller"})
		for j, p := range pm.Points {
			t.Append([]string{e.Models[i].Points[j].String(), formatInt(p.Params), formatInt(p.MACs), numfmt.TimesSmallerFixed(largest, p.Params)})
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

func writeSummaries(w io.Writer, e *Experiment, out ParamsJSON, markdown bool) error {
	for i, pm := range out.Models {
		if i > 0 {
			fmt.Fprintln(w)
		}
		m := e.Models[i]
		pt := pm.Points[0]
		var p spec.Point
		for _, v := range m.Vars {
			p = append(p, spec.VarValue{Name: v, Value: pt.Vars[v]})
		}
		heading(w, markdown, fmt.Sprintf("%s at %s: %s parameters (%s)", pm.Name, p, formatInt(pt.Params), pm.Params))
		t := newTable(w, markdown, []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight})
		t.Header([]string{"layer", "output shape", "params formula", "params", "share"})
		for j, l := range pt.Layers {
			shape := make([]string, len(l.OutputShape))
			for k, s := range l.OutputShape {
				shape[k] = strconv.FormatInt(s, 10)
			}
			share := "—"
			if pt.Params > 0 && l.Params > 0 {
				share = fmt.Sprintf("%.1f%%", 100*float64(l.Params)/float64(pt.Params))
			}
			// A residual block's inner layers are marked "· " per level under it (the table trims spaces).
			t.Append([]string{fmt.Sprintf("%s%s (%s)", strings.Repeat("· ", l.Depth), l.Name, l.Kind), strings.Join(shape, "×"),
				m.Count.Layers[j].Params.String(), formatInt(l.Params), share})
		}
		t.Footer([]string{"total", "", pm.Params, formatInt(pt.Params), ""})
		if err := t.Render(); err != nil {
			return err
		}
		if m.Count.HasNonTrainable() {
			c := m.Count
			if markdown {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "%sTotal params: %s (%s)\n", bullet(markdown), formatInt(pt.Params), c.Params)
			fmt.Fprintf(w, "%sTrainable params: %s (%s)\n", bullet(markdown), formatInt(pt.Trainable), c.Params.Sub(c.NonTrainable))
			fmt.Fprintf(w, "%sNon-trainable params: %s (%s)\n", bullet(markdown), formatInt(*pt.NonTrainable), c.NonTrainable)
			fmt.Fprintf(w, "%sFolded params: %s (%s)\n", bullet(markdown), formatInt(pt.Folded), c.Folded)
			if markdown {
				fmt.Fprintln(w)
			}
			fmt.Fprintln(w, foldedNote)
		}
	}
	return nil
}

// foldedNote explains the three counts of a model with batch norm, under its table.
const foldedNote = "params is the total (trainable + non-trainable: batch norm's moving mean and variance), the count turning points are judged on; " +
	"folded counts what a deployed model carries, each batch_norm folded into the linear dense or convolution layer before it."

func bullet(markdown bool) string {
	if markdown {
		return "- "
	}
	return ""
}

func heading(w io.Writer, markdown bool, s string) {
	if markdown {
		fmt.Fprintf(w, "### %s\n\n", s)
		return
	}
	fmt.Fprintln(w, s)
}
