package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
)

// TestRunNoOutput: a model whose graph declares no output (the ONNX checker
// and ONNX Runtime load one) gives run nothing to compute: it exits 1 in
// one line, as eval and train do, instead of printing an empty table,
// "predictions": null and writing an empty -o archive.
func TestRunNoOutput(t *testing.T) {
	dir := t.TempDir()
	m, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Outputs = nil
	model := filepath.Join(dir, "noout.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npz")
	for _, extra := range [][]string{nil, {"--json"}, {"-o", out}} {
		code, stdout, stderr := runCLI(append([]string{"run", model, "--data", metricsData}, extra...)...)
		want := "onnxtune: " + model + ": the model has no output\n"
		if code != exitError || stderr != want || stdout != "" {
			t.Errorf("run %v: exit %d, stdout %q, stderr %q; want exit %d and %q", extra, code, stdout, stderr, exitError, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o: %v, want no file written", err)
	}
}
