package importer_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/onnxtune/onnxtune/importer"
)

func ExampleLoad() {
	m, err := importer.Load("../models/lenet.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := m.OpsetVersion("")
	fmt.Println("opset", v, "with", len(m.Graph.Nodes), "nodes")
	for _, in := range m.Graph.Inputs {
		dt, dims, _ := in.TensorShape()
		fmt.Println("input", in.Name, dt, dims)
	}
	for _, out := range m.Graph.Outputs {
		dt, dims, _ := out.TensorShape()
		fmt.Println("output", out.Name, dt, dims)
	}
	for _, p := range m.Params[:4] {
		fmt.Println("param", p.Name, p.Shape, p.Role)
	}
	fmt.Println("...", len(m.Params), "params in all")
	// Output:
	// opset 13 with 12 nodes
	// input input float32 [batch 3 32 32]
	// output logits float32 [batch 10]
	// param conv1.weight [6 3 5 5] weight
	// param conv1.bias [6] bias
	// param conv2.weight [16 6 5 5] weight
	// param conv2.bias [16] bias
	// ... 10 params in all
}

func ExampleDecode() {
	b, err := os.ReadFile("../models/lenet.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := importer.Decode(b, importer.Options{})
	fmt.Println(len(m.Graph.Initializers), "initializers", err)

	// Bad input is an error, never a panic.
	_, err = importer.Decode(b[:len(b)/2], importer.Options{})
	fmt.Println(errors.Is(err, importer.ErrFormat))
	_, err = importer.Decode(nil, importer.Options{})
	fmt.Println(errors.Is(err, importer.ErrEmpty), err)
	// Output:
	// 10 initializers <nil>
	// true
	// true empty input
}
