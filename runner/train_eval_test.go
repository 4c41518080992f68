package runner

import (
	"context"
	"errors"
	"hash"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/runner/ops"
	G "gorgonia.org/gorgonia"
)

// failingEvalOps builds graphs as ops.Stock does, except that a graph of batch evalBatch (the
// evaluation graph) gets an op that fails whenever it runs.
type failingEvalOps struct {
	ops.Stock
	evalBatch int
}

func (o failingEvalOps) LogSoftmax(logits *G.Node) (*G.Node, error) {
	if logits.Shape()[0] == o.evalBatch {
		neg, err := G.Neg(logits)
		if err != nil {
			return nil, err
		}
		if logits, err = G.ApplyOp(failOp{neg.Op()}, logits); err != nil {
			return nil, err
		}
	}
	return o.Stock.LogSoftmax(logits)
}

// failOp is an element-wise op whose every run fails.
type failOp struct{ G.Op }

func (failOp) Do(...G.Value) (G.Value, error) { return nil, errors.New("injected failure") }
func (failOp) Hashcode() uint32               { return 0xfa11 }
func (failOp) WriteHash(h hash.Hash)          { h.Write([]byte("fail")) }
func (failOp) String() string                 { return "fail" }

// An evaluation that fails is an error, not a diverged point: the model may be fine, and a
// diverged point would be stored and never trained again.
func TestTrainEvaluationErrorIsAnError(t *testing.T) {
	t.Parallel()
	data := &dataset.Data{Name: "blobs", Train: blobs(100, 1), Test: blobs(50, 2)}
	for _, split := range []string{"", ", validation_split: 0.2"} {
		m := resolvedModel(t, "{epochs: 1, batch_size: 32"+split+"}", mlp)
		res, err := Train(context.Background(), m, m.Points[0], data, Options{EvalBatch: 64, Ops: failingEvalOps{evalBatch: 64}})
		if err == nil || !strings.Contains(err.Error(), "evaluation step") || !strings.Contains(err.Error(), "injected failure") {
			status := ""
			if res != nil {
				status = res.Status
			}
			t.Fatalf("train%s: err = %v, status %q; want the evaluation's error", split, err, status)
		}
	}
}
