package ops

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func attrString(name, v string) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrString, S: []byte(v)}
}

func TestActivationGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     string
		opset  int64
		attrs  []*graph.Attribute
		lo, hi float64
	}{
		{"Sigmoid", "Sigmoid", 13, nil, -6, 6},
		{"Tanh", "Tanh", 13, nil, -3, 3},
		{"Softplus", "Softplus", 1, nil, -30, 30},
		{"Erf", "Erf", 13, nil, -2, 2},
		{"Mish", "Mish", 18, nil, -6, 6},
		{"HardSwish", "HardSwish", 14, nil, -5, 5},
		{"HardSigmoid default", "HardSigmoid", 6, nil, -4, 4},
		{"HardSigmoid alpha beta", "HardSigmoid", 22, []*graph.Attribute{attrFloat("alpha", 1.0/6), attrFloat("beta", 0.4)}, -5, 5},
		{"Elu default", "Elu", 6, nil, -3, 3},
		{"Elu alpha", "Elu", 22, []*graph.Attribute{attrFloat("alpha", 0.5)}, -3, 3},
		{"Selu default", "Selu", 6, nil, -3, 3},
		{"Selu alpha gamma", "Selu", 22, []*graph.Attribute{attrFloat("alpha", 2), attrFloat("gamma", 3)}, -3, 3},
		{"LeakyRelu default", "LeakyRelu", 16, nil, -2, 2},
		{"LeakyRelu alpha", "LeakyRelu", 6, []*graph.Attribute{attrFloat("alpha", 0.2)}, -2, 2},
		{"Gelu default", "Gelu", 20, nil, -4, 4},
		{"Gelu none", "Gelu", 20, []*graph.Attribute{attrString("approximate", "none")}, -4, 4},
		{"Gelu tanh", "Gelu", 20, []*graph.Attribute{attrString("approximate", "tanh")}, -4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, tc.op, tc.opset, tc.attrs, arg{Name: "x", Value: randF64(7, tc.lo, tc.hi, 3, 11)})
		})
	}
}

// TestActivationFloat32 runs each activation on float32 and compares with
// its float64 path (forward values against ONNX are the conformance cases'
// job).
func TestActivationFloat32(t *testing.T) {
	x64 := randF64(8, -4, 4, 2, 9)
	v64, _ := Data[float64](x64)
	v32 := make([]float32, len(v64))
	for i, v := range v64 {
		v32[i] = float32(v)
	}
	x32 := Dense([]int{2, 9}, v32)
	for _, op := range []string{"Sigmoid", "Tanh", "Softplus", "Mish", "Erf", "HardSwish", "HardSigmoid", "Elu", "Selu", "LeakyRelu", "Gelu", "Softmax", "LogSoftmax", "Clip"} {
		t.Run(op, func(t *testing.T) {
			a := run(t, op, 20, nil, 1, arg{Name: "x", Value: x32})[0]
			b := run(t, op, 20, nil, 1, arg{Name: "x", Value: x64})[0]
			if a.Dtype() != tensor.Float32 {
				t.Fatalf("output is %v, want float32", a.Dtype())
			}
			fa, _ := Data[float32](a)
			fb, _ := Data[float64](b)
			for i := range fb {
				if math.Abs(float64(fa[i])-fb[i]) > 1e-6*max(1, math.Abs(fb[i])) {
					t.Fatalf("element %d: float32 %g, float64 %g", i, fa[i], fb[i])
				}
			}
		})
	}
}

// TestMish: Mish's forward is PyTorch's definition, x * tanh(ln(1 + e^x)),
// including where e^x overflows.
func TestMish(t *testing.T) {
	x := Dense([]int{8}, []float64{-100, -20, -3, -0.5, 0, 0.5, 3, 100})
	y, _ := Data[float64](run(t, "Mish", 18, nil, 1, arg{Name: "x", Value: x})[0])
	xs, _ := Data[float64](x)
	for i, v := range xs {
		want := v * math.Tanh(math.Log1p(math.Exp(v)))
		if v > 50 {
			want = v // ln(1+e^x) = x and tanh(x) = 1 in float64
		}
		if math.Abs(y[i]-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("Mish(%g) = %g, want %g", v, y[i], want)
		}
	}
}

