package remap

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// ToInference turns a training-mode export into the inference model it
// stands for, node by node with the inference rewrite each op declares in
// the engine's registry (graph/ops: BatchNormalization keeps only its first
// output, so it uses running statistics, and loses training_mode; Dropout
// loses its training_mode input, so it passes values through). Constants
// that only fed what was removed go too. It returns how many nodes changed;
// m.Params follows the change (graph.Model.Edit). A model already in
// inference form is left as it is. Every node is checked before any
// changes: when one refuses (the graph reads a BatchNormalization's running
// statistics), it is an error and nothing changes. Float master copies of
// a quantized model's weights are written back as the integers they were
// first (QuantizeMasters).
func ToInference(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, fmt.Errorf("remap: to inference: nil model")
	}
	if _, err := QuantizeMasters(m); err != nil {
		return 0, err
	}
	g := m.Graph
	used := g.Consumers()
	outputs := make(map[string]bool)
	for _, o := range g.Outputs {
		outputs[o.Name] = true
	}
	read := func(v string) bool { return len(used[v]) > 0 || outputs[v] }
	reg := ops.NewRegistry()
	var apply []func() []string
	for _, n := range g.Nodes {
		rewrite := reg.Inference(n)
		if rewrite == nil {
			continue
		}
		a, err := rewrite(n, read)
		if err != nil {
			return 0, fmt.Errorf("remap: to inference: node %s: %w", n, err)
		}
		if a != nil {
			apply = append(apply, a)
		}
	}
	if len(apply) == 0 {
		return 0, nil
	}
	return len(apply), m.Edit(func(g *graph.Graph) error {
		var detached []string
		for _, a := range apply {
			detached = append(detached, a()...)
		}
		removeDead(g, detached)
		return nil
	})
}

// removeDead removes what produced the values in names, if nothing else reads
// them: initializers, and nodes (then, in turn, what only they read). Graph
// inputs and outputs stay.
func removeDead(g *graph.Graph, names []string) {
	for len(names) > 0 {
		used := g.Consumers()
		outputs := make(map[string]bool)
		for _, o := range g.Outputs {
			outputs[o.Name] = true
		}
		var next []string
		for _, name := range names {
			if len(used[name]) > 0 || outputs[name] {
				continue
			}
			kept := g.Initializers[:0]
			for _, t := range g.Initializers {
				if t.Name != name || g.Input(name) != nil {
					kept = append(kept, t)
				}
			}
			g.Initializers = kept
			nodes := g.Nodes[:0]
			for _, n := range g.Nodes {
				dead := len(n.Outputs) > 0
				for _, o := range n.Outputs {
					if o != name && (o != "" && (len(used[o]) > 0 || outputs[o])) {
						dead = false
					}
				}
				if dead && contains(n.Outputs, name) {
					next = append(next, n.Inputs...)
					continue
				}
				nodes = append(nodes, n)
			}
			g.Nodes = nodes
		}
		names = next
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Converted counts what Convert changed.
type Converted struct {
	InferenceNodes int // nodes turned into their inference form
	Untied         int // parameters given their own tensor
	Renamed        int // initializers renamed to PyTorch names
}

// Convert does what 'onnxtune convert' does to a model: ToInference, then
// Untie, then Rename. It stops at the first error, which names the step.
func Convert(m *graph.Model) (Converted, error) {
	var c Converted
	var err error
	if c.InferenceNodes, err = ToInference(m); err != nil {
		return c, err
	}
	if c.Untied, err = Untie(m); err != nil {
		return c, err
	}
	c.Renamed, err = Rename(m)
	return c, err
}
