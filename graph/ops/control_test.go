package ops

import (
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// ifBranches are two branches over the outer value "x" (float, [2, 3]):
// then = Mul(x, x) through an inner value, else = Sigmoid(x).
func ifBranches() []*graph.Attribute {
	then := &graph.Graph{Name: "then",
		Nodes: []*graph.Node{
			{Name: "/then/Mul", OpType: "Mul", Inputs: []string{"x", "x"}, Outputs: []string{"xx"}},
			{Name: "/then/Identity", OpType: "Identity", Inputs: []string{"xx"}, Outputs: []string{"then_out"}},
		},
		Outputs: []*graph.ValueInfo{{Name: "then_out"}}}
	els := &graph.Graph{Name: "else",
		Nodes:   []*graph.Node{{Name: "/else/Sigmoid", OpType: "Sigmoid", Inputs: []string{"x"}, Outputs: []string{"else_out"}}},
		Outputs: []*graph.ValueInfo{{Name: "else_out"}}}
	return []*graph.Attribute{
		{Name: "then_branch", Type: graph.AttrGraph, G: then},
		{Name: "else_branch", Type: graph.AttrGraph, G: els},
	}
}

// ifModel is x -> Shape -> Gather(1) -> Equal(width) -> If, so the
// condition is known when the model is compiled; with fromInput the
// condition is the graph input "c" instead (known only when it runs).
func ifModel(width int64, fromInput bool) *graph.Model {
	f32 := func(name string, dims ...int64) *graph.ValueInfo {
		d := make([]graph.Dim, len(dims))
		for i, v := range dims {
			d[i] = graph.Dim{Value: v, HasValue: true}
		}
		return &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: &graph.Shape{Dims: d}}}
	}
	g := &graph.Graph{Name: "if", Inputs: []*graph.ValueInfo{f32("x", 2, 3)}, Outputs: []*graph.ValueInfo{f32("y", 2, 3)}}
	cond := "c"
	if fromInput {
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: "c", Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Bool, Shape: &graph.Shape{}}})
	} else {
		g.Initializers = []*graph.Tensor{irTensor("one", tensor.New(tensor.FromScalar(int64(1)))), irTensor("width", tensor.New(tensor.FromScalar(width)))}
		g.Nodes = []*graph.Node{
			{Name: "/Shape", OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
			{Name: "/Gather", OpType: "Gather", Inputs: []string{"s", "one"}, Outputs: []string{"w"}},
			{Name: "/Equal", OpType: "Equal", Inputs: []string{"w", "width"}, Outputs: []string{"c"}},
		}
	}
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "/t", OpType: "Neg", Inputs: []string{"x"}, Outputs: []string{"t"}},
		&graph.Node{Name: "/If", OpType: "If", Inputs: []string{cond}, Outputs: []string{"r"}, Attrs: ifBranches()},
		&graph.Node{Name: "/Add", OpType: "Add", Inputs: []string{"r", "t"}, Outputs: []string{"y"}})
	return &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 17}}, Graph: g}
}

// If runs as ONNX Runtime runs it: folded when its condition comes from
// shapes (either branch), selected at run time when it is an input.
func TestIfMatchesORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		t.Skip(err)
	}
	xs := []float32{-1, -0.5, 0.25, 0.5, 1.5, 3}
	for _, tc := range []struct {
		name      string
		width     int64
		fromInput bool
		c         bool
	}{{"folded_then", 3, false, false}, {"folded_else", 4, false, false},
		{"runtime_then", 0, true, true}, {"runtime_else", 0, true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := ifModel(tc.width, tc.fromInput)
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			in := []ort.Tensor{{Name: "x", Shape: []int64{2, 3}, Data: xs}}
			vals := map[string]*tensor.Dense{"x": Dense([]int{2, 3}, xs)}
			if tc.fromInput {
				in = append(in, ort.Tensor{Name: "c", Shape: []int64{}, Data: []bool{tc.c}})
				vals["c"] = tensor.New(tensor.FromScalar(tc.c))
			}
			want, err := ort.Run(b, in, 1)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			shapes := map[string][]int{"x": {2, 3}, "c": {}}
			if !tc.fromInput {
				delete(shapes, "c")
			}
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got, err := p.Run(vals)
			if err != nil {
				t.Fatal(err)
			}
			y, _ := Data[float32](got[0])
			w := want[0].Data.([]float32)
			for i := range w {
				if math.Abs(float64(y[i]-w[i])) > 1e-6 {
					t.Fatalf("got %v, onnxruntime %v", y, w)
				}
			}
		})
	}
}

// The gradient of an If is the taken branch's, folded or selected at run
// time (finite differences in float64).
func TestIfGradients(t *testing.T) {
	x := randF64(5, -1, 1, 2, 3)
	for _, c := range []bool{true, false} {
		cond := Dense([]int{1}, []bool{c})
		// The branches read x from the graph around them: x is given as
		// an extra input of the node so the harness makes it a graph input.
		gradCheck(t, "If", 17, ifBranches(), arg{Name: "c", Value: cond, Const: true}, arg{Name: "x", Value: x})
		gradCheck(t, "If", 17, ifBranches(), arg{Name: "c", Value: cond}, arg{Name: "x", Value: x})
	}
}

// A runtime condition whose branches give different shapes is refused in
// one line naming the node and saying the condition depends on the input.
func TestIfRuntimeShapesDiffer(t *testing.T) {
	attrs := ifBranches()
	attrs[1].G.Nodes = append(attrs[1].G.Nodes, &graph.Node{Name: "/else/Flatten", OpType: "Flatten", Inputs: []string{"else_out"}, Outputs: []string{"flat"}, Attrs: []*graph.Attribute{attrInt("axis", 0)}})
	attrs[1].G.Outputs[0].Name = "flat"
	m, shapes := oneNode("If", 17, attrs, 1, arg{Name: "c", Value: Dense([]int{1}, []bool{true})}, arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)})
	_, err := Compile(m, shapes, Options{})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `node "/test/If" (If): the condition depends on the input`) {
		t.Errorf("got %v", err)
	}
}
