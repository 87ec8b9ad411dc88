package remap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
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

// TestSoftmaxOutput: a classifier whose first output is a Softmax's is
// named (the Softmax made last here, and a real export whose graph ends in
// one, when the shared files are there); LeNet's logits and a LogSoftmax
// are not.
func TestSoftmaxOutput(t *testing.T) {
	m := load(t, sample("lenet.onnx"))
	if w := remap.SoftmaxOutput(m); w != "" {
		t.Errorf("lenet.onnx: %q, want none", w)
	}
	logits := m.Graph.Outputs[0].Name
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		m := load(t, sample("lenet.onnx"))
		g := m.Graph
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/probs", OpType: op, Inputs: []string{logits}, Outputs: []string{"probs"}})
		g.Outputs[0].Name = "probs"
		w := remap.SoftmaxOutput(m)
		if want := op == "Softmax"; (w != "") != want || (want && !strings.Contains(w, `"/probs"`)) {
			t.Errorf("%s last: %q, want a warning %v naming the node", op, w, want)
		}
	}
	real := filepath.Join("..", "..", "shared", "realworld", "fpgai_cifar_small_cnn.onnx")
	if _, err := os.Stat(real); err != nil {
		t.Logf("%s not here: the real export is not checked", real)
		return
	}
	if w := remap.SoftmaxOutput(load(t, real)); w == "" {
		t.Errorf("%s ends in a Softmax: no warning", real)
	}
}
