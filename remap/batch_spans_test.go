package remap

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// wholeRun runs m compiled whole, every node output made a graph output (as
// the proof ran before it went span by span), and returns them by name.
func wholeRun(t *testing.T, m *graph.Model, inputs map[string]*tensor.Dense) map[string]*tensor.Dense {
	t.Helper()
	g := *m.Graph
	g.Outputs = nil
	seen := make(map[string]bool)
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			if o != "" && !seen[o] {
				seen[o] = true
				g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: o})
			}
		}
	}
	cm := *m
	cm.Graph = &g
	shapes := make(map[string][]int)
	for k, v := range inputs {
		shapes[k] = ops.Shape(v)
	}
	p, err := ops.Compile(&cm, shapes, ops.Options{})
	if err != nil {
		t.Fatalf("whole: %v", err)
	}
	defer p.Close()
	outs, err := p.Run(inputs)
	if err != nil {
		t.Fatalf("whole: %v", err)
	}
	got := make(map[string]*tensor.Dense)
	for i, o := range outs {
		got[g.Outputs[i].Name] = o
	}
	return got
}

// spansRun runs m span by span, spans of size nodes, and returns every
// node output by name.
func spansRun(m *graph.Model, inputs map[string]*tensor.Dense, size int) (map[string]*tensor.Dense, error) {
	defer func(n int) { spanNodes = n }(spanNodes)
	spanNodes = size
	plan := exportedSpans(m.Graph)
	run := newSpanRun(plan, m, inputs, 0)
	all := make(map[string]*tensor.Dense)
	for range plan.spans {
		got, _, err := run.run()
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			all[k] = v
		}
	}
	return all, nil
}

// sameValues reports the first value of want that got lacks or holds
// other bits (NaNs equal), or "".
func sameValues(want, got map[string]*tensor.Dense) string {
	for k, w := range want {
		g := got[k]
		if g == nil {
			return fmt.Sprintf("%s: missing", k)
		}
		if w.Dtype() != g.Dtype() || fmt.Sprint(w.Shape()) != fmt.Sprint(g.Shape()) {
			return fmt.Sprintf("%s: %v %v, want %v %v", k, g.Dtype(), g.Shape(), w.Dtype(), w.Shape())
		}
		if w.DataSize() == 0 {
			continue // an empty tensor (whose Data panics)
		}
		if wf, ok := w.Data().([]float32); ok {
			gf := g.Data().([]float32)
			for i := range wf {
				if math.Float32bits(wf[i]) != math.Float32bits(gf[i]) && !(math.IsNaN(float64(wf[i])) && math.IsNaN(float64(gf[i]))) {
					return fmt.Sprintf("%s[%d]: %v, want %v", k, i, gf[i], wf[i])
				}
			}
			continue
		}
		if fmt.Sprint(w.Data()) != fmt.Sprint(g.Data()) {
			return fmt.Sprintf("%s: %v, want %v", k, g.Data(), w.Data())
		}
	}
	return ""
}

// batchOutcome is what DynamicBatch does to a copy of the model mk makes
// with spans of size nodes (0: one span): the report and the model's
// bytes, or the error.
func batchOutcome(t *testing.T, mk func() *graph.Model, size int) string {
	t.Helper()
	defer func(n int) { spanNodes = n }(spanNodes)
	m := mk()
	spanNodes = size
	if size == 0 {
		spanNodes = len(m.Graph.Nodes) + 1
	}
	rep, err := DynamicBatch(m, BatchOptions{})
	if err != nil {
		return "error: " + err.Error()
	}
	enc, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v %x", *rep, sha256.Sum256(enc))
}

func tensorInfo(name string, dt graph.DType, dims ...int64) *graph.ValueInfo {
	s := &graph.Shape{}
	for _, d := range dims {
		s.Dims = append(s.Dims, graph.Dim{Value: d, HasValue: true})
	}
	return &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: dt, Shape: s}}
}

