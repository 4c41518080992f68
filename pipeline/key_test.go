package pipeline

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
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
