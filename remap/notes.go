package remap

import (
	"fmt"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// FusedBatchNorm returns a one-line warning when m is an eval-mode export
// whose BatchNorm layers the exporter folded into the Conv before them, or
// "" otherwise. Such a model trains, but what trains is the folded weight,
// not PyTorch's Conv and BatchNorm: the user who wants PyTorch's
// fine-tuning should export in training or preserve mode. It looks for
// Conv nodes the dynamo exporter marks as fused (node metadata
// pkg.onnxscript.rewriter.rule_name = FuseBatchNormIntoConv) or, in a
// TorchScript export, Conv weights and biases the exporter had to name
// anew ("onnx::Conv_12") in a graph with no BatchNormalization.
func FusedBatchNorm(m *graph.Model) string {
	if m == nil || m.Graph == nil {
		return ""
	}
	g := m.Graph
	for _, n := range g.Nodes {
		if n.OpType == "BatchNormalization" {
			return ""
		}
	}
	var fused []string
	for _, n := range g.Nodes {
		if n.OpType != "Conv" {
			continue
		}
		marked := false
		for _, p := range n.Metadata {
			if p.Key == "pkg.onnxscript.rewriter.rule_name" && strings.Contains(p.Value, "FuseBatchNorm") {
				marked = true
			}
		}
		if !marked && len(n.Inputs) > 2 && n.Inputs[2] != "" && !graph.IsStateDictName(n.Inputs[1]) && !graph.IsStateDictName(n.Inputs[2]) &&
			g.Initializer(n.Inputs[1]) != nil && g.Initializer(n.Inputs[2]) != nil && graph.ExportSignature(g) == nil {
			marked = true
		}
		if marked {
			fused = append(fused, n.Name)
		}
	}
	if len(fused) == 0 {
		return ""
	}
	how := "export with training=torch.onnx.TrainingMode.PRESERVE and do_constant_folding=False"
	if graph.ExportSignature(g) != nil {
		how = "export with torch.onnx.export(..., dynamo=True, optimize=False)" // the optimizer's FuseBatchNormIntoConv
	}
	return fmt.Sprintf("BatchNorm is folded into %d Conv layers of this eval export (%s): training changes the folded weights, "+
		"not PyTorch's Conv and BatchNorm; to fine-tune as PyTorch does, %s", len(fused), firstOf(fused), how)
}

// firstOf lists up to two names, then how many more.
func firstOf(names []string) string {
	if len(names) <= 2 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, %s and %d more", names[0], names[1], len(names)-2)
}

// SoftmaxOutput returns a one-line warning when m's first output is a
// Softmax's (a classifier exported with its probabilities), or "": a
// cross-entropy over it (PyTorch's nn.CrossEntropyLoss, which applies
// log-softmax itself, as train does) scores probabilities as if they were
// logits, and its gradients are small and flat. LogSoftmax is not flagged:
// log-softmax of log-probabilities gives them back.
func SoftmaxOutput(m *graph.Model) string {
	if m == nil || m.Graph == nil || len(m.Graph.Outputs) == 0 {
		return ""
	}
	out := m.Graph.Outputs[0].Name
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Softmax" && (n.Domain == "" || n.Domain == "ai.onnx") && len(n.Outputs) > 0 && n.Outputs[0] == out {
			return fmt.Sprintf("the model's output %q is a Softmax's (node %q): cross-entropy takes logits and applies log-softmax itself, "+
				"so training on these probabilities learns slowly; export the model without its final Softmax", out, n.Name)
		}
	}
	return ""
}
