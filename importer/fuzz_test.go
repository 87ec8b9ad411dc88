package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
)

// FuzzLoad feeds the decoder mutated sample models (and the models with
// local functions of graph/testdata): it must never panic, whatever it
// accepts must export and load again, and inlining it must succeed or fail
// with one line.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "models", "*.onnx"))
	fns, _ := filepath.Glob(filepath.Join("..", "graph", "testdata", "functions*.onnx"))
	seeds = append(seeds, fns...)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := importer.Decode(b, importer.Options{})
		if err != nil {
			return
		}
		out, err := export.Encode(m)
		if err != nil {
			t.Fatalf("accepted model does not export: %v", err)
		}
		if _, err := importer.Decode(out, importer.Options{}); err != nil {
			t.Fatalf("exported model does not load again: %v", err)
		}
		// Calls of local functions inline, or fail with one line.
		if _, err := m.Inlined(); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("inlining error of several lines: %q", err)
		}
	})
}