func TestGeluBadApproximation(t *testing.T) {
	m, shapes := oneNode("Gelu", 20, []*graph.Attribute{attrString("approximate", "fast")}, 1, arg{Name: "x", Value: randF64(1, 0, 1, 3)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Fatal("no error")
	}
}

func scalarF64(v float64) *tensor.Dense { return tensor.New(tensor.FromScalar(v)) }

func TestClipGradients(t *testing.T) {
	x := randF64(9, -2, 2, 3, 7)
	for _, tc := range []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}{
		{"opset 6 attributes", 6, []*graph.Attribute{attrFloat("min", -0.5), attrFloat("max", 0.7)}, []arg{{Name: "x", Value: x}}},
		{"opset 6 defaults", 6, nil, []arg{{Name: "x", Value: x}}},
		{"opset 6 max only", 6, []*graph.Attribute{attrFloat("max", 0.3)}, []arg{{Name: "x", Value: x}}},
		{"opset 11 constant bounds", 11, nil, []arg{{Name: "x", Value: x}, {Name: "min", Value: scalarF64(-1), Const: true}, {Name: "max", Value: scalarF64(0.5), Const: true}}},
		{"opset 13 bounds from the graph", 13, nil, []arg{{Name: "x", Value: x}, {Name: "min", Value: scalarF64(-0.8)}, {Name: "max", Value: scalarF64(1.1)}}},
		{"opset 13 min only", 13, nil, []arg{{Name: "x", Value: x}, {Name: "min", Value: scalarF64(0.1)}}},
		{"opset 13 max only", 13, nil, []arg{{Name: "x", Value: x}, {Name: "", Value: nil}, {Name: "max", Value: scalarF64(0.2)}}},
		{"opset 13 no bounds", 13, nil, []arg{{Name: "x", Value: x}}},
		{"opset 13 min above max", 13, nil, []arg{{Name: "x", Value: x}, {Name: "min", Value: scalarF64(0.5)}, {Name: "max", Value: scalarF64(-0.5)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			normGradCheck(t, Options{}, "Clip", tc.opset, tc.attrs, 1, tc.args...)
		})
	}
}

func TestSoftmaxGradients(t *testing.T) {
	x := randF64(10, -3, 3, 2, 3, 4)
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		for _, tc := range []struct {
			name  string
			opset int64
			attrs []*graph.Attribute
		}{
			{"opset 11 default axis (2-D coercion)", 11, nil},
			{"opset 11 axis 2", 11, []*graph.Attribute{attrInt("axis", 2)}},
			{"opset 11 axis 0", 11, []*graph.Attribute{attrInt("axis", 0)}},
			{"opset 13 default axis", 13, nil},
			{"opset 13 axis 1", 13, []*graph.Attribute{attrInt("axis", 1)}},
			{"opset 13 axis -3", 13, []*graph.Attribute{attrInt("axis", -3)}},
		} {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				gradCheck(t, op, tc.opset, tc.attrs, arg{Name: "x", Value: x})
			})
		}
	}
}

