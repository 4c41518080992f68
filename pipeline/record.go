package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// Record is one finished point, one line of results.jsonl.
//
// Numbers that are not finite (the loss of a diverged point) are written as the JSON strings
// "NaN", "Infinity" and "-Infinity", which Python's float() and JavaScript's Number() read back;
// JSON has no such numbers, so any JSON reader can read every line.
type Record struct {
	// Key hashes everything that determines the result (see pointKey); a spec run again skips
	// the points whose key is already stored.
	Key  string `json:"key"`
	Spec string `json:"spec"` // the spec's name
	// Model and Vars identify the point; Point is Vars as the user reads it ("n=2").
	Model      string           `json:"model"`
	Vars       map[string]int64 `json:"vars"`
	Point      string           `json:"point"`
	Polynomial string           `json:"polynomial"`
	Params     int64            `json:"params"`
	MACs       int64            `json:"macs"`
	Layers     []LayerParams    `json:"layers"`
	// Training settings.
	Seed       int64 `json:"seed"`
	Epochs     int   `json:"epochs"`      // epochs trained
	MaxEpochs  int   `json:"max_epochs"`  // epochs asked for (after --epochs)
	SpecEpochs int   `json:"spec_epochs"` // epochs the spec asks for
	// StoppedEarly says early stopping ended training before MaxEpochs; BestEpoch is the epoch
	// whose validation metric was best (0 without early stopping).
	StoppedEarly bool                   `json:"stopped_early,omitempty"`
	BestEpoch    int                    `json:"best_epoch,omitempty"`
	BatchSize    int                    `json:"batch_size"`
	Optimizer    spec.OptimizerSettings `json:"optimizer"`
	LimitTrain   int                    `json:"limit_train,omitempty"`
	// Engine is the --engine that built the layers ("fast" or "stock"); empty in records of
	// builds that did not store it, which trained with "fast" unless told otherwise.
	Engine string `json:"engine,omitempty"`
	// Outcome. A diverged point has no test result: its accuracy and loss are 0.
	Status        string         `json:"status"` // "ok" or "diverged"
	TestAccuracy  float64        `json:"test_accuracy"`
	TestLoss      float64        `json:"test_loss"`
	TrainSeconds  float64        `json:"train_seconds"`
	TrainExamples int            `json:"train_examples"`
	History       []runner.Epoch `json:"history"`
	// Weights is the file, relative to the output folder, that holds the weights the test set was
	// evaluated with (see WeightsDir); empty in records of builds that kept no weights.
	Weights string `json:"weights,omitempty"`
	// Provenance: the data, and the machine and build that trained the point.
	Dataset         string `json:"dataset"`
	DatasetChecksum string `json:"dataset_checksum"`
	Version         string `json:"nnsweep_version"`
	Machine
	FinishedAt time.Time `json:"finished_at"`
}

// Machine is where a point was trained: the processor, the cores Go could use, the operating
// system and architecture, and the Go toolchain nnsweep was built with. Records written before
// nnsweep stored it have the zero Machine.
type Machine struct {
	CPU       string `json:"cpu,omitempty"`        // the processor's model name, e.g. "AMD EPYC 9B14"
	Cores     int    `json:"cores,omitempty"`      // runtime.NumCPU() of the training process
	OS        string `json:"os,omitempty"`         // GOOS/GOARCH, e.g. "linux/amd64"
	GoVersion string `json:"go_version,omitempty"` // e.g. "go1.26.8"
}

// LayerParams is one layer's parameter count at the point.
type LayerParams struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Params int64  `json:"params"`
}

// jsonFloat is a float64 whose JSON form is a number when it is finite and one of the strings
// "NaN", "Infinity" and "-Infinity" when it is not; null reads as NaN.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(x)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`, "null":
		*f = jsonFloat(math.NaN())
		return nil
	case `"Infinity"`, `"+Infinity"`:
		*f = jsonFloat(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = jsonFloat(math.Inf(-1))
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = jsonFloat(x)
	return nil
}

// metricsJSON and epochJSON are runner.Metrics and runner.Epoch with their floats as jsonFloat.
type metricsJSON struct {
	Loss     jsonFloat `json:"loss"`
	Accuracy jsonFloat `json:"accuracy"`
}

