package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is a place in a spec file. Line and Col are counted from 1; Col counts characters (Unicode
// code points, as the YAML parser does), so a tab is one column.
// The zero Pos means the place is unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as "file:line:col", omitting what is unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Path names a field of the spec in the user's notation, such as "models[0].layers[2].conv2d.filters".
// The empty Path is the document itself.
type Path string

// Child returns the path of the field name below p.
func (p Path) Child(name string) Path {
	if p == "" {
		return Path(name)
	}
	return p + "." + Path(name)
}

// Index returns the path of element i (0-based) of the list at p.
func (p Path) Index(i int) Path { return p + "[" + Path(strconv.Itoa(i)) + "]" }

// Error is one problem in a spec: where it is, which field, what is wrong and how to fix it.
type Error struct {
	Pos     Pos
	Path    Path
	Problem string
	// Fix tells the user what to write instead; it may be empty when the problem says it all.
	Fix string
}

// Error formats e as "file:line:col: path: problem; fix".
func (e *Error) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(string(e.Path))
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// ErrorList collects every problem of a file, in file order once sorted.
type ErrorList []*Error

// Error prints the first error and how many more there are; use Lines for all of them.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	case 2:
		return l[0].Error() + " (and 1 more error)"
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Lines returns every error, one per line, without a trailing newline.
func (l ErrorList) Lines() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Sort orders the errors by file position, then path, and drops exact duplicates.
func (l *ErrorList) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i].Pos, s[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return s[i].Path < s[j].Path
	})
	out := s[:0]
	for i, e := range s {
		if i > 0 && e.Error() == s[i-1].Error() {
			continue
		}
		out = append(out, e)
	}
	*l = out
}