// TestSoftmaxLegacyAxis checks that before opset 13 Softmax normalizes over
// everything from axis on, and from 13 along the axis only.
func TestSoftmaxLegacyAxis(t *testing.T) {
	x := randF64(11, -3, 3, 2, 3, 4)
	sums := func(out *tensor.Dense, group int) []float64 {
		v, _ := Data[float64](out)
		var s []float64
		for i := 0; i < len(v); i += group {
			t := 0.0
			for _, e := range v[i : i+group] {
				t += e
			}
			s = append(s, t)
		}
		return s
	}
	for _, tc := range []struct {
		opset int64
		group int // consecutive elements that sum to 1
	}{{11, 12}, {13, 4}} {
		out := run(t, "Softmax", tc.opset, nil, 1, arg{Name: "x", Value: x})[0]
		for i, s := range sums(out, tc.group) {
			if math.Abs(s-1) > 1e-12 {
				t.Errorf("opset %d: group %d sums to %g", tc.opset, i, s)
			}
		}
	}
	big := randF64(12, 1000, 1001, 2, 5)
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		v, _ := Data[float64](run(t, op, 13, nil, 1, arg{Name: "x", Value: big})[0])
		for i, e := range v {
			if math.IsNaN(e) || math.IsInf(e, 0) {
				t.Fatalf("%s of large inputs: element %d is %g", op, i, e)
			}
		}
	}
}

// TestPRelu: the forward is ONNX's definition (slope * x below 0, x
// elsewhere, the slope broadcast to x); the gradients, checked by finite
// differences, reach both x and the [C,1,1] slope PyTorch exports.
func TestPRelu(t *testing.T) {
	x := randF64(21, -2, 2, 2, 3, 4, 5)
	slope := randF64(22, 0, 0.5, 3, 1, 1)
	y, _ := Data[float64](run(t, "PRelu", 16, nil, 1, arg{Name: "x", Value: x}, arg{Name: "slope", Value: slope})[0])
	xs, _ := Data[float64](x)
	ss, _ := Data[float64](slope)
	for i, v := range xs {
		want := v
		if v < 0 {
			want = ss[(i/20)%3] * v
		}
		if y[i] != want {
			t.Fatalf("element %d: PRelu(%g) = %g, want %g", i, v, y[i], want)
		}
	}
	gradCheck(t, "PRelu", 16, nil, arg{Name: "x", Value: x}, arg{Name: "slope", Value: slope})
	m, shapes := oneNode("PRelu", 16, nil, 1, arg{Name: "x", Value: x}, arg{Name: "slope", Value: randF64(1, 0, 1, 4, 1, 1)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Error("a slope of shape [4,1,1] for X [2,3,4,5] compiled")
	}
}

// TestPReluGradAtZero: at x = 0 PyTorch's prelu backward gives x slope * dy
// and the slope x * dy = 0.
func TestPReluGradAtZero(t *testing.T) {
	k := preluGradOf[float64](nil)
	dy, x, s := Dense([]int{2}, []float64{1, 1}), Dense([]int{2}, []float64{0, 1}), Dense([]int{1}, []float64{0.25})
	g, err := k([]*tensor.Dense{dy, x, s})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Data[float64](g); v[0] != 0.25 || v[1] != 1 {
		t.Fatalf("dx = %v, want [0.25 1]", v)
	}
}

// TestPReluLegacySlope: before opset 7 a per-channel slope [C] applies to
// axis 1 (PyTorch 0.3's nn.PReLU(C)): the same as a [C,1,1] slope later.
func TestPReluLegacySlope(t *testing.T) {
	x := randF64(31, -2, 2, 2, 3, 4, 5)
	s, _ := Data[float64](randF64(32, 0, 0.5, 3))
	old, _ := Data[float64](run(t, "PRelu", 6, nil, 1, arg{Name: "x", Value: x}, arg{Name: "slope", Value: Dense([]int{3}, s)})[0])
	now, _ := Data[float64](run(t, "PRelu", 16, nil, 1, arg{Name: "x", Value: x}, arg{Name: "slope", Value: Dense([]int{3, 1, 1}, s)})[0])
	for i := range now {
		if old[i] != now[i] {
			t.Fatalf("element %d: opset 6 %g, opset 16 %g", i, old[i], now[i])
		}
	}
	gradCheck(t, "PRelu", 6, nil, arg{Name: "x", Value: x}, arg{Name: "slope", Value: Dense([]int{3}, s)})
}
