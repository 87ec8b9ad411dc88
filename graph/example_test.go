package graph_test

import (
	"errors"
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
)

// A model computing y = x·wᵀ + b for a batch of 3-vectors, built by hand.
func Example() {
	w, err := graph.NewFloat32("fc.weight", []int64{2, 3}, []float32{1, 0, 0, 0, 1, 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := graph.NewFloat32("fc.bias", []int64{2}, []float32{0.5, -0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	batch := graph.Dim{Param: "batch", HasParam: true}
	tensorType := func(n int64) *graph.Type {
		return &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32,
			Shape: &graph.Shape{Dims: []graph.Dim{batch, {Value: n, HasValue: true}}}}
	}
	m := &graph.Model{
		IRVersion: 8,
		Opsets:    []graph.Opset{{Version: 13}},
		Graph: &graph.Graph{
			Name: "linear",
			Nodes: []*graph.Node{{
				Name: "/fc/Gemm", OpType: "Gemm",
				Inputs: []string{"x", "fc.weight", "fc.bias"}, Outputs: []string{"y"},
				Attrs: []*graph.Attribute{{Name: "transB", Type: graph.AttrInt, I: 1}},
			}},
			Initializers: []*graph.Tensor{w, b},
			Inputs:       []*graph.ValueInfo{{Name: "x", Type: tensorType(3)}},
			Outputs:      []*graph.ValueInfo{{Name: "y", Type: tensorType(2)}},
		},
	}

	v, _ := m.OpsetVersion("")
	fmt.Println("opset:", v)
	gemm := m.Graph.Node("/fc/Gemm")
	fmt.Println("node:", gemm, "transB =", gemm.AttrInt("transB", 0))
	fmt.Println("y is computed by", m.Graph.Producers()["y"])
	for _, u := range m.Graph.Consumers()["fc.bias"] {
		fmt.Println("fc.bias is input", u.Index, "of", u.Node)
	}
	dt, dims, _ := m.Graph.Input("x").TensorShape()
	fmt.Println("x:", dt, dims)
	vals, _ := m.Graph.Initializer("fc.weight").Float32s()
	fmt.Println("fc.weight:", vals)
	// Output:
	// opset: 13
	// node: "/fc/Gemm" (Gemm) transB = 1
	// y is computed by "/fc/Gemm" (Gemm)
	// fc.bias is input 2 of "/fc/Gemm" (Gemm)
	// x: float32 [batch 3]
	// fc.weight: [1 0 0 0 1 0]
}

func ExampleNumElements() {
	n, err := graph.NumElements([]int64{2, 3, 4})
	fmt.Println(n, err)
	n, err = graph.NumElements(nil) // a scalar
	fmt.Println(n, err)
	_, err = graph.NumElements([]int64{2, -1})
	fmt.Println(errors.Is(err, graph.ErrShape), err)
	// Output:
	// 24 <nil>
	// 1 <nil>
	// true invalid dims: negative dim -1 in [2 -1]
}

func ExampleDType() {
	for _, d := range []graph.DType{graph.Float32, graph.Int64, graph.BFloat16, graph.Bool, graph.Int4, graph.DType(99)} {
		fmt.Printf("%-9s known=%-5t bits=%-2d float=%-5t 10 values take %d bytes\n",
			d, d.Known(), d.Bits(), d.IsFloat(), d.ByteLen(10))
	}
	// Output:
	// float32   known=true  bits=32 float=true  10 values take 40 bytes
	// int64     known=true  bits=64 float=false 10 values take 80 bytes
	// bfloat16  known=true  bits=16 float=true  10 values take 20 bytes
	// bool      known=true  bits=8  float=false 10 values take 10 bytes
	// int4      known=true  bits=4  float=false 10 values take 5 bytes
	// dtype(99) known=false bits=0  float=false 10 values take -1 bytes
}

func ExampleDim_String() {
	dims := []graph.Dim{
		{Value: 3, HasValue: true},
		{Param: "batch", HasParam: true},
		{}, // neither: unknown
	}
	for _, d := range dims {
		fmt.Println(d)
	}
	// Output:
	// 3
	// batch
	// ?
}

func ExampleGraph_SortTopological() {
	g := &graph.Graph{Nodes: []*graph.Node{
		{Name: "relu", OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
		{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
	}}
	if err := g.SortTopological(); err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range g.Nodes {
		fmt.Println(n.Name)
	}

	// A cycle: a reads b's output and b reads a's.
	g = &graph.Graph{Nodes: []*graph.Node{
		{Name: "a", OpType: "Add", Inputs: []string{"x", "b_out"}, Outputs: []string{"a_out"}},
		{Name: "b", OpType: "Relu", Inputs: []string{"a_out"}, Outputs: []string{"b_out"}},
	}}
	err := g.SortTopological()
	var cycle *graph.CycleError
	fmt.Println(errors.As(err, &cycle), err)
	// Output:
	// conv
	// relu
	// true graph has a cycle through "a" (Add), "b" (Relu)
}

func ExampleRole_Trainable() {
	for _, r := range []graph.Role{graph.RoleWeight, graph.RoleBias, graph.RoleRunningMean, graph.RoleBuffer} {
		fmt.Println(r, r.Trainable())
	}
	// Output:
	// weight true
	// bias true
	// running_mean false
	// buffer false
}
