package runner

import (
	"math"

	"github.com/nnsweep/nnsweep/spec"
)

// earlyStopper follows Keras's EarlyStopping: it stops once the monitored validation metric has
// not improved by more than MinDelta for Patience epochs in a row, and with RestoreBest it keeps
// a copy of the best epoch's weights to put back at the end.
type earlyStopper struct {
	cfg       spec.EarlyStopping
	best      float64
	bestEpoch int
	wait      int
	saved     [][]float32 // the best epoch's weights (RestoreBest only)
}

func newEarlyStopper(cfg spec.EarlyStopping) *earlyStopper {
	best := math.Inf(-1)
	if cfg.Monitor == "val_loss" {
		best = math.Inf(1)
	}
	return &earlyStopper{cfg: cfg, best: best}
}

// improved reports whether v beats the best value by more than MinDelta.
func (e *earlyStopper) improved(v float64) bool {
	if e.cfg.Monitor == "val_loss" {
		return v < e.best-e.cfg.MinDelta
	}
	return v > e.best+e.cfg.MinDelta
}

// observe records an epoch's validation metrics and reports whether training should stop.
func (e *earlyStopper) observe(epoch int, val Metrics, weights [][]float32) bool {
	v := val.Accuracy
	if e.cfg.Monitor == "val_loss" {
		v = val.Loss
	}
	if e.improved(v) || e.bestEpoch == 0 {
		e.best, e.bestEpoch, e.wait = v, epoch, 0
		if e.cfg.RestoreBest {
			if e.saved == nil {
				e.saved = make([][]float32, len(weights))
				for i, w := range weights {
					e.saved[i] = make([]float32, len(w))
				}
			}
			for i, w := range weights {
				copy(e.saved[i], w)
			}
		}
		return false
	}
	e.wait++
	return e.wait >= e.cfg.Patience
}

// restore puts the best epoch's weights back (RestoreBest only).
func (e *earlyStopper) restore(weights [][]float32) {
	if e.saved == nil {
		return
	}
	for i, w := range weights {
		copy(w, e.saved[i])
	}
}
