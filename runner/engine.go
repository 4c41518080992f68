package runner

import (
	"fmt"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/runner/ops"
)

var (
	_ builder.Ops = ops.Fast{}
	_ builder.Ops = ops.Stock{}
)

// Engines names the ways to build a model's layers: "fast" (ops.Fast, the default) and "stock"
// (gorgonia's own operations, for comparison).
var Engines = []string{"fast", "stock"}

// engineRevisions counts, per engine, the changes to what it computes. Results trained by an
// earlier revision are not the results of this one, so the revision enters every result key
// (EngineKey). stock's revision 2: ReLU's gradient is 0 where its input is exactly 0 (it was 1).
var engineRevisions = map[string]int{"fast": 1, "stock": 2}

// EngineKey returns what of the named engine enters a result key: "" for the fast engine's
// first revision and the engine's name for any engine's first (the keys written before
// revisions were counted), the name and "/r" and the revision after that.
func EngineKey(name string) string {
	if name == "" {
		name = "fast"
	}
	rev := engineRevisions[name]
	switch {
	case rev <= 1 && name == "fast":
		return ""
	case rev <= 1:
		return name
	}
	return fmt.Sprintf("%s/r%d", name, rev)
}

// EngineOps returns the Ops of the named engine.
func EngineOps(name string) (builder.Ops, error) {
	switch name {
	case "", "fast":
		return ops.Fast{}, nil
	case "stock":
		return ops.Stock{}, nil
	}
	return nil, fmt.Errorf("unknown engine %q; use fast or stock", name)
}
