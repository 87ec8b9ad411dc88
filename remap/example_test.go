package remap_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

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

// ExampleApply is PyTorch's fine-tuning recipe in Go, step by step:
//
//	pretrained = torch.load("lenet_0to4.pt")                                # 1. load
//	pretrained = {k: v for k, v in pretrained.items() if k in model_state}  # 2. filter
//	model_state.update(pretrained); model.load_state_dict(model_state)      # 3. load
//
// where PyTorch would stop at the head's shape mismatch, Apply reports it and
// keeps the new model's head.
func ExampleApply() {
	// 1. Load the pretrained model (5 classes) and the new one (10 classes).
	pretrained, err := importer.Load("../models/mnist_lenet_0to4.onnx")
	if err != nil {
		log.Fatal(err)
	}
	model, err := importer.Load("../models/mnist_lenet_10.onnx")
	if err != nil {
		log.Fatal(err)
	}
	head := bytes.Clone(initializer(model, "fc3.weight"))

	// 2 and 3. Filter the pretrained tensors by name, shape and type, and
	// load them into the new model.
	rep, err := remap.Apply(pretrained, model, remap.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("matched:", rep.Matched)
	for _, m := range rep.Mismatched {
		fmt.Printf("mismatched: %s %s -> %s\n", m.Name, m.From, m.Into)
	}
	fmt.Println("missing:", rep.Missing, "unexpected:", rep.Unexpected)
	fmt.Println("conv1.weight is the pretrained one:", bytes.Equal(initializer(model, "conv1.weight"), initializer(pretrained, "conv1.weight")))
	fmt.Println("fc3.weight is the new model's:", bytes.Equal(initializer(model, "fc3.weight"), head))

	// The model to fine-tune, written atomically.
	dir, err := os.MkdirTemp("", "remap")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := export.WriteFile(filepath.Join(dir, "lenet10.onnx"), model); err != nil {
		log.Fatal(err)
	}
	// Output:
	// matched: [conv1.weight conv1.bias conv2.weight conv2.bias fc1.weight fc1.bias fc2.weight fc2.bias]
	// mismatched: fc3.weight float32[5,84] -> float32[10,84]
	// mismatched: fc3.bias float32[5] -> float32[10]
	// missing: [] unexpected: []
	// conv1.weight is the pretrained one: true
	// fc3.weight is the new model's: true
}

// initializer returns the values of parameter name as the file stores them.
func initializer(m *graph.Model, name string) []byte {
	return m.Graph.Initializer(m.Param(name).Initializer).Raw
}

// A model saved from nn.DataParallel names its tensors "module.fc.weight":
// a rule strips the prefix. Rules apply in order, each to what the rules
// before it made; Apply reports a rule that matches nothing as a warning.
func ExampleParseRules() {
	rules, err := remap.ParseRules([]string{`^module\.=`, `^backbone\.(.*)=$1`})
	if err != nil {
		log.Fatal(err)
	}
	name := "module.backbone.fc.weight"
	for _, r := range rules {
		name = r.Pattern.ReplaceAllString(name, r.Replace)
		fmt.Printf("%-22s -> %s\n", r, name)
	}
	_, err = remap.ParseRules([]string{`^module\.`})
	fmt.Println(err)
	// Output:
	// ^module\.=             -> backbone.fc.weight
	// ^backbone\.(.*)=$1     -> fc.weight
	// invalid rename rule "^module\\.": want REGEXP=REPLACEMENT
}

// ReplaceHead is model.fc3 = nn.Linear(84, 10) on an export.
func ExampleReplaceHead() {
	m, err := importer.Load("../models/mnist_lenet_0to4.onnx")
	if err != nil {
		log.Fatal(err)
	}
	if err := remap.ReplaceHead(m, "fc3", 10, 1); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"fc3.weight", "fc3.bias"} {
		p := m.Param(name)
		fmt.Println(name, p.Shape, "held by", p.Initializer)
	}
	_, dims, _ := m.Graph.Outputs[0].TensorShape()
	fmt.Println("output", m.Graph.Outputs[0].Name, dims)
	// Output:
	// fc3.weight [10 84] held by fc3.weight
	// fc3.bias [10] held by fc3.bias
	// output logits [batch 10]
}

func ExampleToInference() {
	m, err := importer.Load("../models/bn_cnn_training.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Opset 13 training mode: BatchNormalization also outputs the updated
	// running statistics.
	bn := m.Graph.Node("/bn1/BatchNormalization")
	fmt.Println("before:", bn, "has", len(bn.Outputs), "outputs")

	changed, err := remap.ToInference(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("changed", changed, "nodes")
	fmt.Println("after:", bn, "has", len(bn.Outputs), "output:", bn.Outputs)

	// A second call finds nothing left to change.
	changed, err = remap.ToInference(m)
	fmt.Println("changed", changed, "nodes", err)
	// Output:
	// before: "/bn1/BatchNormalization" (BatchNormalization) has 5 outputs
	// changed 2 nodes
	// after: "/bn1/BatchNormalization" (BatchNormalization) has 1 output: [/bn1/BatchNormalization_output_0]
	// changed 0 nodes <nil>
}
