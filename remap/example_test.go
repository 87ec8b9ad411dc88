package remap_test

import (
	"fmt"
	"log"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

func ExampleModulePath() {
	for _, name := range []string{
		"/layer1/layer1.0/conv1/Conv",
		"/features/features.1/conv/conv.0/conv.0.0/Conv",
		"/encoder/layers.0/linear2/MatMul",
		"/fc/Gemm",
		"/Flatten", // no module: the op ran in the top-level forward
		"Conv_12",  // not a PyTorch 1.13+ scope name
	} {
		fmt.Printf("%-48s -> %q\n", name, remap.ModulePath(name))
	}
	// Output:
	// /layer1/layer1.0/conv1/Conv                      -> "layer1.0.conv1"
	// /features/features.1/conv/conv.0/conv.0.0/Conv   -> "features.1.conv.0.0"
	// /encoder/layers.0/linear2/MatMul                 -> "encoder.layers.0.linear2"
	// /fc/Gemm                                         -> "fc"
	// /Flatten                                         -> ""
	// Conv_12                                          -> ""
}

func ExampleIsStateDictName() {
	for _, name := range []string{"layer1.0.conv1.weight", "fc.bias", "onnx::Conv_193", "/conv1/Constant_output_0"} {
		fmt.Println(name, remap.IsStateDictName(name))
	}
	// Output:
	// layer1.0.conv1.weight true
	// fc.bias true
	// onnx::Conv_193 false
	// /conv1/Constant_output_0 false
}

// bn_cnn_eval.onnx was exported with constant folding: each Conv+BatchNorm
// pair became one Conv whose weight and bias the exporter named
// "onnx::Conv_N". Recover names them after the module that reads them.
func ExampleRecover() {
	m, err := importer.Load("../models/bn_cnn_eval.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Params = nil // importer.Load already recovered them; start again
	if err := remap.Recover(m); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range m.Params {
		if p.Recovered {
			fmt.Printf("%s -> %s %v (read by %s)\n", p.Initializer, p.Name, p.Shape, p.Node)
		} else {
			fmt.Printf("%s kept its name\n", p.Name)
		}
	}
	// Output:
	// onnx::Conv_27 -> conv1.weight [8 3 3 3] (read by /conv1/Conv)
	// onnx::Conv_28 -> conv1.bias [8] (read by /conv1/Conv)
	// onnx::Conv_30 -> conv2.weight [16 8 3 3] (read by /conv2/Conv)
	// onnx::Conv_31 -> conv2.bias [16] (read by /conv2/Conv)
	// fc.weight kept its name
	// fc.bias kept its name
}

func ExampleRename() {
	m, err := importer.Load("../models/bn_cnn_eval.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := remap.Rename(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("renamed", n, "initializers")
	for _, t := range m.Graph.Initializers {
		fmt.Println(t.Name)
	}
	// Output:
	// renamed 4 initializers
	// fc.weight
	// fc.bias
	// conv1.weight
	// conv1.bias
	// conv2.weight
	// conv2.bias
}

// bn_tied.onnx holds two fresh BatchNorm2d layers: weight and running_var
// are all ones, bias and running_mean all zeros, and the exporter stored each
// of those tensors once, the other names reaching it through Identity nodes.
func ExampleUntie() {
	m, err := importer.Load("../models/bn_tied.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range m.Params {
		if p.Tied {
			fmt.Printf("%s reads %s\n", p.Name, p.Initializer)
		}
	}
	fmt.Println("Identity nodes:", m.Graph.OpCounts()["Identity"])

	n, err := remap.Untie(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	tied := 0
	for _, p := range m.Params {
		if p.Tied || p.Initializer != p.Name {
			tied++
		}
	}
	fmt.Println("untied", n, "params; still tied:", tied, "Identity nodes:", m.Graph.OpCounts()["Identity"])
	// Output:
	// bn1.weight reads bn1.weight
	// bn1.bias reads bn1.bias
	// bn1.running_var reads bn1.weight
	// bn1.running_mean reads bn1.bias
	// bn2.running_var reads bn1.weight
	// bn2.running_mean reads bn1.bias
	// bn2.bias reads bn1.bias
	// bn2.weight reads bn1.weight
	// Identity nodes: 6
	// untied 6 params; still tied: 0 Identity nodes: 0
}

// ExampleApply is PyTorch's fine-tuning recipe in Go: load the pretrained
// model, keep what fits into the new model, load it.
//
//	pretrained = {k: v for k, v in pretrained.items() if k in model_state}
//	model_state.update(pretrained)
//	model.load_state_dict(model_state)
func ExampleApply() {
	pretrained, err := importer.Load("../models/mnist_lenet_0to4.onnx") // 5 classes
	if err != nil {
		log.Fatal(err)
	}
	model, err := importer.Load("../models/mnist_lenet_10.onnx") // 10 classes
	if err != nil {
		log.Fatal(err)
	}
	rep, err := remap.Apply(pretrained, model, remap.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("matched:", rep.Matched)
	for _, m := range rep.Mismatched {
		fmt.Printf("mismatched: %s %s -> %s\n", m.Name, m.From, m.Into)
	}
	fmt.Println("missing:", len(rep.Missing), "unexpected:", len(rep.Unexpected))
	// Output:
	// matched: [conv1.weight conv1.bias conv2.weight conv2.bias fc1.weight fc1.bias fc2.weight fc2.bias]
	// mismatched: fc3.weight float32[5,84] -> float32[10,84]
	// mismatched: fc3.bias float32[5] -> float32[10]
	// missing: 0 unexpected: 0
}
