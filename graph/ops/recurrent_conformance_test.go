package ops_test

import (
	"os"
	"path/filepath"
	"testing"
)

// recurrentCases holds ONNX's node test cases of LSTM, GRU and RNN, which
// ../shared/onnx-node-tests lacks: models/make_recurrent.py writes them
// with onnx's own case generator (onnx.backend.test.case.node, whose
// expected outputs come from ONNX's reference implementation), in the
// same layout.
const recurrentCases = "testdata/recurrent"

// TestRecurrentConformance runs every case of recurrentCases as
// TestConformance runs ONNX's: all must pass.
func TestRecurrentConformance(t *testing.T) {
	dirs, err := os.ReadDir(recurrentCases)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		t.Run(d.Name(), func(t *testing.T) {
			if res := runCase(filepath.Join(recurrentCases, d.Name())); res.err != nil {
				t.Errorf("%s (%s): %v", res.name, res.op, res.err)
			}
		})
	}
	if n < 18 {
		t.Errorf("%d cases in %s, want ONNX's 18", n, recurrentCases)
	}
}
