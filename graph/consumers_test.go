package graph

import "testing"

// TestSubgraphOutputReads: a branch whose output is a value of the scope
// around it (no node of the branch reads it) reads that value: Consumers
// lists the read, by the node owning the branch at index -1, and
// SortTopological puts the value's producer before that node.
func TestSubgraphOutputReads(t *testing.T) {
	branch := func(out string) *Attribute {
		return &Attribute{Name: "then_branch", Type: AttrGraph, G: &Graph{Outputs: []*ValueInfo{{Name: out}}}}
	}
	iff := &Node{Name: "if", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"o"}, Attrs: []*Attribute{branch("r")}}
	relu := &Node{Name: "relu", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}}
	g := &Graph{Nodes: []*Node{iff, relu}}
	uses := g.Consumers()["r"]
	if len(uses) != 1 || uses[0].Node != iff || uses[0].Index != -1 {
		t.Fatalf("uses of r: %v, want the If at index -1", uses)
	}
	if err := g.SortTopological(); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0] != relu {
		t.Fatalf("order %s, %s: want relu first", g.Nodes[0].Name, g.Nodes[1].Name)
	}
}
