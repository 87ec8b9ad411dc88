package remap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

// asMatMul rewrites a LeNet's fc3 Gemm as PyTorch writes a Linear on 3-D
// input: MatMul with the weight stored transposed under an anonymized name,
// then Add of the bias.
func asMatMul(t *testing.T, m *graph.Model) *graph.Model {
	t.Helper()
	g := m.Graph
	for i, n := range g.Nodes {
		if n.Name != "/fc3/Gemm" {
			continue
		}
		w := g.Initializer("fc3.weight")
		w.Raw = transposed(w.Raw, int(w.Dims[0]), int(w.Dims[1]), 4)
		w.Dims = []int64{w.Dims[1], w.Dims[0]}
		w.Name = "onnx::MatMul_99"
		mm := &graph.Node{Name: "/fc3/MatMul", OpType: "MatMul", Inputs: []string{n.Inputs[0], w.Name}, Outputs: []string{"/fc3/MatMul_output_0"}}
		add := &graph.Node{Name: "/fc3/Add", OpType: "Add", Inputs: []string{"fc3.bias", "/fc3/MatMul_output_0"}, Outputs: n.Outputs}
		g.Nodes = slices.Replace(g.Nodes, i, i+1, mm, add)
		m.BuildParams()
		if p := m.Param("fc3.weight"); p == nil || !p.Transposed || !p.Recovered {
			t.Fatalf("fc3.weight of the MatMul LeNet: %+v", p)
		}
		return m
	}
	t.Fatal("no /fc3/Gemm")
	return nil
}

// tiedBias makes a LeNet's fc3 read its bias through an Identity of an
// anonymized initializer that another node reads too (the exporter's
// de-duplication of equal tensors), the other reader being a second graph
// output.
func tiedBias(t *testing.T, m *graph.Model) *graph.Model {
	t.Helper()
	g := m.Graph
	b := g.Initializer("fc3.bias")
	b.Name = "onnx::Gemm_shared"
	id := &graph.Node{Name: "Identity_0", OpType: "Identity", Inputs: []string{b.Name}, Outputs: []string{"fc3.bias"}}
	other := &graph.Node{Name: "/other/Mul", OpType: "Mul", Inputs: []string{b.Name, b.Name}, Outputs: []string{"other"}}
	g.Nodes = append([]*graph.Node{id}, append(g.Nodes, other)...)
	out := *g.Outputs[0]
	ty := *out.Type
	ty.Shape = &graph.Shape{Dims: []graph.Dim{{Value: b.Dims[0], HasValue: true}}}
	out.Name, out.Type = "other", &ty
	g.Outputs = append(g.Outputs, &out)
	m.BuildParams()
	if p := m.Param("fc3.bias"); p == nil || p.Value == p.Initializer {
		t.Fatalf("fc3.bias is not tied: %+v", p)
	}
	return m
}

