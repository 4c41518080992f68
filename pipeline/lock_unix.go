//go:build unix

package pipeline

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f (flock(2)) without waiting, held until f is
// closed; it returns errLocked when another open file holds the lock, in this process or
// another. On Linux, NFS emulates flock with byte-range locks, so the lock holds across the nodes
// that mount a shared folder.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return errLocked
	case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
		return errNoLocks // e.g. NFS mounted with nolock
	}
	return err
}
