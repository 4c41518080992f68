// Package atomicfile replaces files so that a reader sees the old content or the new, never a
// part: through a synced temporary file in the same folder, renamed over the old one. It imports
// only the standard library, so every package may use it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, creating its folder if needed. The temporary file is named
// ".<base>.<random>.tmp" (so a cleaner can recognise one left by a killed process), gets mode
// 0644 (other users of a shared folder read it) and is synced before the rename, and the folder
// after it. On an error the temporary file is removed and path is left as it was.
func Write(path string, data []byte) error {
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
		err = f.Chmod(0o644) // CreateTemp makes it 0600
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
