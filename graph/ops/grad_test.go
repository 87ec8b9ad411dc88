package ops

import (
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/onnxtune/onnxtune/graph"
)

// TestGradUnreachable: Grad gives a nil gradient for a node the loss does
// not reach (a parameter only another output reads, a graph output that is
// an initializer), where gorgonia.Grad fails the whole call with "Non
// Differentiable WRTs"; and Program.FromInputs tells an output computed
// from the inputs from one that is an initializer.
func TestGradUnreachable(t *testing.T) {
	args := []arg{
		{Name: "x", Value: randF64(1, -1, 1, 3)},
		{Name: "w", Value: randF64(2, -1, 1, 3), Const: true},
		{Name: "v", Value: randF64(3, -1, 1, 3), Const: true},
	}
	nodes := []*graph.Node{
		{Name: "mul", OpType: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"y"}},
		{Name: "sum", OpType: "ReduceSum", Inputs: []string{"y"}, Outputs: []string{"s"}, Attrs: []*graph.Attribute{attrInt("keepdims", 0)}},
		{Name: "relu", OpType: "Relu", Inputs: []string{"v"}, Outputs: []string{"r"}},
	}
	m, shapes := chainModel(13, args, nodes, "s", "r", "w")
	for _, name := range []string{"w", "v"} {
		m.Params = append(m.Params, &graph.Param{Name: name, Initializer: name, Shape: []int64{3}, DType: graph.Float64, Role: graph.RoleWeight})
	}
	p, err := Compile(m, shapes, Options{Train: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, want := range []bool{true, false, false} {
		if got := p.FromInputs(p.Outputs[i]); got != want {
			t.Errorf("FromInputs(output %q) = %v, want %v", p.Names[i], got, want)
		}
	}
	loss := p.Outputs[0].Node
	wrt := G.Nodes{p.Params["w"], p.Params["v"], p.Inputs["x"]}
	gs, err := Grad(loss, wrt)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	if len(gs) != 3 || gs[0] == nil || gs[1] != nil || gs[2] == nil {
		t.Fatalf("gradients %v: want w's and x's, none for v", gs)
	}
	if err := G.Let(p.Inputs["x"], args[0].Value); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	if err := RunAll(vm); err != nil {
		t.Fatal(err)
	}
	// d sum(x*w) / dw = x.
	d, err := asDense(gs[0].Value())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Data[float64](d)
	x, _ := Data[float64](args[0].Value)
	for i := range x {
		if got[i] != x[i] {
			t.Fatalf("gradient of w %v, want %v", got, x)
		}
	}
	// Nothing reached: all nil, no error.
	gs, err = Grad(p.Outputs[1].Node, G.Nodes{p.Inputs["x"]})
	if err != nil || len(gs) != 1 || gs[0] != nil {
		t.Errorf("Grad of an output x does not reach: %v, %v; want one nil gradient", gs, err)
	}
}
