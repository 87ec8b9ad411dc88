package ops

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// boolScalar is a one-element bool tensor (the test harness writes bool
// initializers from slices).
func boolScalar(v bool) *tensor.Dense { return Dense([]int{1}, []bool{v}) }

// dropoutCase is a Dropout node in training form for an opset.
type dropoutCase struct {
	name  string
	opset int64
	attrs []*graph.Attribute
	args  func(x *tensor.Dense) []arg
	ratio float64
}

func dropoutCases() []dropoutCase {
	return []dropoutCase{
		{"opset 13 ratio input", 13, nil, func(x *tensor.Dense) []arg {
			return []arg{{Name: "x", Value: x}, {Name: "ratio", Value: scalarF64(0.3), Const: true}, {Name: "training_mode", Value: boolScalar(true), Const: true}}
		}, 0.3},
		{"opset 12 default ratio", 12, nil, func(x *tensor.Dense) []arg {
			return []arg{{Name: "x", Value: x}, {Name: "", Value: nil}, {Name: "training_mode", Value: boolScalar(true), Const: true}}
		}, 0.5},
		{"opset 10 ratio attribute", 10, []*graph.Attribute{attrFloat("ratio", 0.25)}, func(x *tensor.Dense) []arg {
			return []arg{{Name: "x", Value: x}}
		}, 0.25},
		{"opset 7 float mask", 7, nil, func(x *tensor.Dense) []arg { return []arg{{Name: "x", Value: x}} }, 0.5},
		{"opset 6 is_test 0", 6, []*graph.Attribute{attrInt("is_test", 0), attrFloat("ratio", 0.6)}, func(x *tensor.Dense) []arg {
			return []arg{{Name: "x", Value: x}}
		}, 0.6},
	}
}

// maskOf reads a mask output (bool, or float before opset 10).
func maskOf(t *testing.T, m *tensor.Dense) []bool {
	t.Helper()
	switch d := m.Data().(type) {
	case []bool:
		return d
	case []float64:
		out := make([]bool, len(d))
		for i, v := range d {
			out[i] = v != 0
		}
		return out
	}
	t.Fatalf("mask of type %v", m.Dtype())
	return nil
}

// TestDropoutTraining checks, compiled for training, that each run draws a
// fresh mask, that about ratio of the elements drop, and that the kept ones
// are scaled by 1/(1-ratio) as the mask output says.
func TestDropoutTraining(t *testing.T) {
	x := randF64(20, 0.5, 1.5, 50, 80)
	xs, _ := Data[float64](x)
	for _, tc := range dropoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args(x)
			m, shapes := oneNode("Dropout", tc.opset, tc.attrs, 2, args...)
			p, err := Compile(m, shapes, Options{Train: true, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var prev []bool
			for r := 0; r < 2; r++ {
				outs, err := p.Run(map[string]*tensor.Dense{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				y, _ := Data[float64](outs[0])
				mask := maskOf(t, outs[1])
				dropped := 0
				for i, v := range y {
					want := 0.0
					if mask[i] {
						want = xs[i] / (1 - tc.ratio)
					} else {
						dropped++
					}
					if math.Abs(v-want) > 1e-12 {
						t.Fatalf("run %d element %d: %g, mask %v, x %g", r, i, v, mask[i], xs[i])
					}
				}
				frac := float64(dropped) / float64(len(y))
				if math.Abs(frac-tc.ratio) > 0.03 {
					t.Errorf("run %d dropped %.3f, want about %g", r, frac, tc.ratio)
				}
				if prev != nil {
					same := true
					for i := range mask {
						same = same && mask[i] == prev[i]
					}
					if same {
						t.Error("the second run drew the same mask")
					}
				}
				prev = append([]bool(nil), mask...)
			}
		})
	}
}

// TestDropoutTrainingGradient differentiates loss = sum(w * y) through a
// training Dropout: the gradient must be w * mask / (1-ratio) for the mask
// the same run drew, which is y/x, the exact derivative for that mask.
func TestDropoutTrainingGradient(t *testing.T) {
	x := randF64(21, 0.5, 1.5, 6, 40)
	xs, _ := Data[float64](x)
	for _, tc := range dropoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode("Dropout", tc.opset, tc.attrs, 2, tc.args(x)...)
			p, err := Compile(m, shapes, Options{Train: true, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			y, mask := p.Outputs[0].Node, p.Outputs[1].Node
			w := randF64(22, -1, 1, 6, 40)
			wn := G.NewTensor(p.Graph, tensor.Float64, 2, G.WithName("w"), G.WithShape(6, 40), G.WithValue(w))
			loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, wn))))
			grads, err := G.Grad(loss, p.Inputs["x"])
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(p.Graph)
			defer vm.Close()
			for r := 0; r < 3; r++ {
				if err := G.Let(p.Inputs["x"], x); err != nil {
					t.Fatal(err)
				}
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				gd, _ := asDense(grads[0].Value())
				g, _ := Data[float64](gd)
				yd, _ := asDense(y.Value())
				ys, _ := Data[float64](yd)
				md, _ := asDense(mask.Value())
				ms := maskOf(t, md)
				ws, _ := Data[float64](w)
				for i := range g {
					want := 0.0
					if ms[i] {
						want = ws[i] / (1 - tc.ratio)
					}
					if math.Abs(g[i]-want) > 1e-12 || math.Abs(g[i]-ws[i]*ys[i]/xs[i]) > 1e-12 {
						t.Fatalf("run %d element %d: gradient %g, want %g (mask %v)", r, i, g[i], want, ms[i])
					}
				}
				vm.Reset()
			}
		})
	}
}