type epochJSON struct {
	Epoch    int          `json:"epoch"`
	Loss     jsonFloat    `json:"loss"`
	Accuracy jsonFloat    `json:"accuracy"`
	Val      *metricsJSON `json:"val,omitempty"`
	Seconds  jsonFloat    `json:"seconds"`
}

// recordJSON is a Record in its JSON form: its own fields of floats, as jsonFloat, take the place
// of the embedded Record's, which lie one level deeper.
type recordJSON struct {
	plainRecord
	TestAccuracy jsonFloat   `json:"test_accuracy"`
	TestLoss     jsonFloat   `json:"test_loss"`
	TrainSeconds jsonFloat   `json:"train_seconds"`
	History      []epochJSON `json:"history"`
}

// plainRecord is Record without its JSON methods.
type plainRecord Record

// MarshalJSON writes r with its non-finite numbers as strings (see Record).
func (r Record) MarshalJSON() ([]byte, error) {
	v := recordJSON{plainRecord: plainRecord(r), TestAccuracy: jsonFloat(r.TestAccuracy), TestLoss: jsonFloat(r.TestLoss),
		TrainSeconds: jsonFloat(r.TrainSeconds)}
	if r.History != nil {
		v.History = make([]epochJSON, len(r.History))
	}
	for i, e := range r.History {
		v.History[i] = epochJSON{Epoch: e.Epoch, Loss: jsonFloat(e.Loss), Accuracy: jsonFloat(e.Accuracy), Seconds: jsonFloat(e.Seconds)}
		if e.Val != nil {
			v.History[i].Val = &metricsJSON{Loss: jsonFloat(e.Val.Loss), Accuracy: jsonFloat(e.Val.Accuracy)}
		}
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes, and plain numbers.
func (r *Record) UnmarshalJSON(b []byte) error {
	var v recordJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Record(v.plainRecord)
	r.TestAccuracy, r.TestLoss, r.TrainSeconds = float64(v.TestAccuracy), float64(v.TestLoss), float64(v.TrainSeconds)
	r.History = nil
	for _, e := range v.History {
		ep := runner.Epoch{Epoch: e.Epoch, Loss: float64(e.Loss), Accuracy: float64(e.Accuracy), Seconds: float64(e.Seconds)}
		if e.Val != nil {
			ep.Val = &runner.Metrics{Loss: float64(e.Val.Loss), Accuracy: float64(e.Val.Accuracy)}
		}
		r.History = append(r.History, ep)
	}
	return nil
}

// maxFutureSkew is how far in the future a record's finished_at may lie (clocks of the nodes
// sharing a folder differ a little); a later one was not written by nnsweep.
const maxFutureSkew = 24 * time.Hour

// check reports why r, read from a results file, is not a record nnsweep could have written, or
// nil: a hand-edited accuracy of −7.5, an unknown status or a finished_at in the year 9999 would
// otherwise be reported as measured, or beat a later --force.
func (r Record) check(now time.Time) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case r.Key == "" || r.Model == "":
		return errors.New("not a result record (no key or model)")
	case r.Status != runner.StatusOK && r.Status != runner.StatusDiverged:
		return fmt.Errorf("status %q is neither %q nor %q", r.Status, runner.StatusOK, runner.StatusDiverged)
	case r.Status == runner.StatusOK && !(r.TestAccuracy >= 0 && r.TestAccuracy <= 1):
		return fmt.Errorf("test_accuracy %v is not a fraction in [0, 1]", r.TestAccuracy)
	case r.Status == runner.StatusOK && !(finite(r.TestLoss) && r.TestLoss >= 0):
		return fmt.Errorf("test_loss %v of an ok point is not a finite number ≥ 0", r.TestLoss)
	case !(finite(r.TrainSeconds) && r.TrainSeconds >= 0):
		return fmt.Errorf("train_seconds %v is not a finite number ≥ 0", r.TrainSeconds)
	case r.Params < 0 || r.MACs < 0 || r.Epochs < 0 || r.TrainExamples < 0:
		return errors.New("params, macs, epochs and train_examples must not be negative")
	case r.FinishedAt.IsZero():
		return errors.New("no finished_at")
	case r.FinishedAt.After(now.Add(maxFutureSkew)):
		return fmt.Errorf("finished_at %s is in the future", r.FinishedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