// TestReplaceHead: the layer becomes a fresh one of N classes: ONNX Runtime
// gives N outputs, the declared output says N, the parameters keep their
// names with the new shapes and values in nn.Linear's range, and every other
// tensor, node, opset and input is as it was.
func TestReplaceHead(t *testing.T) {
	cases := []struct {
		name    string
		model   func(t *testing.T) *graph.Model
		layer   string
		classes int
	}{
		{"LeNet Gemm", func(t *testing.T) *graph.Model { return load(t, sample("mnist_lenet_0to4.onnx")) }, "fc3", 10},
		{"LeNet MatMul+Add", func(t *testing.T) *graph.Model { return asMatMul(t, load(t, sample("mnist_lenet_0to4.onnx"))) }, "fc3", 10},
		{"LeNet tied bias", func(t *testing.T) *graph.Model { return tiedBias(t, load(t, sample("mnist_lenet_0to4.onnx"))) }, "fc3", 10},
		{"transformer", func(t *testing.T) *graph.Model { return load(t, sample("transformer_op13.onnx")) }, "fc", 7},
		{"one class", func(t *testing.T) *graph.Model { return load(t, sample("bn_cnn_eval.onnx")) }, "fc", 1},
		{"ResNet-18", func(t *testing.T) *graph.Model { return load(t, big(t, "resnet18_eval.onnx")) }, "fc", 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig, m := c.model(t), c.model(t)
			oldW, oldB := orig.Param(c.layer+".weight"), orig.Param(c.layer+".bias")
			if err := remap.ReplaceHead(m, c.layer, c.classes, 1); err != nil {
				t.Fatal(err)
			}
			// Round trip: what a user loads from the written file.
			m, err := importer.Decode(encode(t, m), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p := m.Param("fc3.bias"); c.name == "LeNet tied bias" && p.Initializer != "fc3.bias" {
				t.Errorf("the tied bias is held by %s, want its own fc3.bias", p.Initializer)
			}
			in := oldW.Shape[1]
			w, b := m.Param(c.layer+".weight"), m.Param(c.layer+".bias")
			if w == nil || b == nil || !slices.Equal(w.Shape, []int64{int64(c.classes), in}) || !slices.Equal(b.Shape, []int64{int64(c.classes)}) {
				t.Fatalf("after surgery: weight %+v, bias %+v", w, b)
			}
			bound := float32(1 / math.Sqrt(float64(in)))
			for _, name := range []string{w.Name, b.Name} {
				for _, v := range floats(torch(t, m, name)) {
					if v < -bound || v > bound {
						t.Fatalf("%s holds %g, outside +-%g", name, v, bound)
					}
				}
			}

			// Everything else is as it was.
			if len(m.Params) != len(orig.Params) {
				t.Errorf("%d parameters, had %d", len(m.Params), len(orig.Params))
			}
			for _, p := range orig.Params {
				if p.Name == w.Name || p.Name == b.Name {
					continue
				}
				q := m.Param(p.Name)
				if q == nil || !bytes.Equal(raw(t, m, p.Name), raw(t, orig, p.Name)) || !slices.Equal(q.Shape, p.Shape) || q.Initializer != p.Initializer {
					t.Errorf("%s changed", p.Name)
				}
			}
			for _, tt := range orig.Graph.Initializers {
				if tt.Name == oldW.Initializer || tt.Name == oldB.Initializer && c.name != "LeNet tied bias" {
					continue
				}
				if u := m.Graph.Initializer(tt.Name); u == nil || !bytes.Equal(u.Raw, tt.Raw) || !slices.Equal(u.Dims, tt.Dims) {
					t.Errorf("initializer %s changed", tt.Name)
				}
			}
			if !slices.EqualFunc(m.Opsets, orig.Opsets, func(a, b graph.Opset) bool { return a.Domain == b.Domain && a.Version == b.Version }) {
				t.Errorf("opsets %v, had %v", m.Opsets, orig.Opsets)
			}
			var names, origNames []string
			for _, n := range m.Graph.Nodes {
				names = append(names, n.Name+" "+n.OpType)
			}
			for _, n := range orig.Graph.Nodes {
				if c.name == "LeNet tied bias" && n.OpType == "Identity" {
					continue // the tie of the old bias, no longer read
				}
				origNames = append(origNames, n.Name+" "+n.OpType)
			}
			if !slices.Equal(names, origNames) {
				t.Errorf("nodes %v, had %v", names, origNames)
			}
			for i, v := range orig.Graph.Inputs {
				if m.Graph.Inputs[i].Name != v.Name {
					t.Errorf("input %d: %s, had %s", i, m.Graph.Inputs[i].Name, v.Name)
				}
			}
			_, od, _ := m.Graph.Outputs[0].TensorShape()
			if d := od[len(od)-1]; !d.HasValue || d.Value != int64(c.classes) {
				t.Errorf("declared output %s: %v", m.Graph.Outputs[0].Name, od)
			}
			if od[0].String() != "batch" {
				t.Errorf("declared output %s lost its symbolic batch: %v", m.Graph.Outputs[0].Name, od)
			}

			// ONNX Runtime runs it.
			x := zeroInput(t, m, 3)
			outs, err := ort.Run(encode(t, m), []ort.Tensor{x}, 2)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			if got := outs[0].Shape; !slices.Equal(got, []int64{3, int64(c.classes)}) {
				t.Errorf("onnxruntime output shape %v, want [3 %d]", got, c.classes)
			}
		})
	}
}

