package ops

import (
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// TestEveryKindHasGraph checks that every layer kind of spec has a graph here.
func TestEveryKindHasGraph(t *testing.T) {
	t.Parallel()
	for _, k := range spec.LayerKinds {
		if layerGraphs[k] == nil {
			t.Errorf("layer kind %s has no graph", k)
		}
	}
}

// opSet is an engine with its ops one by one, as the tests of single ops call them.
type opSet interface {
	builder.Ops
	Dense(x, w, b *G.Node, activation string) (*G.Node, error)
	Conv2D(x, k, b *G.Node, l spec.ResolvedLayer, activation string) (*G.Node, error)
	Pool(x *G.Node, l spec.ResolvedLayer) (*G.Node, error)
}

var (
	_ opSet = Stock{}
	_ opSet = Fast{}
)
