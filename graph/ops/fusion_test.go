package ops

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// fusionChain is x -> Conv(w, b) -> Relu -> Add(skip) -> Relu -> Add(bias,
// broadcast) -> Relu, with extra graph outputs when exposed (which keeps
// every Relu a node of its own).
func fusionChain(exposed bool) (*graph.Model, map[string][]int, []arg) {
	args := []arg{
		{Name: "x", Value: randF64(1, -1, 1, 2, 3, 5, 5)},
		{Name: "skip", Value: randF64(2, -1, 1, 2, 4, 5, 5)},
		{Name: "w", Value: randF64(3, -1, 1, 4, 3, 3, 3), Const: true},
		{Name: "b", Value: randF64(4, -1, 1, 4), Const: true},
		{Name: "c", Value: randF64(5, -1, 1, 5), Const: true},
	}
	nodes := []*graph.Node{
		{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y1"},
			Attrs: []*graph.Attribute{attrInts("pads", 1, 1, 1, 1)}},
		{Name: "relu1", OpType: "Relu", Inputs: []string{"y1"}, Outputs: []string{"r1"}},
		{Name: "add", OpType: "Add", Inputs: []string{"r1", "skip"}, Outputs: []string{"y2"}},
		{Name: "relu2", OpType: "Relu", Inputs: []string{"y2"}, Outputs: []string{"r2"}},
		{Name: "bias", OpType: "Add", Inputs: []string{"r2", "c"}, Outputs: []string{"y3"}},
		{Name: "relu3", OpType: "Relu", Inputs: []string{"y3"}, Outputs: []string{"r3"}},
	}
	outs := []string{"r3"}
	if exposed {
		outs = append(outs, "y1", "y2", "y3")
	}
	m, shapes := chainModel(13, args, nodes, outs...)
	return m, shapes, args
}

// TestReluFusion: Conv+Relu and same-shape Add+Relu run as
// one kernel each (a broadcasting Add is a candidate but keeps its Relu), with the same
// result as the unfused chain, and the fused kernels differentiate.
func TestReluFusion(t *testing.T) {
	fm, shapes, args := fusionChain(false)
	if f := reluFusions(fm.Graph, NewRegistry()); len(f) != 6 {
		t.Errorf("reluFusions found %d candidates, want 6 (both Adds, the Conv and their Relus)", len(f))
	}
	um, _, _ := fusionChain(true)
	if f := reluFusions(um.Graph, NewRegistry()); len(f) != 0 {
		t.Errorf("reluFusions fused %d nodes whose output is a graph output", len(f))
	}
	in := map[string]*tensor.Dense{"x": args[0].Value, "skip": args[1].Value}
	var results [2][]float64
	for i, m := range []*graph.Model{fm, um} {
		p, err := Compile(m, shapes, Options{})
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]int{}
		for _, n := range p.Graph.AllNodes() {
			if n.Op() != nil {
				labels[kernelName(n.Op().String())]++
			}
		}
		fused := labels["ConvRelu"] == 1 && labels["AddRelu"] == 1 && labels["Relu"] == 1
		if fused != (i == 0) {
			t.Errorf("model %d: ops %v", i, labels)
		}
		outs, err := p.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		results[i], _ = Data[float64](outs[0])
		p.Close()
	}
	for j := range results[0] {
		if results[0][j] != results[1][j] {
			t.Fatalf("element %d: fused %v, unfused %v", j, results[0][j], results[1][j])
		}
	}
	gradCheckModel(t, fm, shapes, args[:2])
	// Training programs fuse too (the gradient check above runs through
	// the fused kernels' gradients).
	p, err := Compile(fm, shapes, Options{Train: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n := 0
	for _, node := range p.Graph.AllNodes() {
		if node.Op() != nil && (kernelName(node.Op().String()) == "ConvRelu" || kernelName(node.Op().String()) == "AddRelu") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("training program has %d fused kernels, want 2", n)
	}
}

// kernelName is the label of a kernelOp's String ("Conv[key]" -> "Conv").
func kernelName(s string) string {
	for i := range s {
		if s[i] == '[' {
			return s[:i]
		}
	}
	return s
}
