package remap_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/remap"
)

// TestFusedBatchNorm: eval exports of a Conv+BatchNorm model by PyTorch 1.13
// (TorchScript) and 2.14 (dynamo) are named as folded; the preserve export
// and a model without BatchNorm are not.
func TestFusedBatchNorm(t *testing.T) {
	for _, c := range []struct {
		path  string
		fused bool
	}{
		{sample("bn_cnn_eval.onnx"), true},
		{filepath.Join("..", "models", "batch", "view_cnn_dynamo.onnx"), true},
		{filepath.Join("..", "models", "batch", "view_cnn_ts.onnx"), true},
		{sample("bn_cnn_preserve.onnx"), false},
		{sample("bn_cnn_training.onnx"), false},
		{sample("lenet.onnx"), false},
		{sample("transformer_op17.onnx"), false},
	} {
		w := remap.FusedBatchNorm(load(t, c.path))
		if (w != "") != c.fused || (c.fused && !strings.Contains(w, "BatchNorm is folded into")) {
			t.Errorf("%s: %q, want fused=%v", c.path, w, c.fused)
		}
	}
}
