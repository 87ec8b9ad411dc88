package importer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnxtune/onnxtune/graph"
)

// ErrExternal reports external data that cannot be read safely.
var ErrExternal = errors.New("external data")

// externalReader reads tensors stored in side files, relative to dir. It
// keeps files open across tensors and closes them in close.
type externalReader struct {
	dir   string
	files map[string]*os.File
}

func newExternalReader(dir string) *externalReader {
	return &externalReader{dir: dir, files: make(map[string]*os.File)}
}

func (r *externalReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}

// read returns want bytes of the tensor described by entries (location,
// offset, length), refusing locations outside dir.
func (r *externalReader) read(entries []graph.StringPair, want int64) ([]byte, error) {
	var loc string
	var off, length int64 = 0, -1
	for _, e := range entries {
		var err error
		switch e.Key {
		case "location":
			loc = e.Value
		case "offset":
			off, err = strconv.ParseInt(e.Value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(e.Value, 10, 64)
		}
		if err != nil || off < 0 || e.Key == "length" && length < 0 {
			return nil, fmt.Errorf("%w: bad %s %q", ErrExternal, e.Key, e.Value)
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("%w: no location", ErrExternal)
	}
	if filepath.IsAbs(loc) || !filepath.IsLocal(filepath.FromSlash(loc)) {
		return nil, fmt.Errorf("%w: location %q leaves the model's folder", ErrExternal, loc)
	}
	f, err := r.open(loc)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrExternal, loc, err)
	}
	if length < 0 {
		length = st.Size() - off
	}
	if length != want {
		return nil, fmt.Errorf("%w: %s: length %d, tensor needs %d bytes", ErrExternal, loc, length, want)
	}
	if off > st.Size() || length > st.Size()-off {
		// off+length may overflow int64: say both.
		return nil, fmt.Errorf("%w: %s: offset %d + length %d is past its end (size %d)", ErrExternal, loc, off, length, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("%w: %s: %w", ErrExternal, loc, err)
	}
	return buf, nil
}

func (r *externalReader) open(loc string) (*os.File, error) {
	if f, ok := r.files[loc]; ok {
		return f, nil
	}
	path := filepath.Join(r.dir, filepath.FromSlash(loc))
	// A link inside the folder may still point out of it.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrExternal, loc, err)
	}
	base, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExternal, err)
	}
	if rel, err := filepath.Rel(base, real); err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("%w: location %q resolves outside the model's folder", ErrExternal, loc)
	}
	f, _, err := openRegular(real, loc, "a file of tensor data")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExternal, err)
	}
	r.files[loc] = f
	return f, nil
}
