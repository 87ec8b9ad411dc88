package ops

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// tieInputs are float32 values with ties (k + 0.5 steps), values next
// to them and values past both ends of int8's and uint8's ranges.
func tieInputs(scale float32, n int) []float32 {
	r := rand.New(rand.NewSource(3))
	xs := make([]float32, n)
	for i := range xs {
		switch i % 4 {
		case 0: // a tie
			xs[i] = (float32(r.Intn(600)-300) + 0.5) * scale
		case 1:
			xs[i] = math.Nextafter32((float32(r.Intn(600)-300)+0.5)*scale, 1e9)
		default:
			xs[i] = float32(r.NormFloat64()) * 200 * scale
		}
	}
	return xs
}

// TestQuantizeMatchesORT runs QuantizeLinear per tensor and per axis, to
// int8 and uint8, with and without a zero point, in the engine and in ONNX
// Runtime: the integers must be equal (round half to even, saturation).
func TestQuantizeMatchesORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		t.Skip(err)
	}
	shape := []int{2, 3, 4, 5}
	xs := tieInputs(0.1, 2*3*4*5)
	x := Dense(shape, xs)
	cases := []struct {
		name  string
		opset int64
		scale *tensor.Dense
		zero  *tensor.Dense
		attrs []*graph.Attribute
	}{
		{"int8_tensor", 13, Dense([]int{}, []float32{0.1}), Dense([]int{}, []int8{-3}), nil},
		{"uint8_tensor", 10, Dense([]int{}, []float32{0.1}), Dense([]int{}, []uint8{128}), nil},
		{"uint8_no_zero", 13, Dense([]int{}, []float32{0.1}), nil, nil},
		{"int8_axis1", 13, Dense([]int{3}, []float32{0.1, 0.07, 0.3}), Dense([]int{3}, []int8{0, 5, -7}), nil},
		{"uint8_axis0", 13, Dense([]int{2}, []float32{0.1, 0.2}), Dense([]int{2}, []uint8{0, 200}), []*graph.Attribute{attrInt("axis", 0)}},
		{"int8_axis_neg", 19, Dense([]int{5}, []float32{0.1, 0.2, 0.3, 0.4, 0.05}), Dense([]int{5}, []int8{1, 2, 3, 4, 5}), []*graph.Attribute{attrInt("axis", -1)}},
		{"int8_blocked", 21, Dense([]int{2, 3, 2, 5}, tieInputs(0.01, 60)[:60]), nil, []*graph.Attribute{attrInt("axis", 2), attrInt("block_size", 2)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "int8_blocked" {
				// Positive scales.
				s, _ := Data[float32](c.scale)
				for i := range s {
					s[i] = float32(math.Abs(float64(s[i]))) + 0.01
				}
				c.zero = Dense([]int{2, 3, 2, 5}, make([]int8, 60))
			}
			args := []arg{{Name: "x", Value: x}, {Name: "s", Value: c.scale, Const: true}}
			if c.zero != nil {
				args = append(args, arg{Name: "z", Value: c.zero, Const: true})
			}
			m, shapes := oneNode("QuantizeLinear", c.opset, c.attrs, 1, args...)
			quantRaw(m, args)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got, err := p.Run(map[string]*tensor.Dense{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			elem := graph.Uint8
			if c.zero != nil {
				elem, _ = fromTensorDtype(c.zero.Dtype())
			}
			m.Graph.Outputs[0].Type = &graph.Type{Kind: graph.TypeTensor, Elem: elem}
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ort.Run(b, []ort.Tensor{{Name: "x", Shape: []int64{2, 3, 4, 5}, Data: xs}}, 1)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			g, w := fmt.Sprint(got[0].Data()), fmt.Sprint(want[0].Data)
			if g != w {
				t.Errorf("engine %s\nonnxruntime %s", g, w)
			}
		})
	}
}

// TestDequantizeMatchesORT: DequantizeLinear of int8, uint8 and int32
// values, per tensor and per axis, equals ONNX Runtime's bit for bit.
func TestDequantizeMatchesORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		t.Skip(err)
	}
	r := rand.New(rand.NewSource(4))
	i8 := make([]int8, 24)
	u8 := make([]uint8, 24)
	i32 := make([]int32, 24)
	for i := range i8 {
		i8[i], u8[i], i32[i] = int8(r.Intn(256)-128), uint8(r.Intn(256)), int32(r.Intn(1<<30)-1<<29)
	}
	shape := []int{2, 3, 4}
	cases := []struct {
		name        string
		x, s, z     *tensor.Dense
		axis        int64
		ortX        any
		perAxisSize int
	}{
		{"int8_tensor", Dense(shape, i8), Dense([]int{}, []float32{0.013}), Dense([]int{}, []int8{-5}), 1, i8, 0},
		{"uint8_axis1", Dense(shape, u8), Dense([]int{3}, []float32{0.1, 0.03, 0.7}), Dense([]int{3}, []uint8{0, 128, 255}), 1, u8, 3},
		{"int32_axis2", Dense(shape, i32), Dense([]int{4}, []float32{1e-5, 3e-4, 2.5e-6, 0.1}), Dense([]int{4}, []int32{0, 0, 0, 0}), 2, nil, 4},
		{"int8_no_zero", Dense(shape, i8), Dense([]int{}, []float32{0.25}), nil, 1, i8, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// x as an initializer: the engine folds it; ONNX Runtime reads
			// the same bytes.
			args := []arg{{Name: "x", Value: c.x}, {Name: "s", Value: c.s, Const: true}}
			if c.z != nil {
				args = append(args, arg{Name: "z", Value: c.z, Const: true})
			}
			attrs := []*graph.Attribute{attrInt("axis", c.axis)}
			m, shapes := oneNode("DequantizeLinear", 13, attrs, 1, args...)
			m.Graph.Outputs[0].Type = &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32}
			quantRaw(m, args)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got, err := p.Run(map[string]*tensor.Dense{"x": c.x})
			if err != nil {
				t.Fatal(err)
			}
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ort.Run(b, []ort.Tensor{{Name: "x", Shape: []int64{2, 3, 4}, Data: c.x.Data()}}, 1)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			g, _ := Data[float32](got[0])
			w := want[0].Data.([]float32)
			for i := range w {
				if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
					t.Fatalf("element %d: engine %v, onnxruntime %v", i, g[i], w[i])
				}
			}
		})
	}
}

