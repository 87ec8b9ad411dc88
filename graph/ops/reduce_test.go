package ops

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

var reduceOps = []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"}

// axesOpset is the first opset where op takes its axes as an input.
func axesOpset(op string) int64 {
	if op == "ReduceSum" {
		return 13
	}
	return 18
}

func TestReduceGradients(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		axes  []int64 // nil: default (all axes)
		keep  int64
	}{
		{"last_keep", []int{2, 3, 4}, []int64{-1}, 1},
		{"last_drop", []int{2, 3, 4}, []int64{2}, 0},
		{"middle_keep", []int{2, 3, 4}, []int64{1}, 1},
		{"first_drop", []int{2, 3, 4}, []int64{0}, 0},
		{"two_adjacent", []int{2, 3, 4, 2}, []int64{2, 3}, 1},
		{"two_apart", []int{2, 3, 4}, []int64{0, 2}, 0},
		{"two_apart_keep", []int{2, 3, 4}, []int64{-3, -1}, 1},
		{"all_default", []int{2, 3}, nil, 1},
		{"all_default_drop", []int{2, 3}, nil, 0},
		{"size1_axis", []int{2, 1, 3}, []int64{1}, 0},
	}
	for _, op := range reduceOps {
		for _, tc := range cases {
			for _, asInput := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/attr", op, tc.name)
				opset := axesOpset(op) - 1
				if asInput {
					name = fmt.Sprintf("%s/%s/input", op, tc.name)
					opset = axesOpset(op)
				}
				t.Run(name, func(t *testing.T) {
					attrs := []*graph.Attribute{attrInt("keepdims", tc.keep)}
					args := []arg{{Name: "x", Value: randF64(50, 0.5, 1.5, tc.shape...)}}
					if tc.axes != nil {
						if asInput {
							args = append(args, arg{Name: "axes", Value: Dense([]int{len(tc.axes)}, tc.axes), Const: true})
						} else {
							attrs = append(attrs, attrInts("axes", tc.axes...))
						}
					}
					gradCheck(t, op, opset, attrs, args...)
				})
			}
		}
	}
}

// TestReduceProdZeros: the gradient of a product with one zero goes to the
// zero only (the product of the others), with two zeros to nobody.
func TestReduceProdZeros(t *testing.T) {
	x := randF64(51, 0.5, 1.5, 3, 4)
	v, _ := Data[float64](x)
	v[1] = 0          // row 0: one zero
	v[4], v[6] = 0, 0 // row 1: two zeros
	gradCheck(t, "ReduceProd", 13, []*graph.Attribute{attrInts("axes", 1)}, arg{Name: "x", Value: x})
}

// TestReduceMaxTies: the gradient goes to the first element (row-major) that
// equals the maximum.
func TestReduceMaxTies(t *testing.T) {
	for _, op := range []string{"ReduceMax", "ReduceMin"} {
		t.Run(op, func(t *testing.T) {
			x := Dense([]int{2, 2, 2}, []float64{3, 1, 3, 1, 1, 1, 1, 1})
			xv, _ := Data[float64](x)
			m, shapes := oneNode(op, 13, []*graph.Attribute{attrInts("axes", 1, 2)}, 1, arg{Name: "x", Value: x})
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			l := newReduceLayout([]int{2, 2, 2}, []bool{false, true, true}, true)
			g, err := reduceGradKernel(op, l, []int{2, 2, 2})([]*tensor.Dense{
				Dense([]int{2, 1, 1}, []float64{1, 1}), x, mustReduce(t, p, x)})
			if err != nil {
				t.Fatal(err)
			}
			gv, _ := Data[float64](g)
			ys, _ := Data[float64](mustReduce(t, p, x))
			for row := 0; row < 2; row++ {
				first := -1
				for k := 0; k < 4; k++ {
					if xv[row*4+k] == ys[row] && first < 0 {
						first = k
					}
				}
				for k := 0; k < 4; k++ {
					want := 0.0
					if k == first {
						want = 1
					}
					if gv[row*4+k] != want {
						t.Errorf("row %d element %d: gradient %g, want %g", row, k, gv[row*4+k], want)
					}
				}
			}
		})
	}
}

