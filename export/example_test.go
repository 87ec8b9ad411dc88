package export_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
)

func ExampleWriteFile() {
	m, err := importer.Load("../models/lenet.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "onnxtune-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	out := filepath.Join(dir, "lenet.onnx")
	if err := export.WriteFile(out, m); err != nil {
		fmt.Println(err)
		return
	}
	back, err := importer.Load(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("nodes:", len(m.Graph.Nodes), "written,", len(back.Graph.Nodes), "read back")
	fmt.Println("same node count:", len(back.Graph.Nodes) == len(m.Graph.Nodes))
	fmt.Println("same params:", len(back.Params) == len(m.Params))

	// Unchanged, the model comes back as the bytes PyTorch wrote.
	orig, _ := os.ReadFile("../models/lenet.onnx")
	written, _ := os.ReadFile(out)
	fmt.Println("same bytes:", bytes.Equal(orig, written))
	// Output:
	// nodes: 12 written, 12 read back
	// same node count: true
	// same params: true
	// same bytes: true
}

func ExampleEncode() {
	m, err := importer.Load("../models/lenet.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m.ProducerName = "onnxtune"
	b, err := export.Encode(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := importer.Decode(b, importer.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.ProducerName, len(back.Graph.Initializers), "initializers")
	// Output:
	// onnxtune 10 initializers
}