func node(op string, in, out []string, attrs ...*graph.Attribute) *graph.Node {
	return &graph.Node{Name: "/" + out[0] + "/" + op, OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
}

func intAttr(name string, v int64) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrInt, I: v}
}

// spanCase is a small model that crosses span boundaries in some way, with
// an input at its fixed batch.
type spanCase struct {
	name  string
	want  string // in DynamicBatch's outcome
	model func() *graph.Model
}

// TestSpanRunValues: running a model span by span gives every node output
// the bits the model compiled whole gives, wherever the spans are cut, and
// DynamicBatch's outcome does not depend on the cut.
func TestSpanRunValues(t *testing.T) {
	for _, c := range spanCases() {
		t.Run(c.name, func(t *testing.T) {
			m := c.model()
			axes := inputAxes(m.Graph, ops.InputNames(m))
			b := int(FixedBatch(m))
			inputs, err := proofInputs(m, axes, b, b, setX)
			if err != nil {
				t.Fatal(err)
			}
			want := wholeRun(t, m, inputs)
			for size := 1; size <= len(m.Graph.Nodes); size++ {
				got, err := spansRun(m, inputs, size)
				if err != nil {
					t.Fatalf("spans of %d nodes: %v", size, err)
				}
				if d := sameValues(want, got); d != "" {
					t.Errorf("spans of %d nodes: %s", size, d)
				}
			}
			whole := batchOutcome(t, c.model, 0)
			if !strings.Contains(whole, c.want) {
				t.Fatalf("DynamicBatch: %s\nwant %q in it", whole, c.want)
			}
			for size := 1; size <= len(m.Graph.Nodes); size++ {
				if got := batchOutcome(t, c.model, size); got != whole {
					t.Errorf("DynamicBatch, spans of %d nodes:\n%s\none span:\n%s", size, got, whole)
				}
			}
		})
	}
}

