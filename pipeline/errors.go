package pipeline

import (
	"context"
	"errors"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// Exit codes, in ranges as go-task does: 0 success, 1 a failure while working, 2 bad usage
// (flags, arguments), 3 an invalid spec or data set, 130 interrupted (as a shell reports SIGINT).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInvalid     = 3
	ExitInterrupted = 130
)

// InvalidError reports problems in the user's input: every error of every spec file.
type InvalidError struct {
	Errors spec.ErrorList
}

func (e *InvalidError) Error() string { return e.Errors.Lines() }

// UsageError reports a bad flag or argument value.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ExitCode maps an error returned by this package to the process's exit status.
func ExitCode(err error) int {
	var invalid *InvalidError
	var usage *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &invalid):
		return ExitInvalid
	case errors.As(err, &usage):
		return ExitUsage
	case errors.Is(err, runner.ErrInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailure
}
