package data

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/onnxtune/onnxtune/internal/fsx"
)

// openRegular opens path for reading if it is a regular file, refusing
// anything else without blocking (fsx.OpenRegular); errors are *FileError.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, st, err := fsx.OpenRegular(path)
	if err != nil {
		return nil, nil, &FileError{Path: path, Err: errors.Unwrap(err)}
	}
	return f, st, nil
}

// readN reads exactly n bytes from r, or fewer if r ends first. The buffer
// grows with the data actually read, never past n: a stream that claims
// much and holds little costs little.
func readN(r io.Reader, n int64) ([]byte, error) {
	const first = 64 << 10
	buf := make([]byte, 0, min(n, first))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