func spanCases() []spanCase {
	model := func(g *graph.Graph) *graph.Model {
		return &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 17}}, Graph: g}
	}
	return []spanCase{
		{"float16_across", "ProvedAt:[2 5]", func() *graph.Model {
			// A float16 value made in one span and multiplied in the next:
			// the product is rounded to float16 there too.
			return model(&graph.Graph{
				Name:    "f16",
				Inputs:  []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Outputs: []*graph.ValueInfo{{Name: "y"}},
				Nodes: []*graph.Node{
					node("Cast", []string{"x"}, []string{"h"}, intAttr("to", int64(graph.Float16))),
					node("Mul", []string{"h", "h"}, []string{"p"}),
					node("Cast", []string{"p"}, []string{"y"}, intAttr("to", int64(graph.Float32))),
				},
			})
		}},
		{"float16_constant_across", "ProvedAt:[2 5]", func() *graph.Model {
			// A float16 Constant (known at compile time) read in a later
			// span: its square root is rounded to float16.
			c := &graph.Tensor{Name: "c", DType: graph.Float16, Dims: []int64{5},
				Raw: graph.Encode([]graph.F16{graph.F16FromFloat32(2), graph.F16FromFloat32(3), graph.F16FromFloat32(5), graph.F16FromFloat32(7), graph.F16FromFloat32(11)})}
			return model(&graph.Graph{
				Name:    "f16const",
				Inputs:  []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Outputs: []*graph.ValueInfo{{Name: "y"}},
				Nodes: []*graph.Node{
					node("Constant", nil, []string{"c"}, &graph.Attribute{Name: "value", Type: graph.AttrTensor, T: c}),
					node("Sqrt", []string{"c"}, []string{"s"}),
					node("Cast", []string{"s"}, []string{"f"}, intAttr("to", int64(graph.Float32))),
					node("Add", []string{"x", "f"}, []string{"y"}),
				},
			})
		}},
		{"local_function", "ProvedAt:[2 5]", func() *graph.Model {
			// Calls of a local function (Compile inlines them), the second
			// reading the first's output from an earlier span.
			m := model(&graph.Graph{
				Name:    "fn",
				Inputs:  []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Outputs: []*graph.ValueInfo{{Name: "y"}},
				Nodes: []*graph.Node{
					{Name: "call0", OpType: "Softish", Domain: "local", Inputs: []string{"x"}, Outputs: []string{"a"}},
					node("Relu", []string{"a"}, []string{"r"}),
					{Name: "call1", OpType: "Softish", Domain: "local", Inputs: []string{"r"}, Outputs: []string{"y"}},
				},
			})
			m.Opsets = append(m.Opsets, graph.Opset{Domain: "local", Version: 1})
			m.LocalFunctions = []*graph.Function{{Name: "Softish", Domain: "local", Inputs: []string{"in"}, Outputs: []string{"out"},
				Opsets: []graph.Opset{{Version: 17}},
				Nodes: []*graph.Node{
					node("Tanh", []string{"in"}, []string{"t"}),
					node("Mul", []string{"in", "t"}, []string{"out"}),
				}}}
			return m
		}},
		{"shape_chain", "Rewrites:[node /y1/Reshape: shape [2 3 4] -> [-1 3 4] node /e/Expand: shape [2 3 4] -> batch at 0]", func() *graph.Model {
			// Shape, Gather, Unsqueeze, Concat, Reshape: a folded shape
			// computation cut anywhere; a Constant read by several spans;
			// an output both a graph output and read later; an output no
			// one reads; optional inputs left out; two nodes of one name.
			idx := &graph.Tensor{Name: "i", DType: graph.Int64, Dims: []int64{}, Raw: graph.Encode([]int64{0})}
			minus := &graph.Tensor{Name: "m", DType: graph.Int64, Dims: []int64{1}, Raw: graph.Encode([]int64{-1})}
			zero := &graph.Tensor{Name: "z", DType: graph.Int64, Dims: []int64{1}, Raw: graph.Encode([]int64{0})}
			g := &graph.Graph{
				Name:         "chain",
				Inputs:       []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 3, 4), tensorInfo("w", graph.Float32, 4)},
				Initializers: []*graph.Tensor{{Name: "w", DType: graph.Float32, Dims: []int64{4}, Raw: graph.Encode([]float32{1, -2, 3, -4})}},
				Outputs:      []*graph.ValueInfo{{Name: "flat"}, {Name: "y"}},
				Nodes: []*graph.Node{
					node("Constant", nil, []string{"i"}, &graph.Attribute{Name: "value", Type: graph.AttrTensor, T: idx}),
					node("Shape", []string{"x"}, []string{"s"}),
					node("Gather", []string{"s", "i"}, []string{"b"}, intAttr("axis", 0)),
					node("Constant", nil, []string{"m"}, &graph.Attribute{Name: "value", Type: graph.AttrTensor, T: minus}),
					node("Unsqueeze", []string{"b", "z"}, []string{"bu"}),
					node("Concat", []string{"bu", "m"}, []string{"target"}, intAttr("axis", 0)),
					node("Mul", []string{"x", "w"}, []string{"xw"}),
					node("Reshape", []string{"xw", "target"}, []string{"flat"}),
					node("Clip", []string{"flat", "", ""}, []string{"clipped"}),
					node("Shape", []string{"clipped"}, []string{"unread"}),
					node("Gather", []string{"s", "i"}, []string{"b2"}, intAttr("axis", 0)),
					node("Relu", []string{"flat"}, []string{"y0"}),
					node("Reshape", []string{"y0", "fixed"}, []string{"y1"}),
					node("Expand", []string{"w", "fixed3"}, []string{"e"}),
					node("Add", []string{"y1", "e"}, []string{"y"}),
				},
			}
			g.Nodes = append([]*graph.Node{
				node("Constant", nil, []string{"fixed"}, &graph.Attribute{Name: "value", Type: graph.AttrTensor,
					T: &graph.Tensor{Name: "fixed", DType: graph.Int64, Dims: []int64{3}, Raw: graph.Encode([]int64{2, 3, 4})}}),
			}, g.Nodes...)
			g.Initializers = append(g.Initializers, &graph.Tensor{Name: "fixed3", DType: graph.Int64, Dims: []int64{3}, Raw: graph.Encode([]int64{2, 3, 4})})
			g.Initializers = append(g.Initializers, zero)
			g.Nodes[11].Name = g.Nodes[3].Name
			return model(g)
		}},
		{"if_computed_condition_nested", "ProvedAt:[2 5]", func() *graph.Model {
			// An If whose condition is computed when the model runs (both
			// branches run), one branch holding another If: values of
			// earlier spans read from two levels down, as node inputs and
			// as outputs.
			inner := &graph.Graph{Name: "inner", Outputs: []*graph.ValueInfo{{Name: "ir"}},
				Nodes: []*graph.Node{node("Abs", []string{"s"}, []string{"ir"})}}
			innerElse := &graph.Graph{Name: "inner_else", Outputs: []*graph.ValueInfo{{Name: "r"}}}
			then := &graph.Graph{Name: "then", Outputs: []*graph.ValueInfo{{Name: "t"}},
				Nodes: []*graph.Node{node("If", []string{"k"}, []string{"t"},
					&graph.Attribute{Name: "then_branch", Type: graph.AttrGraph, G: inner},
					&graph.Attribute{Name: "else_branch", Type: graph.AttrGraph, G: innerElse})}}
			els := &graph.Graph{Name: "else", Outputs: []*graph.ValueInfo{{Name: "e"}},
				Nodes: []*graph.Node{node("Neg", []string{"s"}, []string{"e"})}}
			return model(&graph.Graph{
				Name:   "if_nested",
				Inputs: []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5), tensorInfo("flag", graph.Float32)},
				Initializers: []*graph.Tensor{
					{Name: "floor", DType: graph.Float32, Dims: []int64{}, Raw: graph.Encode([]float32{-100})},
					{Name: "k", DType: graph.Bool, Dims: []int64{}, Raw: []byte{0}},
				},
				Outputs: []*graph.ValueInfo{{Name: "o"}},
				Nodes: []*graph.Node{
					node("Relu", []string{"x"}, []string{"r"}),
					node("Neg", []string{"x"}, []string{"s"}),
					node("Greater", []string{"flag", "floor"}, []string{"cond"}),
					node("If", []string{"cond"}, []string{"o"},
						&graph.Attribute{Name: "then_branch", Type: graph.AttrGraph, G: then},
						&graph.Attribute{Name: "else_branch", Type: graph.AttrGraph, G: els}),
				},
			})
		}},
		{"empty_value_across", "ProvedAt:[2 5]", func() *graph.Model {
			i64 := func(name string, v int64) *graph.Tensor {
				return &graph.Tensor{Name: name, DType: graph.Int64, Dims: []int64{1}, Raw: graph.Encode([]int64{v})}
			}
			return model(&graph.Graph{
				Name:         "empty",
				Inputs:       []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Initializers: []*graph.Tensor{i64("st", 0), i64("en", 0), i64("ax", 1)},
				Outputs:      []*graph.ValueInfo{{Name: "y"}},
				Nodes: []*graph.Node{
					node("Slice", []string{"x", "st", "en", "ax"}, []string{"e"}),
					node("Relu", []string{"x"}, []string{"r"}),
					node("Concat", []string{"r", "e"}, []string{"y"}, intAttr("axis", 1)),
				},
			})
		}},
		{"pinned_then_not_running_at_n", "pinned: node /mean/ReduceMean (ReduceMean)", func() *graph.Model {
			// A mean over the batch, then a Split that does not run at N:
			// the refusal names the mean, the first node that breaks the
			// rule, wherever the spans are cut (it named the Split run
			// whole, the mean when a span ended between them).
			return model(&graph.Graph{
				Name:         "pinned",
				Inputs:       []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Initializers: []*graph.Tensor{{Name: "two", DType: graph.Int64, Dims: []int64{2}, Raw: graph.Encode([]int64{1, 1})}},
				Outputs:      []*graph.ValueInfo{{Name: "y"}},
				Nodes: []*graph.Node{
					node("ReduceMean", []string{"x"}, []string{"mean"}, &graph.Attribute{Name: "axes", Type: graph.AttrInts, Ints: []int64{0}}),
					node("Sub", []string{"x", "mean"}, []string{"d"}),
					node("Relu", []string{"d"}, []string{"r"}),
					node("Split", []string{"r", "two"}, []string{"y", "y2"}, intAttr("axis", 0)),
				},
			})
		}},
		{"if_branch_outputs_outer_values", "ProvedAt:[2 5]", func() *graph.Model {
			// An If whose branches give values of earlier spans as their
			// outputs, read by no node of theirs.
			return model(&graph.Graph{
				Name:         "if_pass",
				Inputs:       []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)},
				Initializers: []*graph.Tensor{{Name: "cond", DType: graph.Bool, Dims: []int64{}, Raw: []byte{1}}},
				Outputs:      []*graph.ValueInfo{{Name: "o"}},
				Nodes: []*graph.Node{
					node("Relu", []string{"x"}, []string{"r"}),
					node("Neg", []string{"x"}, []string{"s"}),
					node("If", []string{"cond"}, []string{"o"},
						&graph.Attribute{Name: "then_branch", Type: graph.AttrGraph, G: &graph.Graph{Name: "then", Outputs: []*graph.ValueInfo{{Name: "r"}}}},
						&graph.Attribute{Name: "else_branch", Type: graph.AttrGraph, G: &graph.Graph{Name: "else", Outputs: []*graph.ValueInfo{{Name: "s"}}}}),
				},
			})
		}},
	}
}

