package remap_test

import (
	"bytes"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

// TestReplaceHead: ResNet-18's fc becomes a 5-class layer: ONNX Runtime gives
// 5 outputs, every other tensor is bit-identical, node names are kept.
func TestReplaceHead(t *testing.T) {
	cases := []struct{ file, layer string }{{"mnist_lenet_10.onnx", "fc3"}}
	if !testing.Short() {
		for _, e := range testmodels.Big(t) {
			if e.File == "resnet18_eval.onnx" {
				cases = append(cases, struct{ file, layer string }{e.Path(), "fc"})
			}
		}
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := c.file
			if c.layer == "fc3" {
				path = sample(c.file)
			}
			orig, m := load(t, path), load(t, path)
			if err := remap.ReplaceHead(m, c.layer, 5, 1); err != nil {
				t.Fatal(err)
			}
			if p := m.Param(c.layer + ".weight"); p == nil || p.Shape[0] != 5 {
				t.Fatalf("%s.weight after surgery: %+v", c.layer, p)
			}
			for _, p := range orig.Params {
				if p.Name == c.layer+".weight" || p.Name == c.layer+".bias" {
					continue
				}
				if !bytes.Equal(raw(t, orig, p.Name), raw(t, m, p.Name)) {
					t.Errorf("%s changed", p.Name)
				}
			}
			for i, n := range orig.Graph.Nodes {
				if m.Graph.Nodes[i].Name != n.Name {
					t.Fatalf("node %d renamed: %s -> %s", i, n.Name, m.Graph.Nodes[i].Name)
				}
			}
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			_, dims, _ := orig.Graph.Inputs[0].TensorShape()
			shape := []int64{2}
			size := 2
			for _, d := range dims[1:] {
				shape = append(shape, d.Value)
				size *= int(d.Value)
			}
			x := make([]float32, size)
			outs, err := ort.Run(b, []ort.Tensor{{Name: "input", Shape: shape, Data: x}}, 2)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			if got := outs[0].Shape; len(got) != 2 || got[1] != 5 {
				t.Errorf("onnxruntime output shape %v, want [2 5]", got)
			}
			_, od, _ := m.Graph.Outputs[0].TensorShape()
			if od[len(od)-1].Value != 5 {
				t.Errorf("declared output shape %v", od)
			}
		})
	}
}
