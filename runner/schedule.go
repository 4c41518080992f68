package runner

import (
	"math"

	"github.com/nnsweep/nnsweep/spec"
)

// learningRates is a learning-rate schedule (spec.Schedule documents each) converted to training
// steps: at(s) is the learning rate of global step s, counted from 0 for the first update, as a
// Keras LearningRateSchedule is called with the optimizer's iterations before each update.
type learningRates struct {
	lr     float64
	s      spec.ScheduleSettings
	warmup int // steps of linear warm-up from 0
	length int // steps of the schedule after the warm-up, at least 1
	every  int // step: steps between drops; exponential and cosine: steps per decay; at least 1
}

// newLearningRates converts s to steps for a training of epochs epochs of stepsPerEpoch steps
// each. It returns nil for a nil s: the learning rate stays lr.
func newLearningRates(lr float64, s *spec.ScheduleSettings, stepsPerEpoch, epochs int) *learningRates {
	if s == nil {
		return nil
	}
	steps := func(e float64) int { return int(math.Round(e * float64(stepsPerEpoch))) }
	total := stepsPerEpoch * epochs
	l := &learningRates{lr: lr, s: *s, warmup: min(steps(s.WarmupEpochs), total)}
	l.length = max(total-l.warmup, 1)
	switch s.Name {
	case "step":
		l.every = max(steps(s.EveryEpochs), 1)
	case "exponential":
		l.every = max(steps(s.DecayEpochs), 1)
	case "cosine":
		l.every = l.length
		if s.DecayEpochs > 0 {
			l.every = max(steps(s.DecayEpochs), 1)
		}
	}
	return l
}

// at returns the learning rate of global step s (0-based).
func (l *learningRates) at(s int) float64 {
	if s < l.warmup {
		return l.scheduled(0) * float64(s) / float64(l.warmup)
	}
	return l.scheduled(s - l.warmup)
}

// scheduled returns the schedule's learning rate k steps after the warm-up.
func (l *learningRates) scheduled(k int) float64 {
	s := l.s
	switch s.Name {
	case "step":
		return l.lr * math.Pow(s.Factor, math.Floor(float64(k)/float64(l.every)))
	case "exponential":
		return l.lr * math.Pow(s.DecayRate, float64(k)/float64(l.every))
	case "cosine":
		done := float64(min(k, l.every)) / float64(l.every)
		return l.lr * ((1-s.Alpha)*0.5*(1+math.Cos(math.Pi*done)) + s.Alpha)
	case "onecycle":
		return l.oneCycle(min(k, l.length-1))
	}
	return l.lr
}

// oneCycle is PyTorch's OneCycleLR (two phases) over l.length steps at step k: the first phase
// ends at step pct_start·length − 1 at lr, the second at step length − 1 at the final rate.
func (l *learningRates) oneCycle(k int) float64 {
	s := l.s
	initial := l.lr / s.DivFactor
	final := initial / s.FinalDivFactor
	end1 := s.PctStart*float64(l.length) - 1
	end2 := float64(l.length - 1)
	anneal := func(from, to, p float64) float64 {
		if s.AnnealStrategy == "linear" {
			return (to-from)*p + from
		}
		return to + (from-to)/2*(math.Cos(math.Pi*p)+1)
	}
	step := float64(k)
	if step <= end1 {
		if end1 <= 0 {
			return l.lr
		}
		return anneal(initial, l.lr, step/end1)
	}
	if end2 <= end1 {
		return final
	}
	return anneal(l.lr, final, (step-end1)/(end2-end1))
}
