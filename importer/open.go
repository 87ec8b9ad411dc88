package importer

import (
	"errors"
	"fmt"
	"os"

	"github.com/onnxtune/onnxtune/internal/fsx"
)

// openRegular opens path for reading if it is a regular file, refusing
// anything else without blocking (fsx.OpenRegular). name is how errors call
// the file, want what it should be ("an .onnx file").
func openRegular(path, name, want string) (*os.File, os.FileInfo, error) {
	f, st, err := fsx.OpenRegular(path)
	if nr := (*fsx.NotRegularError)(nil); errors.As(err, &nr) {
		if nr.Mode.IsDir() {
			return nil, nil, fmt.Errorf("%s is a folder, not %s", name, want)
		}
		return nil, nil, fmt.Errorf("%s is %w", name, nr)
	}
	return f, st, err
}
