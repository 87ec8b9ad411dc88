package ops

import (
	"fmt"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestTopK(t *testing.T) {
	// Repeated values: ties come in index order, as in ONNX Runtime.
	ties := Dense([]int{2, 3, 4}, []float32{3, 1, 3, 2, 3, 1, 0, 2, 2, 2, 5, 2, 0, 0, 1, 0, 7, 7, 7, 7, -1, 4, -1, 4})
	x := randF64(41, -1, 1, 3, 4, 5)
	outs := []graph.DType{graph.Float32, graph.Int64}
	for _, largest := range []int64{1, 0} {
		for _, axis := range []int64{0, 1, 2, -1} {
			for _, k := range []int64{1, 2, 3} {
				t.Run(fmt.Sprintf("largest%d_axis%d_k%d", largest, axis, k), func(t *testing.T) {
					attrs := []*graph.Attribute{attrInt("axis", axis), attrInt("largest", largest), attrInt("sorted", 1)}
					kv := arg{Name: "k", Value: Dense([]int{1}, []int64{k}), Const: true}
					kt := kv // ties' and the integers' axis 0 has 2 elements
					if axis == 0 && k > 2 {
						kt = arg{Name: "k", Value: Dense([]int{1}, []int64{2}), Const: true}
					}
					ortCheck(t, "TopK", 11, attrs, outs, arg{Name: "x", Value: ties}, kt)
					ortCheck(t, "TopK", 11, attrs, outs, arg{Name: "x", Value: f32(x)}, kv)
					ortCheck(t, "TopK", 11, attrs, []graph.DType{graph.Int64, graph.Int64},
						arg{Name: "x", Value: ints64([]int{2, 3, 4}, 4, 4, 1, 9, 0, 0, 0, 0, 2, 3, 2, 3, 5, 5, 5, 1, 1, 1, 7, 8, 7, 8, 7, 8)}, kt)
					gradCheck(t, "TopK", 11, attrs, arg{Name: "x", Value: x}, kv)
				})
			}
		}
	}
	// Opset 1: k as an attribute; opset 10: k as input, largest only.
	ortCheck(t, "TopK", 1, []*graph.Attribute{attrInt("k", 2)}, outs, arg{Name: "x", Value: ties})
	ortCheck(t, "TopK", 10, []*graph.Attribute{attrInt("axis", 1)}, outs, arg{Name: "x", Value: ties},
		arg{Name: "k", Value: Dense([]int{1}, []int64{3}), Const: true})
	// k=0: empty outputs.
	if o := run(t, "TopK", 11, nil, 2, arg{Name: "x", Value: ties}, arg{Name: "k", Value: Dense([]int{1}, []int64{0}), Const: true}); !sameInts(Shape(o[0]), []int{2, 3, 0}) || !sameInts(Shape(o[1]), []int{2, 3, 0}) {
		t.Errorf("k=0: shapes %v %v", Shape(o[0]), Shape(o[1]))
	}
	kv3 := arg{Name: "k", Value: Dense([]int{1}, []int64{3}), Const: true}
	// Unsigned and narrow integers (ONNX Runtime's TopK has no uint64:
	// uint64 gives what int64 does on the same values).
	iv := []int64{5, 1 << 62, 2, 5, 0, 9, 9, 1}
	for _, largest := range []int64{0, 1} {
		attrs := []*graph.Attribute{attrInt("largest", largest)}
		ortCheck(t, "TopK", 11, attrs, []graph.DType{graph.Int64, graph.Int64}, arg{Name: "x", Value: Dense([]int{2, 4}, iv)}, kv3)
		a := run(t, "TopK", 11, attrs, 2, arg{Name: "x", Value: Dense([]int{2, 4}, graph.Convert[int64, uint64](iv))}, kv3)
		b := run(t, "TopK", 11, attrs, 2, arg{Name: "x", Value: Dense([]int{2, 4}, iv)}, kv3)
		if fmt.Sprint(a[0].Data(), a[1].Data()) != fmt.Sprint(b[0].Data(), b[1].Data()) {
			t.Errorf("uint64: %v %v, int64 %v %v", a[0].Data(), a[1].Data(), b[0].Data(), b[1].Data())
		}
		ortCheck(t, "TopK", 11, attrs, []graph.DType{graph.Int32, graph.Int64}, arg{Name: "x", Value: Dense([]int{2, 4}, []int32{5, -1, 2, 5, 0, 9, 9, 1})}, kv3)
	}
	// sorted=0 leaves the order open: ours is the sorted one.
	kv := arg{Name: "k", Value: Dense([]int{1}, []int64{3}), Const: true}
	a := run(t, "TopK", 11, []*graph.Attribute{attrInt("sorted", 0)}, 2, arg{Name: "x", Value: ties}, kv)
	b := run(t, "TopK", 11, nil, 2, arg{Name: "x", Value: ties}, kv)
	for i := range a {
		if fmt.Sprint(a[i].Data()) != fmt.Sprint(b[i].Data()) {
			t.Errorf("sorted=0 output %d: %v, sorted %v", i, a[i].Data(), b[i].Data())
		}
	}
}
