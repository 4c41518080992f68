package runner

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/spec"
	"github.com/sbinet/npyio/npz"
	G "gorgonia.org/gorgonia"
)

// The fixtures in testdata/fidelity were made by `bench/fidelity --fixtures`: for every case of
// bench/fidelity-cases (one per layer kind and optimizer) nnsweep recorded its initial weights and
// its first two batches, and PyTorch computed, from exactly those weights and batches, the loss,
// every gradient and every weight after each of the two optimizer steps. This test trains the same
// two steps on both engines and checks them against PyTorch's figures, so the agreement holds
// without PyTorch.

// Tolerances, relative to the largest magnitude of each tensor (float32 sums in another order).
const (
	fidelityLossTol   = 1e-5
	fidelityGradTol   = 1e-4
	fidelityWeightTol = 1e-4
)

type fidelityMeta struct {
	Point   string `json:"point"`
	Tensors []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"tensors"`
}

func TestFidelityFixtures(t *testing.T) {
	t.Parallel()
	specs, err := filepath.Glob("testdata/fidelity/*.yaml")
	if err != nil || len(specs) < 7 {
		t.Fatalf("want the 7 fixtures of bench/fidelity-cases in testdata/fidelity, found %d (%v)", len(specs), err)
	}
	for _, path := range specs {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		for _, engine := range Engines {
			t.Run(name+"/"+engine, func(t *testing.T) {
				t.Parallel()
				ops, err := EngineOps(engine)
				if err != nil {
					t.Fatal(err)
				}
				checkFidelityFixture(t, strings.TrimSuffix(path, ".yaml"), ops)
			})
		}
	}
}

// fidelityFixture is one fixture of testdata/fidelity: its model at its point, and PyTorch's
// arrays.
type fidelityFixture struct {
	base  string
	m     spec.ResolvedModel
	p     spec.Point
	meta  fidelityMeta
	fx    *npz.Reader
	steps int
}

// f32 reads the fixture's float32 array key.
func (f *fidelityFixture) f32(t *testing.T, key string) []float32 {
	t.Helper()
	var v []float32
	if err := f.fx.Read(key+".npy", &v); err != nil {
		t.Fatalf("%s.npz: %s: %v", f.base, key, err)
	}
	return v
}

// openFidelityFixture reads the fixture at base (.yaml, .json, .npz); the caller closes its npz.
func openFidelityFixture(t *testing.T, base string) *fidelityFixture {
	t.Helper()
	src, err := os.ReadFile(base + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	var meta fidelityMeta
	if b, err := os.ReadFile(base + ".json"); err != nil || json.Unmarshal(b, &meta) != nil {
		t.Fatalf("%s.json: %v", base, err)
	}
	s, errs := spec.Parse(base+".yaml", src)
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	models, errs := spec.Expand(s, &spec.DataInfo{H: 28, W: 28, C: 1, Classes: 10})
	if errs != nil {
		t.Fatal(errs.Lines())
	}
	m := models[0]
	p := m.Points[0]
	if p.String() != meta.Point {
		t.Fatalf("the spec's point is %s, the fixture's %s", p, meta.Point)
	}
	fx, err := npz.Open(base + ".npz")
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	if err := fx.Read("steps.npy", &steps); err != nil || len(steps) != 1 || steps[0] < 1 {
		t.Fatalf("%s.npz: steps %v: %v", base, steps, err)
	}
	return &fidelityFixture{base: base, m: m, p: p, meta: meta, fx: fx, steps: int(steps[0])}
}

func checkFidelityFixture(t *testing.T, base string, ops builder.Ops) {
	f := openFidelityFixture(t, base)
	defer f.fx.Close()
	m, p, meta := f.m, f.p, f.meta
	f32 := func(key string) []float32 { return f.f32(t, key) }
	batch := m.Train.BatchSize
	tr, err := newTrainer(m, p, m.Train, batch, 16, ops)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	if len(tr.weights.Tensors) != len(meta.Tensors) {
		t.Fatalf("the model has %d weight tensors, the fixture %d", len(tr.weights.Tensors), len(meta.Tensors))
	}
	for i, w := range tr.weights.Tensors {
		if tr.weights.Names[i] != meta.Tensors[i].Name || fmt.Sprint([]int(w.Shape())) != fmt.Sprint(meta.Tensors[i].Shape) {
			t.Fatalf("tensor %d is %s %v, the fixture's %s %v", i, tr.weights.Names[i], w.Shape(), meta.Tensors[i].Name, meta.Tensors[i].Shape)
		}
		copy(w.Data().([]float32), f32(fmt.Sprintf("init_%d", i)))
	}
	for step := 1; step <= f.steps; step++ {
		checkFidelityStep(t, f, tr, step)
	}
}

// checkFidelityStep runs one training step of the fixture on tr, from the batch and masks PyTorch
// saw, and compares the loss, the gradients and the updated weights with PyTorch's.
func checkFidelityStep(t *testing.T, f *fidelityFixture, tr *trainer, step int) {
	t.Helper()
	g, batch, fx := tr.train, f.m.Train.BatchSize, f.fx
	f32 := func(key string) []float32 { return f.f32(t, key) }
	key := func(k string) string { return fmt.Sprintf("s%d_%s", step, k) }
	var labels []int32
	if err := fx.Read(key("labels")+".npy", &labels); err != nil || len(labels) != batch {
		t.Fatalf("step %d: %d labels (%v), want a whole batch of %d", step, len(labels), err, batch)
	}
	var want []float64
	if err := fx.Read(key("loss")+".npy", &want); err != nil || len(want) != 1 {
		t.Fatalf("step %d: loss: %v", step, err)
	}
	// The batch as the graph saw it (NCHW, which for one channel is the data's HWC).
	set := &dataset.Set{N: batch, H: 28, W: 28, C: 1, Classes: 10, Images: f32(key("images")), Labels: labels}
	idx := make([]int, batch)
	for i := range idx {
		idx[i] = i
	}
	fillImages(g.Input.Value().Data().([]float32), set, idx)
	fillLabels(g.Labels.Value().Data().([]float32), set, idx, tr.classes, tr.smoothing)
	if slices.Contains(fx.Keys(), key("lr")+".npy") { // the learning rate of a schedule's step
		var lr []float64
		if err := fx.Read(key("lr")+".npy", &lr); err != nil || len(lr) != 1 {
			t.Fatalf("step %d: lr: %v", step, err)
		}
		tr.solver.SetLearningRate(lr[0])
	}
	if err := G.Let(g.Count, float32(batch)); err != nil {
		t.Fatal(err)
	}
	for i, mask := range g.Dropouts {
		copy(mask.Value().Data().([]float32), f32(key(fmt.Sprintf("mask_%d", i))))
	}
	if err := tr.trainVM.RunAll(); err != nil {
		t.Fatal(err)
	}
	loss := float64(g.Loss.Value().Data().(float32))
	if d := math.Abs(loss-want[0]) / math.Abs(want[0]); d > fidelityLossTol {
		t.Errorf("step %d: loss %.8g, PyTorch's %.8g (relative difference %.2g)", step, loss, want[0], d)
	}
	j := 0 // g.Grads has the trainable tensors' gradients; grad_i is tensor i's
	for i := range tr.weights.Tensors {
		if !tr.weights.Trainable(i) {
			continue // batch_norm's moving statistics: no gradient (their update is checked below)
		}
		if d := maxRelDiff(g.Grads[j].Value().Data().([]float32), f32(key(fmt.Sprintf("grad_%d", i)))); d > fidelityGradTol {
			t.Errorf("step %d: gradient of %s differs from PyTorch's by %.2g of its largest value", step, tr.weights.Names[i], d)
		}
		j++
	}
	if err := tr.solver.Step(tr.grads); err != nil {
		t.Fatal(err)
	}
	tr.trainVM.Reset()
	for i, w := range tr.weights.Tensors {
		if d := maxRelDiff(w.Data().([]float32), f32(key(fmt.Sprintf("weight_%d", i)))); d > fidelityWeightTol {
			t.Errorf("step %d: %s after the update differs from PyTorch's by %.2g of its largest value", step, tr.weights.Names[i], d)
		}
	}
}

// maxRelDiff returns max|a−b| / max|b|, b being the reference.
func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(b[i])))
	}
	if scale == 0 {
		if diff == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return diff / scale
}
