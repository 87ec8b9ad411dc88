package main

import (
	"fmt"
	"io"
	"os"

	"github.com/onnxtune/onnxtune/graph"
)

// maxConfigBytes bounds the size of a --config file.
const maxConfigBytes = 1 << 20

// readConfig reads the --config file at path: a regular file (a FIFO
// would block, /dev/zero would never end) of at most maxConfigBytes, both
// checked before it is read.
func readConfig(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--config %s: not a regular file (%s)", path, fileKind(st.Mode()))
	}
	tooBig := func(n int64) error {
		return fmt.Errorf("--config %s: a file of %s, over the limit of %s for a settings file", path, graph.FormatBytes(n), graph.FormatBytes(maxConfigBytes))
	}
	if st.Size() > maxConfigBytes {
		return nil, tooBig(st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	// The file may have grown since: read one byte past the limit at most.
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if len(b) > maxConfigBytes {
		return nil, tooBig(int64(len(b)))
	}
	return b, nil
}