// quantRaw stores the integer initializers of a test model (the harness
// encodes float and a few integer types only).
func quantRaw(m *graph.Model, args []arg) {
	for _, a := range args {
		if !a.Const {
			continue
		}
		init := m.Graph.Initializer(a.Name)
		switch d := a.Value.Data().(type) {
		case []int8:
			init.Raw = graph.Encode(d)
		case int8:
			init.Raw = graph.Encode([]int8{d})
		case []uint8:
			init.Raw = graph.Encode(d)
		case uint8:
			init.Raw = graph.Encode([]uint8{d})
		case []int16:
			init.Raw = graph.Encode(d)
		case []uint16:
			init.Raw = graph.Encode(d)
		case []int32:
			init.Raw = graph.Encode(d)
		case int32:
			init.Raw = graph.Encode([]int32{d})
		}
	}
}

// qdqPair is a QuantizeLinear -> DequantizeLinear model on input x.
func qdqPair(opset int64, attrs []*graph.Attribute, x, scale, zero *tensor.Dense) (*graph.Model, map[string][]int) {
	m, shapes := oneNode("QuantizeLinear", opset, attrs, 1, arg{Name: "x", Value: x}, arg{Name: "s", Value: scale, Const: true}, arg{Name: "z", Value: zero, Const: true})
	q := m.Graph.Nodes[0]
	q.Outputs = []string{"q"}
	dq := &graph.Node{Name: "/test/DequantizeLinear", OpType: "DequantizeLinear", Inputs: []string{"q", "s", "z"}, Outputs: []string{"out0"}, Attrs: attrs}
	m.Graph.Nodes = append(m.Graph.Nodes, dq)
	quantRaw(m, []arg{{Name: "z", Value: zero, Const: true}})
	return m, shapes
}