// zeroInput is an input of zeros (0 tokens) for m's first input, batch n.
func zeroInput(t *testing.T, m *graph.Model, n int64) ort.Tensor {
	t.Helper()
	in := m.Graph.Inputs[0]
	dt, dims, ok := in.TensorShape()
	if !ok {
		t.Fatalf("input %s has no shape", in.Name)
	}
	shape, size := []int64{n}, n
	for _, d := range dims[1:] {
		shape = append(shape, d.Value)
		size *= d.Value
	}
	x := ort.Tensor{Name: in.Name, Shape: shape}
	switch dt {
	case graph.Float32:
		x.Data = make([]float32, size)
	case graph.Int64:
		x.Data = make([]int64, size)
	default:
		t.Fatalf("input %s is %s", in.Name, dt)
	}
	return x
}

// floats decodes little-endian float32 values.
func floats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestReplaceHeadInit: the new layer's values follow nn.Linear's
// initialization, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias; the seed
// decides them, whatever the layout the file stores the weight in.
func TestReplaceHeadInit(t *testing.T) {
	head := func(m *graph.Model, seed int64) (w, b []float32) {
		t.Helper()
		if err := remap.ReplaceHead(m, "fc3", 1000, seed); err != nil {
			t.Fatal(err)
		}
		return floats(torch(t, m, "fc3.weight")), floats(torch(t, m, "fc3.bias"))
	}
	lenet := func() *graph.Model { return load(t, sample("mnist_lenet_10.onnx")) }
	w, b := head(lenet(), 1)
	bound := 1 / math.Sqrt(84) // fc3 has 84 inputs
	for _, c := range []struct {
		name string
		v    []float32
	}{{"weight", w}, {"bias", b}} {
		t.Run(c.name, func(t *testing.T) {
			n := float64(len(c.v))
			var sum, sq float64
			lo, hi := math.Inf(1), math.Inf(-1)
			bins := make([]float64, 10)
			for _, x := range c.v {
				f := float64(x)
				sum += f
				sq += f * f
				lo, hi = min(lo, f), max(hi, f)
				bins[min(int((f+bound)/(2*bound)*10), 9)]++
			}
			mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
			sd := bound / math.Sqrt(3) // of U(-bound, bound)
			if math.Abs(mean) > 5*sd/math.Sqrt(n) {
				t.Errorf("mean %g, want 0 within %g", mean, 5*sd/math.Sqrt(n))
			}
			if rel := math.Abs(variance/(sd*sd) - 1); rel > 10/math.Sqrt(n) {
				t.Errorf("variance %g, want %g (relative error %g)", variance, sd*sd, rel)
			}
			if lo < -bound*1.0000001 || hi > bound*1.0000001 || lo > -bound*(1-20/n) || hi < bound*(1-20/n) {
				t.Errorf("range [%g, %g], want about [-%g, %g]", lo, hi, bound, bound)
			}
			for i, k := range bins {
				e := n / 10
				if math.Abs(k-e) > 5*math.Sqrt(e*0.9) {
					t.Errorf("bin %d holds %v values, want %v", i, k, e)
				}
			}
			t.Logf("%d values: mean %.3g, sd %.5g (want %.5g), range [%.5f, %.5f], bound %.5f", len(c.v), mean, math.Sqrt(variance), sd, lo, hi, bound)
		})
	}

	w2, b2 := head(lenet(), 1)
	if !slices.Equal(w, w2) || !slices.Equal(b, b2) {
		t.Errorf("seed 1 twice gave different tensors")
	}
	w3, _ := head(lenet(), 2)
	if slices.Equal(w, w3) {
		t.Errorf("seeds 1 and 2 gave the same weight")
	}
	w4, b4 := head(asMatMul(t, lenet()), 1)
	if !slices.Equal(w, w4) || !slices.Equal(b, b4) {
		t.Errorf("seed 1 gave another head when the weight is stored transposed")
	}
}