func mustReduce(t *testing.T, p *Program, x *tensor.Dense) *tensor.Dense {
	t.Helper()
	out, err := p.Run(map[string]*tensor.Dense{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// TestReduceIntegersAndBool: reductions of int64 shapes fold; ReduceMax of
// bool is any.
func TestReduceIntegersAndBool(t *testing.T) {
	shape := Dense([]int{3}, []int64{2, 7, 64})
	sv, _ := Data[int64](shape)
	m, shapes := oneNode("ReduceProd", 13, []*graph.Attribute{attrInt("keepdims", 0)}, 1, arg{Name: "s", Value: shape, Const: true})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Outputs[0].IsConst() || p.Outputs[0].Const.Data().(int64) != sv[0]*sv[1]*sv[2] {
		t.Errorf("ReduceProd of %v: %v", sv, p.Outputs[0])
	}
	b := Dense([]int{2, 2}, []bool{false, true, false, false})
	out := run(t, "ReduceMax", 20, []*graph.Attribute{attrInt("keepdims", 1)}, 1, arg{Name: "b", Value: b},
		arg{Name: "axes", Value: Dense([]int{1}, []int64{1}), Const: true})[0]
	got, err := Data[bool](out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0] || got[1] {
		t.Errorf("ReduceMax of bool rows: %v", got)
	}
}

func TestReduceNoop(t *testing.T) {
	m, shapes := oneNode("ReduceMean", 18, []*graph.Attribute{attrInt("noop_with_empty_axes", 1)}, 1, arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameInts(p.Outputs[0].Shape, []int{2, 3}) || p.Outputs[0].Node != p.Inputs["x"] {
		t.Errorf("noop_with_empty_axes gives %v", p.Outputs[0])
	}
}

func TestReduceErrors(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)}
	cases := []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
		args  []arg
		want  string
	}{
		{"axis_range", 13, []*graph.Attribute{attrInts("axes", 2)}, []arg{x}, "out of range"},
		{"axis_twice", 11, []*graph.Attribute{attrInts("axes", 1, -1)}, []arg{x}, "twice"},
		{"axes_not_const", 18, nil, []arg{x, {Name: "axes", Value: Dense([]int{1}, []int64{1})}}, "known when the model is compiled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode("ReduceMean", tc.opset, tc.attrs, 1, tc.args...)
			_, err := Compile(m, shapes, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestLayerNormSubgraphGradient differentiates the LayerNorm subgraph
// PyTorch writes at opset 13 (ReduceMean, Sub, Pow, Sqrt, Div), followed by
// a Linear as MatMul + Add, and a max-shifted softmax (ReduceMax, Exp,
// ReduceSum).
func TestLayerNormSubgraphGradient(t *testing.T) {
	n := func(op string, in []string, out string, attrs ...*graph.Attribute) *graph.Node {
		return &graph.Node{Name: "/" + out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs}
	}
	axes := attrInts("axes", -1)
	nodes := []*graph.Node{
		n("ReduceMean", []string{"x"}, "mean", axes),
		n("Sub", []string{"x", "mean"}, "d"),
		n("Pow", []string{"d", "two"}, "d2"),
		n("ReduceMean", []string{"d2"}, "var", axes),
		n("Add", []string{"var", "eps"}, "ve"),
		n("Sqrt", []string{"ve"}, "std"),
		n("Div", []string{"d", "std"}, "norm"),
		n("MatMul", []string{"norm", "w"}, "h"),
		n("Add", []string{"h", "b"}, "z"),
		n("ReduceMax", []string{"z"}, "zmax", axes),
		n("Sub", []string{"z", "zmax"}, "zs"),
		n("Exp", []string{"zs"}, "e"),
		n("ReduceSum", []string{"e", "axis"}, "se"),
		n("Div", []string{"e", "se"}, "y"),
	}
	args := []arg{
		{Name: "x", Value: randF64(60, -1, 1, 2, 3, 4)},
		{Name: "w", Value: randF64(61, -1, 1, 4, 5)},
		{Name: "b", Value: randF64(62, -1, 1, 5)},
		{Name: "two", Value: Dense([]int{}, []float64{2}), Const: true},
		{Name: "eps", Value: Dense([]int{}, []float64{1e-5}), Const: true},
		{Name: "axis", Value: Dense([]int{1}, []int64{-1}), Const: true},
	}
	m, shapes := chainModel(13, args, nodes, "y")
	gradCheckModel(t, m, shapes, args)
}
