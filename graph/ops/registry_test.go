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

// TestInferenceRewrites: the descriptors' inference rewrites, checked
// before applied: BatchNormalization drops its statistics outputs and
// training_mode (refused when they are read), Dropout its training_mode
// input and is_test=0; other ops have none.
func TestInferenceRewrites(t *testing.T) {
	reg := NewRegistry()
	none := func(string) bool { return false }
	bn := &graph.Node{Name: "bn", OpType: "BatchNormalization", Outputs: []string{"y", "rm", "rv"},
		Attrs: []*graph.Attribute{attrInt("training_mode", 1), attrFloat("epsilon", 1e-5)}}
	if _, err := reg.Inference(bn)(bn, func(v string) bool { return v == "rm" }); err == nil {
		t.Error("BatchNormalization with its running mean read: no error")
	}
	apply, err := reg.Inference(bn)(bn, none)
	if err != nil || apply == nil {
		t.Fatalf("BatchNormalization: apply %v, err %v", apply != nil, err)
	}
	if d := apply(); len(d) != 0 || len(bn.Outputs) != 1 || bn.Attr("training_mode") != nil || bn.Attr("epsilon") == nil {
		t.Errorf("BatchNormalization after: outputs %v, attrs %d, detached %v", bn.Outputs, len(bn.Attrs), d)
	}
	if apply, _ := reg.Inference(bn)(bn, none); apply != nil {
		t.Error("BatchNormalization in inference form: rewritten again")
	}
	dr := &graph.Node{Name: "dr", OpType: "Dropout", Inputs: []string{"x", "ratio", "tm"}, Outputs: []string{"y"}}
	apply, err = reg.Inference(dr)(dr, none)
	if err != nil || apply == nil {
		t.Fatalf("Dropout: apply %v, err %v", apply != nil, err)
	}
	if d := apply(); len(d) != 1 || d[0] != "tm" || len(dr.Inputs) != 2 {
		t.Errorf("Dropout after: inputs %v, detached %v", dr.Inputs, d)
	}
	if f := reg.Inference(&graph.Node{OpType: "Conv"}); f != nil {
		t.Error("Conv has an inference rewrite")
	}
}

// TestInferenceRewriteNoOutputs: a BatchNormalization of a hostile file
// with no outputs is an error of the rewrite, not a panic when applied.
func TestInferenceRewriteNoOutputs(t *testing.T) {
	reg := NewRegistry()
	bn := &graph.Node{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "s", "b", "m", "v"},
		Attrs: []*graph.Attribute{attrInt("training_mode", 1)}}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		var apply func() []string
		apply, err = reg.Inference(bn)(bn, func(string) bool { return false })
		if apply != nil {
			apply()
		}
	}()
	if err == nil || !strings.Contains(err.Error(), "no output") {
		t.Errorf("error %v, want one saying the node has no output", err)
	}
}