func TestReplaceHeadErrors(t *testing.T) {
	cases := []struct {
		name      string
		layer     string
		classes   int
		msg       string
		notLinear bool
		max       int64 // HeadOptions.MaxBytes; 0 for ReplaceHead's default
	}{
		{"no such layer", "nope", 10, `remap: replace head "nope": not a linear layer: the model has no parameter nope.weight`, true, 0},
		{"a conv", "conv1", 10, `conv1.weight is float32[6,1,5,5], not a float32 or float64 matrix`, true, 0},
		{"no classes", "fc3", 0, `remap: replace head "fc3": 0 classes: want 1 or more`, false, 0},
		{"a module, not a parameter prefix", "fc3.weight", 10, "no parameter fc3.weight.weight", true, 0},
		{"too many classes", "fc3", 1 << 30, "1073741824 x 84 weight: more than 2^31 values", false, 0},
		// 10,000,000 x 84 float32 is 3.2 GiB: over the default limit,
		// refused before anything is allocated.
		{"over the default limit", "fc3", 10_000_000, `remap: replace head "fc3": fc3.weight float32[10000000,84] and fc3.bias float32[10000000] would need 3.2 GiB, over the limit of 2 GiB`, false, 0},
		// A layer whose outputs later nodes are sized for: replacing it
		// wrote a model that cannot run (the Gemm after it takes 84
		// features), as model.fc2 = nn.Linear(120, 10) fails in PyTorch
		// at the first forward.
		{"an inner layer", "fc2", 10, `remap: replace head "fc2": node "/fc3/Gemm" (Gemm), after the layer, reads fc3.weight float32[5,84], sized for its 84 outputs: replace that layer instead, or export the model with it removed`, false, 0},
		{"over a limit", "fc3", 100, `remap: replace head "fc3": fc3.weight float32[100,84] and fc3.bias float32[100] would need 33.2 KiB, over the limit of 32 KiB`, false, 32 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := load(t, sample("mnist_lenet_0to4.onnx"))
			before := encode(t, m)
			var err error
			if c.max == 0 {
				err = remap.ReplaceHead(m, c.layer, c.classes, 1)
			} else {
				err = remap.ReplaceHeadWith(m, c.layer, c.classes, remap.HeadOptions{Seed: 1, MaxBytes: c.max})
			}
			if err == nil || !strings.Contains(err.Error(), c.msg) || errors.Is(err, remap.ErrNotLinear) != c.notLinear {
				t.Fatalf("err %v, want %q (ErrNotLinear %v)", err, c.msg, c.notLinear)
			}
			if le := (*graph.LimitError)(nil); strings.Contains(c.msg, "over the limit") && !errors.As(err, &le) {
				t.Errorf("err %v is not a *graph.LimitError", err)
			}
			if !bytes.Equal(encode(t, m), before) {
				t.Errorf("a failed surgery changed the model")
			}
		})
	}
}

// TestReplaceHeadBeforeBatchNorm: replacing the Linear a BatchNorm1d of
// its width follows (models/mlp_bn_eval.onnx: fc1 -> bn -> relu -> fc2)
// is refused naming the BatchNorm, and the model is unchanged; replacing
// fc2, the head, works.
func TestReplaceHeadBeforeBatchNorm(t *testing.T) {
	m := load(t, sample("mlp_bn_eval.onnx"))
	before := encode(t, m)
	err := remap.ReplaceHead(m, "fc1", 16, 1)
	want := `remap: replace head "fc1": node "/bn/BatchNormalization" (BatchNormalization), after the layer, reads bn.weight float32[32], sized for its 32 outputs`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err %v, want %q", err, want)
	}
	if !bytes.Equal(encode(t, m), before) {
		t.Errorf("a failed surgery changed the model")
	}
	if err := remap.ReplaceHead(m, "fc2", 7, 1); err != nil {
		t.Fatalf("the head: %v", err)
	}
}

