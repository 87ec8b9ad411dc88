// Package fsx holds the file checks that the readers and writers of the
// module share: what kind of file a path is, and opening a path for reading
// only when it is a regular file, without blocking on anything else (a FIFO
// blocks an open until a writer comes; a device never ends).
//
// It imports nothing of the module, so that every package may use it.
// Errors are *fs.PathError values naming the path, one line each.
package fsx

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// ErrChanged says that the file opened is not the one that was checked: the
// path was replaced between the check and the open.
var ErrChanged = errors.New("changed while it was opened")

// NotRegularError says that a path is not a regular file; Mode is its mode.
type NotRegularError struct {
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string { return "not a regular file (" + Kind(e.Mode) + ")" }

// Kind names the type of a file mode that is not a regular file: "a
// folder", "a FIFO", "a socket", "a character device", "a device", or
// "mode " and the type bits.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// OpenRegular opens path for reading if it is a regular file: it stats the
// path first, opens it without waiting for a writer, and checks that what
// it opened is that regular file. It returns the file and its FileInfo.
// Every error is an *fs.PathError for path with Op "open", wrapping the
// system's error, a *NotRegularError or ErrChanged.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	fail := func(err error) (*os.File, fs.FileInfo, error) {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	st, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	if !st.Mode().IsRegular() {
		return fail(&NotRegularError{Mode: st.Mode()})
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fail(err)
	}
	opened, err := f.Stat()
	switch {
	case err != nil:
	case !opened.Mode().IsRegular():
		err = &NotRegularError{Mode: opened.Mode()}
	case !os.SameFile(st, opened):
		err = ErrChanged
	}
	if err != nil {
		f.Close()
		return fail(err)
	}
	return f, opened, nil
}
