package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ResultsFile is the name of the results file inside an output folder of a run that is not split
// into shards; each shard writes its own file beside it (see ShardResultsFile).
const ResultsFile = "results.jsonl"

// Store is the results of an output folder: every results file in it, merged and held in memory,
// and, when opened with OpenShardStore, the one file this process appends to (ResultsFile, or a
// shard's ShardResultsFile). Each record is appended as one line with one write and synced to disk
// before Append returns, so a process killed at any moment loses at most the line it was writing;
// such a torn last line is removed (with a warning) when the file is opened for appending again,
// and skipped with a warning when it is only read.
//
// While a Store is open for appending, it holds an exclusive lock (flock) on a lock file beside its
// results file, ".NAME.lock", holding the writer's PID and host: a second process that would
// append to the same file is refused with an error naming them. The shards of one sweep each
// append to their own file, so they share a folder and run at once.
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
	out     *os.File // File opened for appending; nil for a store opened with OpenStore
	size    int64    // out's size in bytes, where the next record starts
	lock    *os.File // the lock file, locked while out is open
	// readTo holds, for each results file but File, the offset just past the last whole line
	// read from it, where Refresh goes on reading what other processes (shards) appended since.
	readTo map[string]int64
	// Unlocked, when not empty, warns that the file system could not lock File: the store is open
	// for appending without the lock.
	Unlocked string
}

// CorruptLine is a line of a results file that could not be read; it is ignored.
type CorruptLine struct {
	// File is the results file's path (the folder joined with its name).
	File string
	// Line is the 1-based line number.
	Line int
	Err  error
}

// maxRecordLine is the length in bytes beyond which a line of a results file is skipped unread (a
// record is a few kilobytes; the longest history of 100,000 epochs is about 10 MB).
const maxRecordLine = 64 << 20

// OpenStore reads every results file of dir (see ResultsFiles), for reading only. Lines that are
// not valid records are returned as warnings, not errors: they are skipped.
func OpenStore(dir string) (*Store, []CorruptLine, error) {
	st := &Store{Dir: dir, File: ResultsFile, byKey: map[string]int{}}
	bad, _, err := st.readAll(time.Now())
	if err != nil {
		return nil, nil, err
	}
	return st, bad, nil
}

