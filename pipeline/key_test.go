package pipeline

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/nnsweep/nnsweep/spec"
)

// TestKeysOfStoredResults recomputes the key of every result in the committed example report,
// trained by the fast engine before engine revisions were counted: a folder trained then must
// still resume, so these keys must not change unless what is trained changes.
func TestKeysOfStoredResults(t *testing.T) {
	t.Parallel()
	e, err := Load("../examples/mnist-compare.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../examples/reports/mnist-compare/results.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checked := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec struct {
			Key             string `json:"key"`
			Model           string `json:"model"`
			Point           string `json:"point"`
			Seed            int64  `json:"seed"`
			DatasetChecksum string `json:"dataset_checksum"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		seed := rec.Seed
		found := false
		for _, m := range e.Models {
			if m.Name != rec.Model {
				continue
			}
			for _, p := range m.Points {
				if p.String() != rec.Point {
					continue
				}
				rm := m.ResolvedModel
				rm.Train.Seed = seed
				if got := pointKey(rm, p, 0, rec.DatasetChecksum, "fast"); got != rec.Key {
					t.Errorf("%s %s: key %s, stored %s", rec.Model, rec.Point, got, rec.Key)
				}
				if stock := pointKey(rm, p, 0, rec.DatasetChecksum, "stock"); stock == rec.Key || stock == stockKeyBeforeRevisions[rec.Model+" "+rec.Point] {
					t.Errorf("%s %s: the stock engine's key %s is the fast engine's or the one before its ReLU fix", rec.Model, rec.Point, stock)
				}
				found = true
				checked++
			}
		}
		if !found {
			t.Errorf("%s %s is stored but not a point of the spec", rec.Model, rec.Point)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 12 {
		t.Fatalf("checked %d stored results; want the 12 of the example", checked)
	}
}

// stockKeyBeforeRevisions holds keys the stock engine gave before its revision 2 (ReLU's
// gradient at 0), computed by nnsweep 0.1.0 at a50a0b3.
var stockKeyBeforeRevisions = map[string]string{
	"mlp-pool n=512": "b73800ccc24a352848e14b10cf3c2777",
	"mlp-pool n=256": "fc54a369686d59935da4ca987c5231f5",
	"mlp-pool n=128": "bc1378356cd04a818b2636bb9265c5b5",
	"mlp-pool n=64":  "440b606583da5f670fc9da88964760d3",
	"mlp-pool n=32":  "41fbd0f3232e335cf96103814f6b036b",
	"mlp-pool n=16":  "fc883e752d3bb464158b99dec99b350d",
	"cnn2 n=32":      "c7c38d61b719fcd2d33dc141712aa591",
	"cnn2 n=16":      "57650db61219e30abfc22bae497e999b",
	"cnn2 n=8":       "77877b33722d8f0a32b2eee40effc3fa",
	"cnn2 n=4":       "55ff2ba624302584327203d5f4111d18",
	"cnn2 n=2":       "3843578b049d1979a59775a055ecea5f",
	"cnn2 n=1":       "d89affaa43f5a315335393fe33249c83",
}

// Each recipe setting enters the key when set, and an unset one leaves the key as it was.
func TestKeysOfRecipes(t *testing.T) {
	t.Parallel()
	e, err := Load("../examples/mnist-compare.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := e.Models[0].ResolvedModel
	p := m.Points[0]
	base := pointKey(m, p, 0, "sum", "fast")
	seen := map[string]string{base: "unset"}
	variants := map[string]func(*spec.Training){
		"schedule":        func(t *spec.Training) { t.Schedule = &spec.ScheduleSettings{Name: "cosine"} },
		"warm-up":         func(t *spec.Training) { t.Schedule = &spec.ScheduleSettings{Name: "cosine", WarmupEpochs: 1} },
		"weight decay":    func(t *spec.Training) { t.Optimizer.WeightDecay = 1e-4 },
		"label smoothing": func(t *spec.Training) { t.LabelSmoothing = 0.1 },
		"augment":         func(t *spec.Training) { t.Augment = &spec.Augmentation{Shift: 2} },
		"unset":           func(t *spec.Training) { t.Schedule, t.Augment, t.LabelSmoothing = nil, nil, 0 },
	}
	for name, change := range variants {
		rm := m
		change(&rm.Train)
		key := pointKey(rm, p, 0, "sum", "fast")
		if name == "unset" {
			if key != base {
				t.Errorf("unset recipe settings change the key")
			}
			continue
		}
		if prev, dup := seen[key]; dup {
			t.Errorf("%s gives the key of %s", name, prev)
		}
		seen[key] = name
	}
}
