package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// ResultsFile is the name of the results file inside an output folder.
const ResultsFile = "results.jsonl"

// Record is one finished point, one line of results.jsonl.
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
	Seed       int64                  `json:"seed"`
	Epochs     int                    `json:"epochs"`      // epochs trained
	SpecEpochs int                    `json:"spec_epochs"` // epochs asked for
	BatchSize  int                    `json:"batch_size"`
	Optimizer  spec.OptimizerSettings `json:"optimizer"`
	LimitTrain int                    `json:"limit_train,omitempty"`
	// Outcome.
	Status        string         `json:"status"` // "ok" or "diverged"
	TestAccuracy  float64        `json:"test_accuracy"`
	TestLoss      float64        `json:"test_loss"`
	TrainSeconds  float64        `json:"train_seconds"`
	TrainExamples int            `json:"train_examples"`
	History       []runner.Epoch `json:"history"`
	// Provenance.
	Dataset         string    `json:"dataset"`
	DatasetChecksum string    `json:"dataset_checksum"`
	Version         string    `json:"nnsweep_version"`
	FinishedAt      time.Time `json:"finished_at"`
}

// LayerParams is one layer's parameter count at the point.
type LayerParams struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Params int64  `json:"params"`
}

// Store is an output folder's results file, held in memory and rewritten atomically (a temporary
// file, fsync, rename) after every appended point: a process killed at any moment leaves either
// the old file or the new one, never a torn line.
type Store struct {
	Dir     string
	records []Record
	byKey   map[string]int
	raw     []byte // the file's bytes as read and written, corrupt lines included
}

// CorruptLine is a line of results.jsonl that could not be read; it is kept in the file but ignored.
type CorruptLine struct {
	Line int
	Err  error
}

// OpenStore reads dir/results.jsonl if it exists. Lines that are not valid records are returned
// as warnings, not errors: they are kept in the file and skipped.
func OpenStore(dir string) (*Store, []CorruptLine, error) {
	s := &Store{Dir: dir, byKey: map[string]int{}}
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	s.raw = b
	var bad []CorruptLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(text, &r); err != nil {
			bad = append(bad, CorruptLine{line, err})
			continue
		}
		if r.Key == "" || r.Model == "" {
			bad = append(bad, CorruptLine{line, errors.New("not a result record (no key or model)")})
			continue
		}
		s.add(r)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	return s, bad, nil
}

// add indexes r; a later record with the same key replaces an earlier one (a forced rerun).
func (s *Store) add(r Record) {
	if i, ok := s.byKey[r.Key]; ok {
		s.records[i] = r
		return
	}
	s.byKey[r.Key] = len(s.records)
	s.records = append(s.records, r)
}

// Lookup returns the stored record with the key.
func (s *Store) Lookup(key string) (Record, bool) {
	i, ok := s.byKey[key]
	if !ok {
		return Record{}, false
	}
	return s.records[i], true
}

// Records returns every stored record, in file order.
func (s *Store) Records() []Record { return s.records }

// Append adds r to the file at once and atomically.
func (s *Store) Append(r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	raw := s.raw
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	raw = append(append(raw, line...), '\n')
	if err := writeAtomic(filepath.Join(s.Dir, ResultsFile), raw); err != nil {
		return err
	}
	s.raw = raw
	s.add(r)
	return nil
}

// writeAtomic replaces path with data through a synced temporary file in the same folder.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
