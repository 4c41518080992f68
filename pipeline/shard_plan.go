package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter/tw"
)

// PlanFormats are the output formats of Plan.
var PlanFormats = []string{"table", "markdown", "json"}

// PlanOptions adjust `nnsweep plan`. Only, Points, Epochs and LimitTrain select and size the
// points as the same RunOptions do: a plan is the split `nnsweep run --shard I/N` makes with the
// same options.
type PlanOptions struct {
	// Shards is the number of shards, at least 1.
	Shards int
	// Format is "table" (default), "markdown" or "json".
	Format     string
	Only       []string
	Points     map[string][]int64
	Epochs     int
	LimitTrain int
}

// PlanJSON is the JSON form of Plan, a contract other tools read.
type PlanJSON struct {
	Spec        string `json:"spec"`
	Shards      int    `json:"shards"`
	CostFormula string `json:"cost_formula"`
	// Points are every point in plan order (the order a run trains them), each with its shard.
	Points []PlanPoint `json:"points"`
	// Totals are the shards' points and costs, by shard.
	Totals []PlanShard `json:"totals"`
	// Imbalance is the largest shard's cost divided by the mean shard cost: 1 is a perfect split.
	Imbalance float64 `json:"imbalance"`
}

// PlanPoint is one point of a plan.
type PlanPoint struct {
	Shard int              `json:"shard"` // 0-based
	Model string           `json:"model"`
	Point string           `json:"point"` // "n=2"
	Vars  map[string]int64 `json:"vars"`
	// MACs are the forward multiply-adds per example.
	MACs          int64 `json:"macs"`
	Epochs        int   `json:"epochs"`
	TrainExamples int   `json:"train_examples"` // per epoch
	// Cost is the estimated multiply-adds of training and evaluating the point (CostFormula).
	Cost int64 `json:"cost"`
}

// PlanShard is one shard's share of a plan.
type PlanShard struct {
	Shard  int   `json:"shard"`
	Points int   `json:"points"`
	Cost   int64 `json:"cost"`
}

// Plan prints how `nnsweep run --shard I/N` splits the points of the spec at path among
// opts.Shards shards (see AssignShards): every point with its shard and estimated cost, each
// shard's total, and the imbalance. It trains nothing and reads only the dataset's headers.
func Plan(path string, opts PlanOptions, w io.Writer) error {
	if opts.Format == "" {
		opts.Format = "table"
	}
	if !slices.Contains(PlanFormats, opts.Format) {
		return &UsageError{fmt.Sprintf("--format %q: use one of %s", opts.Format, strings.Join(PlanFormats, ", "))}
	}
	if opts.Shards < 1 {
		return &UsageError{fmt.Sprintf("--shards %d: split the sweep into at least 1 shard, e.g. --shards 4", opts.Shards)}
	}
	e, err := Load(path)
	if err != nil {
		return err
	}
	if err := e.applyOverrides(RunOptions{Only: opts.Only, Points: opts.Points, Epochs: opts.Epochs, LimitTrain: opts.LimitTrain}); err != nil {
		return err
	}
	info, err := describeCounts(context.Background(), e.Spec)
	if err != nil {
		return &InvalidError{dataErrors(e.Spec, err)}
	}
	costs, err := planCosts(e, info, opts.LimitTrain)
	if err != nil {
		return err
	}
	plan := makePlan(e.Spec.Name, costs, opts.Shards)
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(plan)
	}
	return writePlan(w, plan, opts.Format == "markdown")
}

// makePlan splits the points of costs (in plan order) among n shards.
func makePlan(name string, costs []PointCost, n int) PlanJSON {
	c := make([]int64, len(costs))
	for i, pc := range costs {
		c[i] = pc.Cost
	}
	shard := AssignShards(c, n)
	plan := PlanJSON{Spec: name, Shards: n, CostFormula: CostFormula, Points: []PlanPoint{}, Totals: make([]PlanShard, n)}
	for s := range plan.Totals {
		plan.Totals[s].Shard = s
	}
	for i, pc := range costs {
		plan.Points = append(plan.Points, PlanPoint{Shard: shard[i], Model: pc.Model.Name, Point: pc.Point.String(), Vars: pc.Point.Map(),
			MACs: pc.MACs, Epochs: pc.Epochs, TrainExamples: pc.TrainExamples, Cost: pc.Cost})
		t := &plan.Totals[shard[i]]
		t.Points++
		t.Cost = satAdd(t.Cost, pc.Cost)
	}
	plan.Imbalance = imbalance(plan.Totals)
	return plan
}

// imbalance is the largest total over the mean total; 1 when every total is 0.
func imbalance(totals []PlanShard) float64 {
	var sum, largest float64
	for _, t := range totals {
		sum += float64(t.Cost)
		largest = max(largest, float64(t.Cost))
	}
	if sum == 0 {
		return 1
	}
	return largest / (sum / float64(len(totals)))
}

func writePlan(w io.Writer, plan PlanJSON, markdown bool) error {
	heading(w, markdown, fmt.Sprintf("%s: %s on %s", plan.Spec, plural(len(plan.Points), "point"), plural(plan.Shards, "shard")))
	t := newTable(w, markdown, []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight})
	t.Header([]string{"shard", "model", "point", "epochs", "MACs", "est. cost"})
	order := make([]int, len(plan.Points))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return plan.Points[a].Shard - plan.Points[b].Shard })
	for _, i := range order {
		p := plan.Points[i]
		t.Append([]string{fmt.Sprint(p.Shard), p.Model, p.Point, fmt.Sprint(p.Epochs), formatInt(p.MACs), formatSI(p.Cost)})
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	mean := 0.0
	for _, s := range plan.Totals {
		mean += float64(s.Cost)
	}
	mean /= float64(len(plan.Totals))
	t = newTable(w, markdown, []tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight})
	t.Header([]string{"shard", "points", "est. cost", "× mean"})
	empty := 0
	for _, s := range plan.Totals {
		ratio := "—"
		if mean > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(s.Cost)/mean)
		}
		if s.Points == 0 {
			empty++
		}
		t.Append([]string{fmt.Sprint(s.Shard), fmt.Sprint(s.Points), formatSI(s.Cost), ratio})
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nimbalance: the largest shard costs %.2f× the mean (1.00× is an even split)", plan.Imbalance)
	var largest int64
	for _, p := range plan.Points {
		largest = max(largest, p.Cost)
	}
	if mean > 0 && float64(largest) > mean {
		fmt.Fprintf(w, "; the largest point alone costs %.2f× the mean, so no split can do better", float64(largest)/mean)
	}
	if empty > 0 {
		fmt.Fprintf(w, "; %s without a point (more shards than points)", plural(empty, "shard"))
	}
	fmt.Fprintf(w, ".\nest. cost: multiply-adds, %s.\n", CostFormula)
	return nil
}

// formatSI writes n with three significant digits and an SI prefix: 950, 1.23 k, 45.6 G, 789 T.
func formatSI(n int64) string {
	v := float64(n)
	prefixes := []string{"", " k", " M", " G", " T", " P", " E"}
	i := 0
	for v >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprint(n)
	case v >= 99.95:
		return fmt.Sprintf("%.0f%s", v, prefixes[i])
	case v >= 9.995:
		return fmt.Sprintf("%.1f%s", v, prefixes[i])
	}
	return fmt.Sprintf("%.2f%s", v, prefixes[i])
}
