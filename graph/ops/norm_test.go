package ops

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// normGradCheck is gradCheck with compile options (Train) and nOut outputs
// on the node (output 0 is differentiated); scalar graph inputs are
// supported. Every float64 graph input is differentiated; pass statistics
// and other non-differentiable inputs as Const.
func normGradCheck(t *testing.T, opts Options, op string, opset int64, attrs []*graph.Attribute, nOut int, args ...arg) {
	t.Helper()
	m, shapes := oneNode(op, opset, attrs, nOut, args...)
	p, err := Compile(m, shapes, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out := p.Outputs[0]
	if out.IsConst() {
		t.Fatal("output folded to a constant: nothing to differentiate")
	}
	wr := rand.New(rand.NewSource(99))
	w := make([]float64, out.Size())
	for i := range w {
		w[i] = wr.Float64()*2 - 1
	}
	wShape := max1(out.Shape)
	wn := G.NewTensor(p.Graph, tensor.Float64, len(wShape), G.WithName("w"), G.WithShape(wShape...), G.WithValue(Dense(wShape, w)))
	lossNode, err := NewNode(p.Graph, "loss", Spec{Name: "WeightedSum", Shape: []int{}, DType: graph.Float64,
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			y, _ := Data[float64](in[0])
			ww, _ := Data[float64](in[1])
			s := 0.0
			for i := range y {
				s += y[i] * ww[i]
			}
			return tensor.New(tensor.FromScalar(s)), nil
		},
		WRT: []bool{true, false},
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			shape := ShapeOf(inputs[0])
			n, err := NewNode(grad.Graph(), "lossgrad", Spec{Name: "WeightedSumGrad", Shape: shape, DType: graph.Float64,
				Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
					g, _ := Data[float64](in[0])
					ww, _ := Data[float64](in[1])
					r := make([]float64, len(ww))
					for i := range r {
						r[i] = g[0] * ww[i]
					}
					return Dense(shape, r), nil
				}}, grad, inputs[1])
			return G.Nodes{n, nil}, err
		}}, out.Node, wn)
	if err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	var names []string
	vals := make(map[string]*tensor.Dense)
	for _, a := range args {
		if a.Const || a.Name == "" {
			continue
		}
		vals[a.Name] = a.Value
		if a.Value.Dtype() == tensor.Float64 {
			wrt = append(wrt, p.Inputs[a.Name])
			names = append(names, a.Name)
		}
	}
	grads, err := G.Grad(lossNode, wrt...)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for name, v := range vals {
		var gv G.Value = v
		if p.Inputs[name].IsScalar() {
			if gv, err = scalarValue(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := G.Let(p.Inputs[name], gv); err != nil {
			t.Fatal(err)
		}
	}
	if err := vm.RunAll(); err != nil {
		t.Fatalf("run with gradients: %v", err)
	}
	analytic := make([][]float64, len(grads))
	for i, g := range grads {
		d, err := asDense(g.Value())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := Data[float64](d)
		analytic[i] = append([]float64(nil), v...)
	}
	fp, err := Compile(m, shapes, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	loss := func() float64 {
		outs, err := fp.Run(vals)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		y, err := Data[float64](outs[0])
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i := range y {
			s += w[i] * y[i]
		}
		return s
	}
	const eps = 1e-6
	for i, name := range names {
		orig := vals[name]
		x, _ := Data[float64](orig)
		if len(analytic[i]) != len(x) {
			t.Fatalf("d loss / d %s has %d elements, want %d", name, len(analytic[i]), len(x))
		}
		for j := range x {
			at := func(v float64) float64 {
				c := append([]float64(nil), x...)
				c[j] = v
				vals[name] = Dense(Shape(orig), c)
				return loss()
			}
			num := (at(x[j]+eps) - at(x[j]-eps)) / (2 * eps)
			vals[name] = orig
			if d := math.Abs(num - analytic[i][j]); d > 1e-5*max(1, math.Abs(num)) {
				t.Errorf("d loss / d %s[%d]: analytic %.8g, numeric %.8g", name, j, analytic[i][j], num)
				return
			}
		}
	}
}

// bnArgs are BatchNormalization's inputs for c channels: x varies and is
// differentiated with scale and bias; the running statistics are constants.
func bnArgs(shape ...int) []arg {
	c := shape[1]
	return []arg{
		{Name: "x", Value: randF64(1, -2, 2, shape...)},
		{Name: "scale", Value: randF64(2, 0.5, 1.5, c)},
		{Name: "bias", Value: randF64(3, -1, 1, c)},
		{Name: "mean", Value: randF64(4, -0.5, 0.5, c), Const: true},
		{Name: "var", Value: randF64(5, 0.5, 2, c), Const: true},
	}
}

func TestBatchNormGradients(t *testing.T) {
	train := attrInt("training_mode", 1)
	for _, tc := range []struct {
		name  string
		train bool
		opset int64
		attrs []*graph.Attribute
		nOut  int
		shape []int
	}{
		{"eval/NCHW", false, 15, nil, 1, []int{2, 3, 2, 3}},
		{"eval/NC", false, 9, []*graph.Attribute{attrFloat("epsilon", 1e-3)}, 1, []int{4, 3}},
		{"eval/training form compiled for inference", false, 15, []*graph.Attribute{train}, 3, []int{2, 3, 4}},
		{"train/NCHW opset 15", true, 15, []*graph.Attribute{train}, 1, []int{2, 3, 2, 3}},
		{"train/NC opset 15", true, 15, []*graph.Attribute{train, attrFloat("epsilon", 1e-2)}, 3, []int{5, 3}},
		{"train/NCL opset 13, 3 outputs", true, 13, nil, 3, []int{3, 2, 4}},
		{"train/NCHW opset 9, 5 outputs", true, 9, nil, 5, []int{2, 2, 2, 2}},
		{"train/opset 7, spatial", true, 7, []*graph.Attribute{attrInt("spatial", 1)}, 5, []int{2, 3, 2}},
		{"train/inference export stays eval", true, 13, nil, 1, []int{2, 3, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			normGradCheck(t, Options{Train: tc.train}, "BatchNormalization", tc.opset, tc.attrs, tc.nOut, bnArgs(tc.shape...)...)
		})
	}
}

// runTrain compiles a one-node model with opts and runs it once.
func runOpts(t *testing.T, opts Options, op string, opset int64, attrs []*graph.Attribute, nOut int, args ...arg) (*Program, []*tensor.Dense) {
	t.Helper()
	m, shapes := oneNode(op, opset, attrs, nOut, args...)
	p, err := Compile(m, shapes, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	in := make(map[string]*tensor.Dense)
	for _, a := range args {
		if !a.Const && a.Name != "" {
			in[a.Name] = a.Value
		}
	}
	outs, err := p.Run(in)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return p, outs
}

// TestBatchNormRunningUpdates checks the update nodes against PyTorch's
// definition, computed here in float64: running = (1-m)*running + m*batch
// with m = 1 - momentum and the unbiased batch variance.
func TestBatchNormRunningUpdates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opset    int64
		attrs    []*graph.Attribute
		nOut     int
		shape    []int
		momentum float64
	}{
		{"opset 15 default momentum", 15, []*graph.Attribute{attrInt("training_mode", 1)}, 3, []int{4, 3, 2, 5}, 0.9},
		{"opset 15 momentum 0.7, N C", 15, []*graph.Attribute{attrInt("training_mode", 1), attrFloat("momentum", 0.7)}, 1, []int{6, 4}, 0.7},
		{"opset 13", 13, []*graph.Attribute{attrFloat("momentum", 0.99)}, 3, []int{2, 2, 7}, 0.99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := bnArgs(tc.shape...)
			p, _ := runOpts(t, Options{Train: true}, "BatchNormalization", tc.opset, tc.attrs, tc.nOut, args...)
			defer p.Close()
			if len(p.Updates) != 2 {
				t.Fatalf("%d updates, want 2", len(p.Updates))
			}
			n, c := tc.shape[0], tc.shape[1]
			s := sizeOf(tc.shape[2:])
			x, _ := Data[float64](args[0].Value)
			runMean, _ := Data[float64](args[3].Value)
			runVar, _ := Data[float64](args[4].Value)
			m := 1 - tc.momentum
			for k, u := range p.Updates {
				if want := args[3+k].Name; u.Initializer != want {
					t.Errorf("update %d is for %q, want %q", k, u.Initializer, want)
				}
				d, err := asDense(u.Node.Value())
				if err != nil {
					t.Fatal(err)
				}
				got, _ := Data[float64](d)
				for ch := 0; ch < c; ch++ {
					var vals []float64
					for b := 0; b < n; b++ {
						vals = append(vals, x[(b*c+ch)*s:(b*c+ch+1)*s]...)
					}
					mean := 0.0
					for _, v := range vals {
						mean += v
					}
					mean /= float64(len(vals))
					ss := 0.0
					for _, v := range vals {
						ss += (v - mean) * (v - mean)
					}
					want := (1-m)*runMean[ch] + m*mean
					if k == 1 {
						want = (1-m)*runVar[ch] + m*ss/float64(len(vals)-1)
					}
					if math.Abs(got[ch]-want) > 1e-12*max(1, math.Abs(want)) {
						t.Errorf("update %d channel %d: %.15g, want %.15g", k, ch, got[ch], want)
					}
				}
			}
		})
	}
}

