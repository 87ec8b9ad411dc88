package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestUnsupportedOps: one error, before anything is compiled, naming every
// unsupported op with its nodes.
func TestUnsupportedOps(t *testing.T) {
	g := &graph.Graph{Nodes: []*graph.Node{
		{Name: "/a/Foo", OpType: "Foo", Outputs: []string{"a"}},
		{Name: "/b/Relu", OpType: "Relu", Inputs: []string{"a"}, Outputs: []string{"b"}},
		{Name: "/c/Foo", OpType: "Foo", Inputs: []string{"b"}, Outputs: []string{"c"}},
		{Name: "/d/Bar", OpType: "Bar", Domain: "com.example", Inputs: []string{"c"}, Outputs: []string{"d"}},
	}}
	m := &graph.Model{Opsets: []graph.Opset{{Version: 13}}, Graph: g}
	_, err := Compile(m, nil, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnsupportedError", err)
	}
	want := `unsupported ops: Foo ("/a/Foo", "/c/Foo"); com.example.Bar ("/d/Bar")`
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), "Relu") {
		t.Errorf("supported op listed: %v", err)
	}
}
