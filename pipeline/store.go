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
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// ResultsFile is the name of the results file inside an output folder of a run that is not split
// into shards; each shard writes its own file beside it (see ShardResultsFile).
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

// Store is the results of an output folder: every results file in it, merged and held in memory,
// and the one file this process appends to (ResultsFile, or a shard's ShardResultsFile). The file is
// rewritten atomically (a temporary file, fsync, rename) after every appended point: a process
// killed at any moment leaves either the old file or the new one, never a torn line. Shards of one
// sweep each append to their own file, so they share a folder without locking.
//
// When several records have the same key (a point trained again with --force, or by two shards of
// differently split runs), the one with the later FinishedAt is kept; on equal times, the one read
// last (files in name order, ResultsFile first, lines in order).
type Store struct {
	Dir string
	// File is the name, inside Dir, of the results file Append writes.
	File    string
	mu      sync.Mutex // Lookup and Append may be called from several trainings at once (--jobs)
	records []Record
	byKey   map[string]int
	raw     []byte // File's bytes as read and written, corrupt lines included
}

// CorruptLine is a line of a results file that could not be read; it is kept in the file but ignored.
type CorruptLine struct {
	// File is the results file's path (the folder joined with its name).
	File string
	// Line is the 1-based line number.
	Line int
	Err  error
}

// OpenStore reads every results file of dir (see ResultsFiles); Append writes dir/results.jsonl.
// Lines that are not valid records are returned as warnings, not errors: they are kept in their
// file and skipped.
func OpenStore(dir string) (*Store, []CorruptLine, error) {
	return OpenShardStore(dir, Shard{})
}

// OpenShardStore is OpenStore for shard s: it reads every results file of dir, and Append writes
// s's own file, ShardResultsFile(s).
func OpenShardStore(dir string, s Shard) (*Store, []CorruptLine, error) {
	st := &Store{Dir: dir, File: ShardResultsFile(s), byKey: map[string]int{}}
	files, err := ResultsFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	var bad []CorruptLine
	for _, name := range files {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // replaced by a writer between the listing and now: a rename, never a deletion
		}
		if err != nil {
			return nil, nil, err
		}
		if name == st.File {
			st.raw = b
		}
		if bad, err = st.read(path, b, bad); err != nil {
			return nil, nil, err
		}
	}
	return st, bad, nil
}

// ResultsFiles lists the results files of dir by name, sorted: ResultsFile first, then the shards'
// files (results-shard-III-of-NNN.jsonl). A missing folder has none.
func ResultsFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (n == ResultsFile || shardFileName.MatchString(n)) {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == ResultsFile) != (b == ResultsFile) {
			if a == ResultsFile {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

var shardFileName = regexp.MustCompile(`^results-shard-[0-9]+-of-[0-9]+\.jsonl$`)

// read adds the records of the file at path, whose bytes are b, and appends its unreadable lines to bad.
func (s *Store) read(path string, b []byte, bad []CorruptLine) ([]CorruptLine, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(text, &r); err != nil {
			bad = append(bad, CorruptLine{path, line, err})
			continue
		}
		if r.Key == "" || r.Model == "" {
			bad = append(bad, CorruptLine{path, line, errors.New("not a result record (no key or model)")})
			continue
		}
		s.add(r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return bad, nil
}

// add indexes r; it replaces a record with the same key unless that one finished later.
func (s *Store) add(r Record) {
	if i, ok := s.byKey[r.Key]; ok {
		if !s.records[i].FinishedAt.After(r.FinishedAt) {
			s.records[i] = r
		}
		return
	}
	s.byKey[r.Key] = len(s.records)
	s.records = append(s.records, r)
}

// Lookup returns the stored record with the key.
func (s *Store) Lookup(key string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byKey[key]
	if !ok {
		return Record{}, false
	}
	return s.records[i], true
}

// Records returns one record per key, in the order the keys first appear in the files.
func (s *Store) Records() []Record { return s.records }

// Append adds r to the store's own file (File) at once and atomically.
func (s *Store) Append(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	raw := s.raw
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	raw = append(append(raw, line...), '\n')
	if err := writeAtomic(filepath.Join(s.Dir, s.File), raw); err != nil {
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
		err = f.Chmod(0o644) // CreateTemp makes it 0600; other users of a shared folder read it
	}
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
