package fsx

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes path atomically: fill writes a temporary file in
// path's folder, which is synced and renamed onto path only when fill and
// the writes succeed (else it is removed and path is left as it was).
func WriteFile(path string, fill func(io.Writer) error) error {
	f, err := CreateTemp(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	return Commit(f, path)
}

// CreateTemp creates the temporary file that Commit renames onto path,
// in path's folder.
func CreateTemp(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
}

// Commit syncs and closes f, a file of CreateTemp(path), and renames it
// onto path; on an error f is removed.
func Commit(f *os.File, path string) error {
	err := f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