// TestDynamicBatchSpansEngineErrors: a model the engine cannot run fails as
// it did run whole: ops it lacks in one *ops.UnsupportedError naming them
// all, a local function that does not inline as a model that does not run
// at its batch (the error said nothing of DynamicBatch).
func TestDynamicBatchSpansEngineErrors(t *testing.T) {
	mk := func(op1, op2 string) *graph.Model {
		return &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 17}, {Domain: "local", Version: 1}}, Graph: &graph.Graph{
			Name: "u", Inputs: []*graph.ValueInfo{tensorInfo("x", graph.Float32, 2, 5)}, Outputs: []*graph.ValueInfo{{Name: "z"}},
			Nodes: []*graph.Node{node(op1, []string{"x"}, []string{"y"}), node("Relu", []string{"y"}, []string{"y1"}), node(op2, []string{"y1"}, []string{"z"})}}}
	}
	defer func(n int) { spanNodes = n }(spanNodes)
	for _, size := range []int{1, 48} {
		spanNodes = size
		_, err := DynamicBatch(mk("FooOp", "BarOp"), BatchOptions{})
		var ue *ops.UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "BarOp") || !strings.Contains(err.Error(), "FooOp") {
			t.Errorf("spans of %d: %v, want an *ops.UnsupportedError naming FooOp and BarOp", size, err)
		}
		m := mk("Relu", "Relu")
		m.LocalFunctions = []*graph.Function{{Name: "F", Domain: "local", Inputs: []string{"a"}, Outputs: []string{"b"},
			Nodes: []*graph.Node{{OpType: "F", Domain: "local", Inputs: []string{"a"}, Outputs: []string{"b"}}}}}
		m.Graph.Nodes[1].Domain, m.Graph.Nodes[1].OpType = "local", "F"
		_, err = DynamicBatch(m, BatchOptions{})
		var ie *graph.InlineError
		if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "remap: dynamic batch: the model as exported does not run at batch 2: ") {
			t.Errorf("spans of %d: %v, want a *graph.InlineError, the model as exported not running at batch 2", size, err)
		}
	}
}
