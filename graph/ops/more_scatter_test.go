package ops

import (
	"fmt"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func scatterOpset(red string) int64 {
	switch red {
	case "none":
		return 13
	case "add", "mul":
		return 16
	}
	return 18
}

func TestScatterElements(t *testing.T) {
	data := randF64(51, -1, 1, 3, 4)
	upd := randF64(52, -1, 1, 2, 3)
	// Repeated indices along each axis: the last write wins, or all combine.
	dup := map[int64][]int64{0: {1, 0, 2, 1, 1, 0}, 1: {3, 0, 3, 0, 1, -1}}
	// Distinct along the axis: finite differences hold for none too.
	distinct := map[int64][]int64{0: {2, 0, 1, 1, 2, 0}, 1: {3, 0, 1, -1, 1, 2}}
	for _, red := range []string{"none", "add", "mul", "max", "min"} {
		for _, axis := range []int64{0, 1, -1} {
			t.Run(fmt.Sprintf("%s_axis%d", red, axis), func(t *testing.T) {
				attrs := []*graph.Attribute{attrInt("axis", axis)}
				if red != "none" {
					attrs = append(attrs, &graph.Attribute{Name: "reduction", Type: graph.AttrString, S: []byte(red)})
				}
				ax := (axis + 2) % 2
				for _, idx := range [][]int64{dup[ax], distinct[ax]} {
					i := arg{Name: "i", Value: ints64([]int{2, 3}, idx...)}
					ortCheck(t, "ScatterElements", scatterOpset(red), attrs, []graph.DType{graph.Float32},
						arg{Name: "x", Value: f32(data)}, i, arg{Name: "u", Value: f32(upd)})
					ortCheck(t, "ScatterElements", scatterOpset(red), attrs, []graph.DType{graph.Int64},
						arg{Name: "x", Value: ints64([]int{3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)}, i,
						arg{Name: "u", Value: ints64([]int{2, 3}, -1, 7, 3, 0, 20, 2)})
				}
				switch red {
				case "none":
					gradCheck(t, "ScatterElements", scatterOpset(red), attrs, arg{Name: "x", Value: data},
						arg{Name: "i", Value: ints64([]int{2, 3}, distinct[ax]...)}, arg{Name: "u", Value: upd})
				case "add":
					gradCheck(t, "ScatterElements", scatterOpset(red), attrs, arg{Name: "x", Value: data},
						arg{Name: "i", Value: ints64([]int{2, 3}, dup[ax]...)}, arg{Name: "u", Value: upd})
				default:
					scatterGradRefused(t, "ScatterElements", scatterOpset(red), attrs, arg{Name: "x", Value: data},
						arg{Name: "i", Value: ints64([]int{2, 3}, dup[ax]...)}, arg{Name: "u", Value: upd})
				}
			})
		}
	}
	// Scatter (opsets 9 and 10): ScatterElements without reduction.
	ortCheck(t, "Scatter", 9, []*graph.Attribute{attrInt("axis", 1)}, []graph.DType{graph.Float32},
		arg{Name: "x", Value: f32(data)}, arg{Name: "i", Value: ints64([]int{2, 3}, 3, 0, 1, 1, 1, 2)}, arg{Name: "u", Value: f32(upd)})
}

func TestScatterND(t *testing.T) {
	data := randF64(53, -1, 1, 3, 4, 2)
	for _, red := range []string{"none", "add", "mul", "max", "min"} {
		for _, c := range []struct {
			name     string
			idxShape []int
			idx      []int64
			updShape []int
			distinct bool
		}{
			{"rows", []int{2, 1}, []int64{2, 0}, []int{2, 4, 2}, true},
			{"rows_dup", []int{3, 1}, []int64{1, -2, 0}, []int{3, 4, 2}, false},
			{"pairs", []int{2, 2, 2}, []int64{0, 1, 2, 3, 1, 1, -1, 0}, []int{2, 2, 2}, true},
			{"elements_dup", []int{3, 3}, []int64{0, 1, 1, 2, 3, 0, 0, 1, 1}, []int{3}, false},
		} {
			t.Run(red+"_"+c.name, func(t *testing.T) {
				var attrs []*graph.Attribute
				if red != "none" {
					attrs = append(attrs, &graph.Attribute{Name: "reduction", Type: graph.AttrString, S: []byte(red)})
				}
				upd := randF64(54, -1, 1, c.updShape...)
				i := arg{Name: "i", Value: ints64(c.idxShape, c.idx...)}
				ortCheck(t, "ScatterND", scatterOpset(red), attrs, []graph.DType{graph.Float32},
					arg{Name: "x", Value: f32(data)}, i, arg{Name: "u", Value: f32(upd)})
				args := []arg{{Name: "x", Value: data}, i, {Name: "u", Value: upd}}
				switch {
				case red == "add" || (red == "none" && c.distinct):
					gradCheck(t, "ScatterND", scatterOpset(red), attrs, args...)
				case red != "none":
					scatterGradRefused(t, "ScatterND", scatterOpset(red), attrs, args...)
				}
			})
		}
	}
	ortCheck(t, "ScatterND", 11, nil, []graph.DType{graph.Int64}, arg{Name: "x", Value: ints64([]int{2, 3}, 1, 2, 3, 4, 5, 6)},
		arg{Name: "i", Value: ints64([]int{1, 1}, 1)}, arg{Name: "u", Value: ints64([]int{1, 3}, 7, 8, 9)})
}

// scatterGradRefused: a gradient through a reduction PyTorch's rules
// cannot be matched for is a one-line error naming it.
func scatterGradRefused(t *testing.T, op string, opset int64, attrs []*graph.Attribute, args ...arg) {
	t.Helper()
	m, shapes := oneNode(op, opset, attrs, 1, args...)
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	loss, err := G.Sum(p.Outputs[0].Node)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Grad(loss, G.Nodes{p.Inputs["x"], p.Inputs["u"]})
	if err == nil || !strings.Contains(err.Error(), "has no gradient") {
		t.Fatalf("gradient: %v, want a refusal", err)
	}
}

func TestScatterTopKErrors(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)}
	for _, c := range []struct {
		op    string
		attrs []*graph.Attribute
		args  []arg
		want  string
	}{
		{"TopK", nil, []arg{x, {Name: "k", Value: ints64([]int{1}, 4), Const: true}}, "k is 4"},
		{"TopK", nil, []arg{x, {Name: "k", Value: ints64([]int{1}, 1)}}, "k must be known"},
		{"ScatterElements", nil, []arg{x, {Name: "i", Value: ints64([]int{1, 1}, 0)}}, "required"},
		{"ScatterElements", []*graph.Attribute{{Name: "reduction", Type: graph.AttrString, S: []byte("sub")}},
			[]arg{x, {Name: "i", Value: ints64([]int{1, 1}, 0)}, {Name: "u", Value: randF64(1, 0, 1, 1, 1)}}, "reduction"},
		{"ScatterND", nil, []arg{x, {Name: "i", Value: ints64([]int{1, 3}, 0, 0, 0)}, {Name: "u", Value: randF64(1, 0, 1, 1)}}, "last dimension"},
		{"ScatterND", nil, []arg{x, {Name: "i", Value: ints64([]int{1, 1}, 0)}, {Name: "u", Value: randF64(1, 0, 1, 2)}}, "updates are"},
	} {
		m, shapes := oneNode(c.op, 18, c.attrs, 1, c.args...)
		if _, err := Compile(m, shapes, Options{}); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", c.op, err, c.want)
		}
	}
	// An index out of range at run time is an error, not a panic.
	m, shapes := oneNode("ScatterElements", 13, nil, 1, x, arg{Name: "i", Value: ints64([]int{1, 1}, 5)}, arg{Name: "u", Value: randF64(1, 0, 1, 1, 1)})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Run(map[string]*tensor.Dense{"x": x.Value, "i": ints64([]int{1, 1}, 5), "u": randF64(1, 0, 1, 1, 1)}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("index 5 of 2: %v", err)
	}
}
