package dataset

import "errors"

// Role says which file of a data set a problem belongs to, so that callers can point at the
// setting that names it.
type Role int

// The roles of a data set's files. Whole is the data set as a whole: a built-in set, a CIFAR-10
// folder, or a problem no single file owns.
const (
	Whole Role = iota
	TrainImages
	TrainLabels
	TestImages
	TestLabels
)

// FileError is a problem with one file of a data set. Its message names the file.
type FileError struct {
	Role Role
	Err  error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Problems splits an error returned by Load, Describe and the other readers of this package into
// its problems, each with the role of the file at fault (Whole when it is not known).
func Problems(err error) []*FileError {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FileError
		for _, e := range joined.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return []*FileError{fe}
	}
	return []*FileError{{Role: Whole, Err: err}}
}

// inRole tags err with role unless it is nil or already tagged.
func inRole(role Role, err error) error {
	var fe *FileError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	return &FileError{Role: role, Err: err}
}