// TestDropoutInference checks what does not drop: a model compiled for
// inference, whatever the node's form, and a ratio of 0. The output is the
// input and the mask all true.
func TestDropoutInference(t *testing.T) {
	x := randF64(23, -1, 1, 4, 5)
	xs, _ := Data[float64](x)
	type tcase struct {
		name  string
		train bool
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}
	cases := []tcase{
		{"opset 13 ratio 0", true, 13, nil, []arg{{Name: "x", Value: x}, {Name: "ratio", Value: scalarF64(0), Const: true}, {Name: "training_mode", Value: boolScalar(true), Const: true}}},
	}
	for _, dc := range dropoutCases() {
		cases = append(cases, tcase{"not training/" + dc.name, false, dc.opset, dc.attrs, dc.args(x)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, outs := runOpts(t, Options{Train: tc.train}, "Dropout", tc.opset, tc.attrs, 2, tc.args...)
			y, _ := Data[float64](outs[0])
			for i, m := range maskOf(t, outs[1]) {
				if !m || y[i] != xs[i] {
					t.Fatalf("element %d: %g (mask %v), input %g", i, y[i], m, xs[i])
				}
			}
		})
	}
}

func TestDropoutGradients(t *testing.T) {
	x := randF64(24, -1, 1, 3, 4)
	for _, dc := range dropoutCases() {
		t.Run(dc.name, func(t *testing.T) {
			gradCheck(t, "Dropout", dc.opset, dc.attrs, dc.args(x)...)
		})
	}
}

func TestDropoutErrors(t *testing.T) {
	x := randF64(25, -1, 1, 3)
	for _, tc := range []struct {
		name string
		args []arg
	}{
		{"ratio from the graph", []arg{{Name: "x", Value: x}, {Name: "r", Value: scalarF64(0.5)}, {Name: "mode", Value: boolScalar(true), Const: true}}},
		{"ratio above 1", []arg{{Name: "x", Value: x}, {Name: "r", Value: scalarF64(1.5), Const: true}, {Name: "mode", Value: boolScalar(true), Const: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode("Dropout", 13, nil, 1, tc.args...)
			if _, err := Compile(m, shapes, Options{Train: true}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestDropoutTrainsAnyForm: compiled for training, Dropout drops as PyTorch's
// model.train() does even where the export wrote an inference form.
func TestDropoutTrainsAnyForm(t *testing.T) {
	x := randF64(26, 0.5, 1, 8, 16)
	xs, _ := Data[float64](x)
	for _, tc := range []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}{
		{"opset 13 training_mode false", 13, nil, []arg{{Name: "x", Value: x}, {Name: "ratio", Value: scalarF64(0.5), Const: true}, {Name: "training_mode", Value: boolScalar(false), Const: true}}},
		{"opset 13 no training_mode", 13, nil, []arg{{Name: "x", Value: x}}},
		{"opset 6 is_test 1", 6, []*graph.Attribute{attrInt("is_test", 1)}, []arg{{Name: "x", Value: x}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, outs := runOpts(t, Options{Train: true}, "Dropout", tc.opset, tc.attrs, 2, tc.args...)
			y, _ := Data[float64](outs[0])
			dropped := 0
			for i, m := range maskOf(t, outs[1]) {
				switch {
				case !m && y[i] == 0:
					dropped++
				case m && math.Abs(y[i]-xs[i]*2) < 1e-12:
				default:
					t.Fatalf("element %d: %g (mask %v), input %g", i, y[i], m, xs[i])
				}
			}
			if dropped == 0 || dropped == len(xs) {
				t.Errorf("%d of %d dropped at ratio 0.5", dropped, len(xs))
			}
		})
	}
}
