package ops

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// ortCheck runs a one-node model in the engine and in ONNX Runtime and
// requires equal outputs: exactly for integer and bool outputs, within
// 1e-6 relative to the largest output for floats. Graph inputs and
// constants are given as in run; the model declares each output's type.
func ortCheck(t *testing.T, op string, opset int64, attrs []*graph.Attribute, outTypes []graph.DType, args ...arg) {
	t.Helper()
	got := run(t, op, opset, attrs, len(outTypes), args...)
	m, _ := oneNode(op, opset, attrs, len(outTypes), args...)
	for i, dt := range outTypes {
		m.Graph.Outputs[i].Type = &graph.Type{Kind: graph.TypeTensor, Elem: dt}
	}
	model, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	var in []ort.Tensor
	for _, a := range args {
		if a.Const || a.Name == "" {
			continue
		}
		s := Shape(a.Value)
		shape := make([]int64, len(s))
		for i, d := range s {
			shape[i] = int64(d)
		}
		in = append(in, ort.Tensor{Name: a.Name, Shape: shape, Data: a.Value.Data()})
	}
	want, err := ort.Run(model, in, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	for i := range want {
		ws := make([]int, len(want[i].Shape))
		for k, d := range want[i].Shape {
			ws[k] = int(d)
		}
		if gs := Shape(got[i]); !sameInts(gs, ws) {
			t.Fatalf("output %d: shape %v, onnxruntime %v", i, gs, ws)
		}
		g := got[i].Data()
		if !got[i].IsScalar() && got[i].Shape().TotalSize() == 0 {
			continue
		}
		switch w := want[i].Data.(type) {
		case []float32:
			cmpFloats(t, i, asSlice[float32](g), w)
		case []float64:
			cmpFloats(t, i, asSlice[float64](g), w)
		default:
			gv := reflect.ValueOf(g)
			if gv.Kind() != reflect.Slice {
				s := reflect.MakeSlice(reflect.SliceOf(gv.Type()), 1, 1)
				s.Index(0).Set(gv)
				g = s.Interface()
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("output %d: %v, onnxruntime %v", i, g, w)
			}
		}
	}
}

func asSlice[T any](d any) []T {
	if v, ok := d.(T); ok {
		return []T{v}
	}
	return d.([]T)
}

func cmpFloats[T Float](t *testing.T, i int, got, want []T) {
	t.Helper()
	diff, scale := 0.0, 0.0
	for k := range want {
		g, w := float64(got[k]), float64(want[k])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			if !(math.IsNaN(g) && math.IsNaN(w)) && g != w {
				t.Errorf("output %d[%d]: %v, onnxruntime %v", i, k, g, w)
			}
			continue
		}
		diff, scale = max(diff, math.Abs(g-w)), max(scale, math.Abs(w))
	}
	if diff > 1e-6*max(scale, 1e-30) {
		t.Errorf("output %d: max |diff| %.3g from onnxruntime, largest output %.3g", i, diff, scale)
	}
}

func f32(t *tensor.Dense) *tensor.Dense {
	d, _ := Data[float64](t)
	return Dense(Shape(t), graph.Convert[float64, float32](d))
}

func ints64(shape []int, v ...int64) *tensor.Dense { return Dense(shape, v) }

func TestIsNaNIsInf(t *testing.T) {
	inf := math.Inf(1)
	x := Dense([]int{2, 3}, []float32{1, float32(math.NaN()), float32(inf), float32(-inf), 0, -2})
	ortCheck(t, "IsNaN", 20, nil, []graph.DType{graph.Bool}, arg{Name: "x", Value: x})
	for _, attrs := range [][]*graph.Attribute{nil, {attrInt("detect_positive", 0)}, {attrInt("detect_negative", 0)}} {
		ortCheck(t, "IsInf", 20, attrs, []graph.DType{graph.Bool}, arg{Name: "x", Value: x})
	}
}

func TestCumSum(t *testing.T) {
	x := randF64(1, -2, 2, 2, 3, 4)
	for _, axis := range []int64{0, 1, -1} {
		for _, ex := range []int64{0, 1} {
			for _, rev := range []int64{0, 1} {
				attrs := []*graph.Attribute{attrInt("exclusive", ex), attrInt("reverse", rev)}
				t.Run(fmt.Sprintf("axis%d_exclusive%d_reverse%d", axis, ex, rev), func(t *testing.T) {
					ax := arg{Name: "axis", Value: Dense([]int{}, []int64{axis}), Const: true}
					ortCheck(t, "CumSum", 14, attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)}, ax)
					ortCheck(t, "CumSum", 14, attrs, []graph.DType{graph.Int64}, arg{Name: "x", Value: ints64([]int{2, 3}, 1, -2, 3, 4, 5, -6)},
						arg{Name: "axis", Value: Dense([]int{1}, []int32{int32(axis) % 2}), Const: true})
					gradCheck(t, "CumSum", 14, attrs, arg{Name: "x", Value: x}, ax)
				})
			}
		}
	}
}