// TestFakeQuantizeTraining: compiled for training, a Q->DQ pair is
// PyTorch's fake quantization: the forward is clamp(round(x*(1/s))+z) - z)
// * s, and the gradient of sum(w*y) is w where the rounded value is inside
// [qmin, qmax], 0 outside. The gradient is also checked by central finite
// differences of the straight-through surrogate clamp(x, (qmin-z)*s,
// (qmax-z)*s), at points away from the clamp's corners, in float64.
func TestFakeQuantizeTraining(t *testing.T) {
	for _, c := range []struct {
		name  string
		scale *tensor.Dense
		zero  *tensor.Dense
		attrs []*graph.Attribute
	}{
		{"int8_tensor", Dense([]int{}, []float64{0.05}), Dense([]int{}, []int8{3}), nil},
		{"uint8_tensor", Dense([]int{}, []float64{0.02}), Dense([]int{}, []uint8{100}), nil},
		{"int8_axis0", Dense([]int{3}, []float64{0.01, 0.05, 0.02}), Dense([]int{3}, []int8{0, -10, 20}), []*graph.Attribute{attrInt("axis", 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := randF64(5, -8, 8, 3, 40)
			m, shapes := qdqPair(13, c.attrs, x, c.scale, c.zero)
			p, err := Compile(m, shapes, Options{Train: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			out := p.Outputs[0]
			w := randF64(6, -1, 1, 3, 40)
			wn := G.NewTensor(p.Graph, tensor.Float64, 2, G.WithName("w"), G.WithShape(3, 40), G.WithValue(w))
			prod, err := G.HadamardProd(out.Node, wn)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := G.Sum(prod)
			if err != nil {
				t.Fatal(err)
			}
			grads, err := G.Grad(loss, p.Inputs["x"])
			if err != nil {
				t.Fatal(err)
			}
			if err := G.Let(p.Inputs["x"], x); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(p.Graph)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			yd, _ := asDense(out.Node.Value())
			y, _ := Data[float64](yd)
			gd, _ := asDense(grads[0].Value())
			g, _ := Data[float64](gd)
			xs, _ := Data[float64](x)
			ws, _ := Data[float64](w)
			ss, _ := quantFloats(c.scale)
			zs, _ := quantFloats(c.zero)
			dt, _ := fromTensorDtype(c.zero.Dtype())
			lo, hi := float64(quantRanges[dt][0]), float64(quantRanges[dt][1])
			inside, outside := 0, 0
			for i, v := range xs {
				k := 0
				if len(ss) > 1 {
					k = i / 40
				}
				s, z := ss[k], zs[k]
				q := z + math.RoundToEven(v*(1/s))
				if want := (math.Min(math.Max(q, lo), hi) - z) * s; y[i] != want {
					t.Fatalf("y[%d] = %v, fake quantization gives %v", i, y[i], want)
				}
				mask := 0.0
				if q >= lo && q <= hi {
					mask = 1
					inside++
				} else {
					outside++
				}
				if g[i] != ws[i]*mask {
					t.Fatalf("dy/dx[%d] = %v, want %v (mask %v)", i, g[i], ws[i]*mask, mask)
				}
				// Finite differences of the surrogate, away from its corners.
				a, b := (lo-z)*s, (hi-z)*s
				if math.Abs(v-a) < s || math.Abs(v-b) < s {
					continue
				}
				const eps = 1e-6
				sur := func(v float64) float64 { return ws[i] * math.Min(math.Max(v, a), b) }
				if num := (sur(v+eps) - sur(v-eps)) / (2 * eps); math.Abs(num-g[i]) > 1e-6 {
					t.Fatalf("dy/dx[%d] = %v, finite differences of the surrogate %v", i, g[i], num)
				}
			}
			if inside == 0 || outside == 0 {
				t.Fatalf("inputs test only one side of the mask (%d inside, %d outside)", inside, outside)
			}
		})
	}
}

// TestQuantErrors: bad layouts and types are one-line errors naming the
// node.
func TestQuantErrors(t *testing.T) {
	x := Dense([]int{2, 3}, make([]float32, 6))
	for _, c := range []struct {
		name string
		op   string
		args []arg
		want string
	}{
		{"scale_shape", "QuantizeLinear", []arg{{Name: "x", Value: x}, {Name: "s", Value: Dense([]int{4}, make([]float32, 4)), Const: true}}, "neither one value"},
		{"zero_shape", "QuantizeLinear", []arg{{Name: "x", Value: x}, {Name: "s", Value: Dense([]int{3}, make([]float32, 3)), Const: true}, {Name: "z", Value: Dense([]int{2}, make([]int8, 2)), Const: true}}, "does not match"},
		{"zero_type", "QuantizeLinear", []arg{{Name: "x", Value: x}, {Name: "s", Value: Dense([]int{}, []float32{1}), Const: true}, {Name: "z", Value: Dense([]int{}, []int64{0}), Const: true}}, "not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode(c.op, 13, nil, 1, c.args...)
			quantRaw(m, c.args)
			_, err := Compile(m, shapes, Options{})
			if err == nil || !containsAll(err.Error(), c.want, "/test/"+c.op) {
				t.Fatalf("error %v, want one naming the node and %q", err, c.want)
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