// TestReplaceHeadThenApply: the surgery and the remap together give the
// model the seed recipe fine-tunes: pretrained backbone, fresh 10-way head.
func TestReplaceHeadThenApply(t *testing.T) {
	pre := load(t, sample("mnist_lenet_0to4.onnx"))
	m := load(t, sample("mnist_lenet_0to4.onnx"))
	if err := remap.ReplaceHead(m, "fc3", 10, 3); err != nil {
		t.Fatal(err)
	}
	rep, err := remap.Apply(pre, m, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 8 || len(rep.Mismatched) != 2 {
		t.Errorf("report %+v", rep)
	}
	x, _ := testmodels.MNISTTest(t, 2)
	outs, err := ort.Run(encode(t, m), []ort.Tensor{{Name: "input", Shape: []int64{2, 1, 28, 28}, Data: x}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(outs[0].Shape, []int64{2, 10}) {
		t.Errorf("output shape %v", outs[0].Shape)
	}
}

// TestReplaceHeadValueInfo: the declared shapes along the way from the layer
// to the outputs get the new class count; others stay.
func TestReplaceHeadValueInfo(t *testing.T) {
	m := asMatMul(t, load(t, sample("mnist_lenet_0to4.onnx")))
	g := m.Graph
	decl := func(name string, dims ...graph.Dim) *graph.ValueInfo {
		return &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: &graph.Shape{Dims: dims}}}
	}
	batch, fixed := graph.Dim{Param: "batch", HasParam: true}, func(v int64) graph.Dim { return graph.Dim{Value: v, HasValue: true} }
	// logits -> Softmax -> probs, and ArgMax -> pred, both graph outputs.
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "/Softmax", OpType: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"probs"},
			Attrs: []*graph.Attribute{{Name: "axis", Type: graph.AttrInt, I: 1}}},
		&graph.Node{Name: "/ArgMax", OpType: "ArgMax", Inputs: []string{"probs"}, Outputs: []string{"pred"},
			Attrs: []*graph.Attribute{{Name: "axis", Type: graph.AttrInt, I: 1}, {Name: "keepdims", Type: graph.AttrInt, I: 0}}})
	pred := decl("pred", batch)
	pred.Type.Elem = graph.Int64
	g.Outputs = append(g.Outputs, decl("probs", batch, fixed(5)), pred)
	g.ValueInfo = append(g.ValueInfo, decl("/fc3/MatMul_output_0", batch, fixed(5)), decl("/relu_3/Relu_output_0", batch, fixed(84)))

	if err := remap.ReplaceHead(m, "fc3", 10, 1); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"logits": "[batch 10]", "probs": "[batch 10]", "pred": "[batch]",
		"/fc3/MatMul_output_0": "[batch 10]", "/relu_3/Relu_output_0": "[batch 84]",
	}
	for _, v := range append(slices.Clone(g.Outputs), g.ValueInfo...) {
		_, dims, _ := v.TensorShape()
		var s []string
		for _, d := range dims {
			s = append(s, d.String())
		}
		if got := "[" + strings.Join(s, " ") + "]"; got != want[v.Name] {
			t.Errorf("%s declared %s, want %s", v.Name, got, want[v.Name])
		}
	}
	outs, err := ort.Run(encode(t, m), []ort.Tensor{zeroInput(t, m, 2)}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	if !slices.Equal(outs[0].Shape, []int64{2, 10}) || !slices.Equal(outs[1].Shape, []int64{2, 10}) || !slices.Equal(outs[2].Shape, []int64{2}) {
		t.Errorf("onnxruntime shapes %v %v %v", outs[0].Shape, outs[1].Shape, outs[2].Shape)
	}
}