func TestGatherElements(t *testing.T) {
	data := randF64(2, -1, 1, 3, 4)
	cases := []struct {
		axis  int64
		shape []int
		idx   []int64
	}{
		{0, []int{2, 4}, []int64{0, 2, 1, -1, 2, 2, 0, 1}}, // repeated rows: the gradient adds up
		{1, []int{3, 2}, []int64{3, 0, -4, 1, 2, 2}},       // fewer columns than the data
		{1, []int{1, 8}, []int64{0, 1, 2, 3, 3, 2, 1, 0}},  // more along the axis (token_type_ids' [1, S])
		{-2, []int{3, 4}, []int64{0, 1, 2, 0, 2, 1, 0, 2, 1, 1, 1, 1}},
	}
	for i, cs := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			attrs := []*graph.Attribute{attrInt("axis", cs.axis)}
			idx := arg{Name: "idx", Value: ints64(cs.shape, cs.idx...)}
			ortCheck(t, "GatherElements", 13, attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(data)}, idx)
			gradCheck(t, "GatherElements", 13, attrs, arg{Name: "x", Value: data}, idx)
		})
	}
	m, shapes := oneNode("GatherElements", 13, nil, 1, arg{Name: "x", Value: data}, arg{Name: "idx", Value: ints64([]int{1, 1}, 3)})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Run(map[string]*tensor.Dense{"x": data, "idx": ints64([]int{1, 1}, 3)}); err == nil {
		t.Error("index 3 of an axis of 3: no error")
	}
}

func TestGatherND(t *testing.T) {
	data := randF64(3, -1, 1, 2, 3, 4)
	cases := []struct {
		batch int64
		shape []int
		idx   []int64
	}{
		{0, []int{2, 3}, []int64{0, 1, 2, 1, -1, 0}},   // single elements
		{0, []int{3, 2}, []int64{1, 2, 0, 0, 1, 2}},    // rows of 4, one repeated
		{0, []int{2, 1, 1}, []int64{1, 0}},             // whole [3, 4] slices
		{1, []int{2, 2, 1}, []int64{2, 0, 1, 1}},       // per batch entry
		{1, []int{2, 2}, []int64{0, 3, 2, -1}},         // per batch entry, elements
		{2, []int{2, 3, 1}, []int64{0, 1, 2, 3, 0, 1}}, // two batch dimensions
	}
	for i, cs := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			attrs := []*graph.Attribute{attrInt("batch_dims", cs.batch)}
			idx := arg{Name: "idx", Value: ints64(cs.shape, cs.idx...)}
			ortCheck(t, "GatherND", 13, attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(data)}, idx)
			gradCheck(t, "GatherND", 13, attrs, arg{Name: "x", Value: data}, idx)
		})
	}
	// A bool mask gathered (the dynamo export of a sentence encoder's
	// attention mask).
	mask := Dense([]int{2, 3}, []bool{true, false, true, false, false, true})
	ortCheck(t, "GatherND", 13, nil, []graph.DType{graph.Bool}, arg{Name: "x", Value: mask},
		arg{Name: "idx", Value: ints64([]int{2, 1, 2}, 1, 2, 0, 1)})
}

func TestNormReductions(t *testing.T) {
	x := randF64(4, -2, 2, 2, 3, 4)
	xd, _ := Data[float64](x)
	for i := 4; i < 8; i++ { // a row of zeros: L1's and L2's gradient is 0 there, as PyTorch's
		xd[i] = 0
	}
	pos := randF64(5, 0.5, 2, 2, 3, 4)
	for _, name := range []string{"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"} {
		in := x
		if name == "ReduceLogSum" {
			in = pos
		}
		for _, cs := range []struct {
			axes []int64
			keep int64
		}{{[]int64{-1}, 1}, {[]int64{1}, 0}, {[]int64{0, 2}, 1}, {nil, 0}} {
			t.Run(fmt.Sprintf("%s_axes%v_keep%d", name, cs.axes, cs.keep), func(t *testing.T) {
				args18 := []arg{{Name: "x", Value: in}}
				if cs.axes != nil {
					args18 = append(args18, arg{Name: "axes", Value: ints64([]int{len(cs.axes)}, cs.axes...), Const: true})
				}
				attrs := []*graph.Attribute{attrInt("keepdims", cs.keep)}
				f := append([]arg{{Name: "x", Value: f32(in)}}, args18[1:]...)
				ortCheck(t, name, 18, attrs, []graph.DType{graph.Float32}, f...)
				gradCheck(t, name, 18, attrs, args18...)
				// Before opset 18 the axes are an attribute.
				a13 := attrs
				if cs.axes != nil {
					a13 = append(a13, attrInts("axes", cs.axes...))
				}
				ortCheck(t, name, 13, a13, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(in)})
			})
		}
	}
	// No axes and noop_with_empty_axes: each element alone.
	noop := []*graph.Attribute{attrInt("noop_with_empty_axes", 1)}
	for _, name := range []string{"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"} {
		ortCheck(t, name, 18, noop, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)})
	}
	// Large values: LogSumExp does not overflow.
	big := Dense([]int{1, 3}, []float32{1000, 1001, -1000})
	ortCheck(t, "ReduceLogSumExp", 18, nil, []graph.DType{graph.Float32}, arg{Name: "x", Value: big})
}
