package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openRegular opens path for reading, refusing without blocking anything
// that is not a regular file (a FIFO would block until a writer comes, a
// device never ends): it stats the path first, opens it without waiting
// for a writer, and checks that what it opened is that regular file. name
// is how errors call the file, want what it should be ("an .onnx file").
func openRegular(path, name, want string) (*os.File, os.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open" // what the caller asked for
		}
		return nil, nil, err
	}
	if err := notRegular(name, want, st); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	opened, err := f.Stat()
	if err == nil {
		err = notRegular(name, want, opened)
	}
	if err == nil && !os.SameFile(st, opened) {
		err = fmt.Errorf("%s changed while it was opened", name)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, opened, nil
}

// notRegular returns an error naming what st is when it is not a regular
// file.
func notRegular(name, want string, st os.FileInfo) error {
	m := st.Mode()
	var kind string
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%s is a folder, not %s", name, want)
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe"
	case m&os.ModeDevice != 0:
		kind = "a device"
	case m&os.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "mode " + m.Type().String()
	}
	return fmt.Errorf("%s is not a regular file (%s)", name, kind)
}