// OpenShardStore opens the store of dir for shard s: it takes the lock of s's own results file,
// ShardResultsFile(s), creating dir when needed, reads every results file of dir, and opens s's file
// for Append. It fails at once, before anything is trained, when the file is a folder or another
// process holds its lock. Close releases the file and its lock.
func OpenShardStore(dir string, s Shard) (*Store, []CorruptLine, error) {
	st := &Store{Dir: dir, File: ShardResultsFile(s), byKey: map[string]int{}}
	if err := st.takeLock(); err != nil {
		return nil, nil, err
	}
	bad, tail, err := st.readAll(time.Now())
	if err == nil {
		bad, err = st.openForAppend(tail, bad)
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, bad, nil
}

// Close closes the results file and releases its lock; a store opened with OpenStore has neither.
func (s *Store) Close() error {
	var err error
	if s.out != nil {
		err = s.out.Close()
		s.out = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// lockName is the name of the lock file of the results file name.
func lockName(name string) string { return "." + name + ".lock" }

// errLocked says that another open file holds a lock; errNoLocks that the file system has no locks.
var (
	errLocked  = errors.New("locked")
	errNoLocks = errors.New("the file system does not support locks")
)

// takeLock locks the lock file of s.File and writes this process's PID and host into it.
func (s *Store) takeLock() error {
	path := filepath.Join(s.Dir, s.File)
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file (%s): nnsweep appends its results there; move it away, or give the run another --out", path, fileKind(fi))
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, lockName(s.File)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	switch err := lockRetrying(f); {
	case errors.Is(err, errNoLocks):
		s.Unlocked = fmt.Sprintf("%s cannot be locked (%v): make sure that no other run writes it at the same time", path, err)
		s.lock = f
		return nil
	case errors.Is(err, errLocked):
		holder := lockHolder(f.Name())
		f.Close()
		return fmt.Errorf("%s is already in use by %s: another `nnsweep run` is writing the same results file; wait for it to end, or give this run another --out (the shards of one sweep each write their own file: --shard I/N)", path, holder)
	case err != nil:
		f.Close()
		return fmt.Errorf("locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	f.WriteAt([]byte(strings.TrimSpace(fmt.Sprintf("%d %s", os.Getpid(), host))+"\n"), 0)
	s.lock = f
	return nil
}

// lockRetrying is lockFile, tried again for up to half a second while the lock file names this
// process as its holder: a child process that this process starts (os/exec) holds a copy of every
// open file between its fork and its exec, and with it, for that moment, a lock this process has
// just released. A lock another process holds is reported at once.
func lockRetrying(f *os.File) error {
	err := lockFile(f)
	self := strconv.Itoa(os.Getpid())
	for i := 0; i < 50 && errors.Is(err, errLocked); i++ {
		if b, _ := os.ReadFile(f.Name()); len(bytes.Fields(b)) == 0 || string(bytes.Fields(b)[0]) != self {
			break
		}
		time.Sleep(10 * time.Millisecond)
		err = lockFile(f)
	}
	return err
}

// lockHolder reads who holds the lock file at path: "PID 123 on host", or "another process" when
// the file does not say. The holder writes it just after taking the lock, so an empty file is read
// again a few times.
func lockHolder(path string) string {
	for range 20 {
		if b, _ := os.ReadFile(path); len(bytes.Fields(b)) > 0 {
			return "PID " + strings.Join(strings.Fields(string(b)), " on ")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "another process"
}

// fileKind names what a file that is not a regular file is.
func fileKind(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// tornTail describes the end of the store's own file as read: End is the offset just past its last
// complete line, and Torn says that bytes follow End which are not a whole record.
type tornTail struct {
	End  int64
	Size int64
	Torn bool
	Line int
}

// openForAppend opens s.File for appending after readAll read it. A torn last line is cut off
// (and reported in bad); a last record without its line feed gets one.
func (s *Store) openForAppend(tail tornTail, bad []CorruptLine) ([]CorruptLine, error) {
	path := filepath.Join(s.Dir, s.File)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return bad, err
	}
	s.out, s.size = f, tail.Size
	switch {
	case tail.Torn:
		if err := f.Truncate(tail.End); err != nil {
			return bad, fmt.Errorf("removing the torn last line of %s: %w", path, err)
		}
		s.size = tail.End
		for i := range bad {
			if bad[i].File == path && bad[i].Line == tail.Line {
				bad[i].Err = fmt.Errorf("%w; removed from the file", bad[i].Err)
			}
		}
	case tail.End < tail.Size: // a whole record without its line feed (written by hand)
		if _, err := f.Write([]byte("\n")); err != nil {
			return bad, err
		}
		s.size++
	}
	return bad, f.Sync()
}

// readAll reads every results file of s.Dir, skipping and returning the lines that are not valid
// records, and says how the store's own file ends.
func (s *Store) readAll(now time.Time) ([]CorruptLine, tornTail, error) {
	files, err := ResultsFiles(s.Dir)
	if err != nil {
		return nil, tornTail{}, err
	}
	var bad []CorruptLine
	var own tornTail
	for _, name := range files {
		path := filepath.Join(s.Dir, name)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed between the listing and now
		}
		if err != nil {
			return nil, tornTail{}, err
		}
		tail, err := s.read(f, path, now, &bad)
		f.Close()
		if err != nil {
			return nil, tornTail{}, err
		}
		if name == s.File {
			own = tail
		} else {
			s.markRead(name, tail.End)
		}
	}
	return bad, own, nil
}

// read adds the valid records of the file f, at path, and appends its other lines to bad.
func (s *Store) read(f *os.File, path string, now time.Time, bad *[]CorruptLine) (tornTail, error) {
	var tail tornTail
	lr := lineReader{r: bufio.NewReaderSize(f, 64<<10), max: maxRecordLine}
	for line := 1; ; line++ {
		text, n, terminated, err := lr.next()
		if err == io.EOF {
			return tail, nil
		}
		if err != nil {
			return tail, fmt.Errorf("reading %s: %w", path, err)
		}
		tail.Size += n
		if terminated {
			tail.End = tail.Size
		}
		if text == nil {
			*bad = append(*bad, CorruptLine{path, line, fmt.Errorf("the line is longer than %d MiB", maxRecordLine>>20)})
			tail.Torn, tail.Line = !terminated, line
			continue
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		var r Record
		err = json.Unmarshal(text, &r)
		if err == nil {
			err = r.check(now)
		}
		if err != nil {
			if !terminated {
				err = fmt.Errorf("a torn last line, cut off when a process was killed while writing it (%v)", err)
			}
			*bad = append(*bad, CorruptLine{path, line, err})
			tail.Torn, tail.Line = !terminated, line
			continue
		}
		s.add(r)
	}
}

func (s *Store) markRead(name string, end int64) {
	if s.readTo == nil {
		s.readTo = map[string]int64{}
	}
	s.readTo[name] = end
}

// Refresh adds the records that other processes appended to the folder's other results files
// (the shards of a sweep) since the store read them, so a report made from the store's memory
// shows them too: it reads only the new whole lines, never a file again from its start unless the
// file was replaced by a shorter one. The store's own file needs no reading; its records are
// added as Append writes them. Lines that are not valid records are skipped here and reported
// when the folder is next opened.
func (s *Store) Refresh() error {
	files, err := ResultsFiles(s.Dir)
	if err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range files {
		if name == s.File && s.out != nil {
			continue
		}
		if err := s.refreshFile(name, now); err != nil {
			return err
		}
	}
	return nil
}

// refreshFile reads the whole lines appended to the results file name since readTo[name]; the
// caller holds s.mu.
func (s *Store) refreshFile(name string, now time.Time) error {
	path := filepath.Join(s.Dir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	off := s.readTo[name]
	if fi.Size() < off { // replaced by a shorter file: read it whole
		off = 0
	}
	if fi.Size() == off {
		return nil
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	lr := lineReader{r: bufio.NewReaderSize(f, 64<<10), max: maxRecordLine}
	for {
		text, n, terminated, err := lr.next()
		if err == io.EOF || !terminated { // a line still being written is read next time
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		off += n
		var r Record
		if text != nil && json.Unmarshal(bytes.TrimSpace(text), &r) == nil && r.check(now) == nil {
			s.add(r)
		}
	}
	s.markRead(name, off)
	return nil
}

// lineReader reads lines of at most max bytes; longer ones are skipped without being held.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its line feed (nil when it is longer than max), the number
// of bytes it takes in the file, and whether it ends with a line feed; io.EOF after the last.
func (lr *lineReader) next() (line []byte, n int64, terminated bool, err error) {
	lr.buf = lr.buf[:0]
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		n += int64(len(chunk))
		if !tooLong && len(lr.buf)+len(chunk) > lr.max+1 {
			tooLong, lr.buf = true, lr.buf[:0]
		}
		if !tooLong {
			lr.buf = append(lr.buf, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && n == 0:
			return nil, 0, false, io.EOF
		case err != nil && err != io.EOF:
			return nil, n, false, err
		}
		terminated = err == nil
		if tooLong {
			return nil, n, terminated, nil
		}
		return bytes.TrimSuffix(lr.buf, []byte("\n")), n, terminated, nil
	}
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

// Append adds r to the store's own file (File) as one line, synced to disk before it returns. A
// failed write is cut off again, so the file never keeps half a record.
func (s *Store) Append(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		panic("pipeline: Append on a Store that OpenStore opened for reading")
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	path := filepath.Join(s.Dir, s.File)
	if _, err := s.out.Write(append(line, '\n')); err != nil {
		s.out.Truncate(s.size)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := s.out.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	s.size += int64(len(line)) + 1
	s.add(r)
	return nil
}

// staleTempAge is the age after which a temporary file of an output folder is left over from a
// killed process: a live one is renamed within moments of its creation.
const staleTempAge = 15 * time.Minute

// staleTemp matches the temporary files that atomicfile.Write creates in an
// output folder; staleWeightsTemp those of its weights folder.
var (
	staleTemp        = regexp.MustCompile(`^\.(manifest\.json|report\.md|chart\.png|chart\.svg|results[a-z0-9-]*\.jsonl)\.[0-9]+\.tmp$`)
	staleWeightsTemp = regexp.MustCompile(`^\.[0-9a-f]+\.safetensors\.[0-9]+\.tmp$`)
)

// removeStaleTemps removes the temporary files of the output folder dir and of its weights folder
// that processes killed while writing left behind: those older than staleTempAge at now. It
// returns the names removed, relative to dir.
func removeStaleTemps(dir string, now time.Time) []string {
	removed := removeStale(dir, "", staleTemp, now)
	return append(removed, removeStale(dir, WeightsDir, staleWeightsTemp, now)...)
}

func removeStale(dir, sub string, names *regexp.Regexp, now time.Time) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, sub))
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !names.MatchString(e.Name()) {
			continue
		}
		name := filepath.Join(sub, e.Name())
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > staleTempAge && os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}
