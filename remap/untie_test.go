package remap_test

import (
	"math"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/remap"
)

func TestUntie(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "bn_tied.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tied := 0
	for _, p := range m.Params {
		if p.Tied {
			tied++
		}
	}
	if tied == 0 {
		t.Fatal("bn_tied.onnx has no tied parameters: the fixture no longer tests untying")
	}
	n, err := remap.Untie(m)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("nothing untied")
	}
	seen := make(map[string]bool)
	for _, p := range m.Params {
		if p.Tied || p.Value != p.Initializer {
			t.Errorf("%s still tied to %s", p.Name, p.Initializer)
		}
		if seen[p.Initializer] {
			t.Errorf("initializer %s serves two parameters", p.Initializer)
		}
		seen[p.Initializer] = true
	}
	for _, node := range m.Graph.Nodes {
		if node.OpType == "Identity" {
			t.Errorf("Identity %s left after untying", node.Name)
		}
	}
	for _, name := range []string{"bn1.running_var", "bn2.weight", "bn2.running_mean"} {
		if m.Graph.Initializer(name) == nil {
			t.Errorf("no initializer %s after untying", name)
		}
	}
}

// TestConvertConstantWeights: Convert (what 'onnxtune convert' does) on a
// dynamo export whose parameters are Constant nodes
// (models/make_constant_weights.py) leaves them in their nodes: Untie
// failed with 'parameter "conv1.weight": initializer "conv1.weight" not
// found'. The result still gives PyTorch's logits (models/today's
// lenet.expected.npz, for the same weights).
func TestConvertConstantWeights(t *testing.T) {
	m := load(t, sample(filepath.Join("constants", "lenet_dynamo_constants.onnx")))
	constants := 0
	for _, p := range m.Params {
		if p.Constant {
			constants++
		}
	}
	if constants == 0 {
		t.Fatal("the fixture has no parameter in a Constant node")
	}
	if _, err := remap.Convert(m); err != nil {
		t.Fatalf("Convert: %v", err)
	}
	b := encode(t, m)
	back, err := importer.Decode(b, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npz.Read(sample(filepath.Join("today", "lenet.expected.npz")))
	if err != nil {
		t.Fatal(err)
	}
	x := ref["x"]
	r, err := ops.NewRunner(back, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Run(map[string]*tensor.Dense{back.Graph.Inputs[0].Name: ops.Dense(x.Shape, x.Data.([]float32))})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := ops.Data[float32](got[0])
	want := ref["logits"].Data.([]float32)
	if len(y) != len(want) {
		t.Fatalf("%d logits, PyTorch %d", len(y), len(want))
	}
	for i := range y {
		if d := math.Abs(float64(y[i] - want[i])); d > 1e-5 {
			t.Fatalf("logit %d: %g, PyTorch %g", i, y[i], want[i])
		}
	}
}

// TestConvertQDQ: onnxruntime.quantization's QDQ models
// (models/make_quant.py) name the DequantizeLinear output of a bias after
// the parameter ("conv1.bias" from "conv1.bias_quantized"): Rename leaves
// such an initializer its name instead of failing Convert with 'cannot
// rename "conv1.bias_quantized" to "conv1.bias"', and renames the others.
// The converted model computes what the file did.
func TestConvertQDQ(t *testing.T) {
	for _, file := range []string{"qdq_cnn_pt.onnx", "qdq_cnn_pc.onnx"} {
		t.Run(file, func(t *testing.T) {
			path := sample(filepath.Join("quant", file))
			m := load(t, path)
			if _, err := remap.Convert(m); err != nil {
				t.Fatalf("Convert: %v", err)
			}
			for _, p := range m.Params {
				want := p.Name
				if p.Role == "bias" {
					want = p.Name + "_quantized"
				}
				if p.Initializer != want {
					t.Errorf("%s: initializer %q, want %q", p.Name, p.Initializer, want)
				}
			}
			back, err := importer.Decode(encode(t, m), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := npz.Read(sample(filepath.Join("quant", file[:len(file)-len(".onnx")]+"_sgd.npz")))
			if err != nil {
				t.Fatal(err)
			}
			x := ref["x"]
			var outs [2][]float32
			for i, mm := range []*graph.Model{load(t, path), back} {
				r, err := ops.NewRunner(mm, ops.Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Run(map[string]*tensor.Dense{mm.Graph.Inputs[0].Name: ops.Dense(x.Shape, x.Data.([]float32))})
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				outs[i], _ = ops.Data[float32](got[0])
			}
			for i := range outs[0] {
				if outs[0][i] != outs[1][i] {
					t.Fatalf("output %d: %g converted, %g before", i, outs[1][i], outs[0][i])
				}
			}
		})
	}
}