// TestBatchNormInferenceForms checks that a model compiled for inference
// records no update and uses the running statistics, and that one compiled
// for training uses batch statistics whatever form the node has (PyTorch's
// model.train() on an inference export).
func TestBatchNormInferenceForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		train bool
		opset int64
		attrs []*graph.Attribute
		nOut  int
	}{
		{"not training", false, 15, []*graph.Attribute{attrInt("training_mode", 1)}, 3},
		{"not training, opset 13 one output", false, 13, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := bnArgs(2, 3, 4)
			p, outs := runOpts(t, Options{Train: tc.train}, "BatchNormalization", tc.opset, tc.attrs, tc.nOut, args...)
			defer p.Close()
			if len(p.Updates) != 0 {
				t.Errorf("%d updates, want none", len(p.Updates))
			}
			ref, refOuts := runOpts(t, Options{}, "BatchNormalization", 15, nil, 1, args...)
			defer ref.Close()
			a, _ := Data[float64](outs[0])
			b, _ := Data[float64](refOuts[0])
			for i := range b {
				if a[i] != b[i] {
					t.Fatalf("element %d: %g, inference BatchNormalization gives %g", i, a[i], b[i])
				}
			}
		})
	}
}

func TestBatchNormErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []arg
	}{
		{"scale size", []arg{{Name: "x", Value: randF64(1, 0, 1, 2, 3)}, {Name: "s", Value: randF64(1, 0, 1, 2)},
			{Name: "b", Value: randF64(1, 0, 1, 3)}, {Name: "m", Value: randF64(1, 0, 1, 3)}, {Name: "v", Value: randF64(1, 0, 1, 3)}}},
		{"one value per channel", []arg{{Name: "x", Value: randF64(1, 0, 1, 1, 3)}, {Name: "s", Value: randF64(1, 0, 1, 3)},
			{Name: "b", Value: randF64(1, 0, 1, 3)}, {Name: "m", Value: randF64(1, 0, 1, 3)}, {Name: "v", Value: randF64(1, 0, 1, 3)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode("BatchNormalization", 15, []*graph.Attribute{attrInt("training_mode", 1)}, 1, tc.args...)
			if _, err := Compile(m, shapes, Options{Train: true}); err == nil {
				t.Fatal("no error")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestBatchNormTrainingConformance runs ONNX's training-mode
// BatchNormalization cases compiled for training (TestConformance compiles
// for inference): Y and the running mean and (biased) variance outputs.
func TestBatchNormTrainingConformance(t *testing.T) {
	for _, name := range []string{"test_batchnorm_example_training_mode", "test_batchnorm_epsilon_training_mode"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("../../../shared/onnx-node-tests", name)
			if _, err := os.Stat(dir); err != nil {
				t.Skip("ONNX conformance cases not found")
			}
			m, err := importer.Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			read := func(f string) *tensor.Dense {
				b, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", f))
				if err != nil {
					t.Fatal(err)
				}
				pb, err := importer.DecodeTensor(b)
				if err != nil {
					t.Fatal(err)
				}
				d, err := TensorFromIR(pb)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			shapes := make(map[string][]int)
			vals := make(map[string]*tensor.Dense)
			for i, in := range m.Graph.Inputs {
				vals[in.Name] = read(fmt.Sprintf("input_%d.pb", i))
				shapes[in.Name] = Shape(vals[in.Name])
			}
			p, err := Compile(m, shapes, Options{Train: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			outs, err := p.Run(vals)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.Graph.Outputs {
				want, _ := Data[float32](read(fmt.Sprintf("output_%d.pb", i)))
				got, _ := Data[float32](outs[i])
				for j := range want {
					if d := math.Abs(float64(got[j] - want[j])); d > 1e-7+1e-3*math.Abs(float64(want[j])) {
						t.Fatalf("output %d element %d: %g, want %g", i, j, got[j], want[j])
					}
				}
			}
			if len(p.Updates) != 2 {
				t.Errorf("%d updates, want 2", len(p.Updates))
			}
		})
	}
}

func TestLayerNormGradients(t *testing.T) {
	x := randF64(1, -2, 2, 2, 3, 4)
	for _, tc := range []struct {
		name  string
		attrs []*graph.Attribute
		nOut  int
		args  []arg
	}{
		{"axis -1 with bias", nil, 1, []arg{{Name: "x", Value: x}, {Name: "scale", Value: randF64(2, 0.5, 1.5, 4)}, {Name: "bias", Value: randF64(3, -1, 1, 4)}}},
		{"axis -1 no bias, 3 outputs", []*graph.Attribute{attrFloat("epsilon", 1e-3)}, 3, []arg{{Name: "x", Value: x}, {Name: "scale", Value: randF64(2, 0.5, 1.5, 4)}}},
		{"axis 1", []*graph.Attribute{attrInt("axis", 1)}, 1, []arg{{Name: "x", Value: x}, {Name: "scale", Value: randF64(2, 0.5, 1.5, 3, 4)}, {Name: "bias", Value: randF64(3, -1, 1, 3, 4)}}},
		{"axis 1, broadcast scale and bias", []*graph.Attribute{attrInt("axis", 1)}, 1, []arg{{Name: "x", Value: x}, {Name: "scale", Value: randF64(2, 0.5, 1.5, 4)}, {Name: "bias", Value: randF64(3, -1, 1, 3, 1)}}},
		{"axis 0", []*graph.Attribute{attrInt("axis", 0)}, 1, []arg{{Name: "x", Value: x}, {Name: "scale", Value: randF64(2, 0.5, 1.5, 2, 3, 4)}, {Name: "bias", Value: randF64(3, -1, 1, 2, 3, 4)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			normGradCheck(t, Options{}, "LayerNormalization", 17, tc.attrs, tc.nOut, tc.args...)
		})
	}
}

func TestLayerNormErrors(t *testing.T) {
	m, shapes := oneNode("LayerNormalization", 17, nil, 1, arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)}, arg{Name: "s", Value: randF64(1, 0, 1, 2)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Fatal("scale of shape [2] for a normalized shape [3]: no error")
	}
}

// BenchmarkBatchNormTrainKernels_b16_c64_56px times the training kernels of
// one BatchNormalization step in float32: statistics, forward, and the
// backward sums and input gradient.
func BenchmarkBatchNormTrainKernels_b16_c64_56px(b *testing.B) {
	l := bnLayout{n: 16, c: 64, s: 56 * 56}
	shape := []int{16, 64, 56, 56}
	r := rand.New(rand.NewSource(1))
	mk := func(n int) *tensor.Dense {
		v := make([]float32, n)
		for i := range v {
			v[i] = r.Float32()
		}
		return Dense([]int{n}, v)
	}
	x := Dense(shape, mk(sizeOf(shape)).Data().([]float32))
	dy := Dense(shape, mk(sizeOf(shape)).Data().([]float32))
	scale, bias := mk(64), mk(64)
	xd, dyd := x.Data().([]float32), dy.Data().([]float32)
	y, dx := make([]float32, len(xd)), make([]float32, len(xd))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		st, err := bnStats[float32](l)([]*tensor.Dense{x})
		if err != nil {
			b.Fatal(err)
		}
		std := st.Data().([]float32)
		bnTrain[float32](l, 1e-5)([][]float32{xd, scale.Data().([]float32), bias.Data().([]float32), std}, y)
		sums, err := bnSums[float32](l, 1e-5, true)([]*tensor.Dense{dy, x, st})
		if err != nil {
			b.Fatal(err)
		}
		bnTrainGradX[float32](l, 1e-5)([][]float32{dyd, xd, scale.Data().([]float32), std, sums.Data().([]float32)}, dx)
	}
}

func TestBatchNormTrainsAnyForm(t *testing.T) {
	args := bnArgs(2, 3, 4)
	ref, refOuts := runOpts(t, Options{Train: true}, "BatchNormalization", 15, []*graph.Attribute{attrInt("training_mode", 1)}, 1, args...)
	defer ref.Close()
	b, _ := Data[float64](refOuts[0])
	for _, tc := range []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
	}{
		{"opset 15 training_mode 0", 15, nil},
		{"opset 13 one output", 13, nil},
		{"opset 6 is_test 1", 6, []*graph.Attribute{attrInt("is_test", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, outs := runOpts(t, Options{Train: true}, "BatchNormalization", tc.opset, tc.attrs, 1, args...)
			defer p.Close()
			if len(p.Updates) != 2 {
				t.Errorf("%d updates, want 2", len(p.Updates))
			}
			a, _ := Data[float64](outs[0])
			for i := range b {
				if math.Abs(a[i]-b[i]) > 1e-12 {
					t.Fatalf("element %d: %g, training BatchNormalization gives %g", i, a[i], b[i])
				}
			}
		})
	}
}
