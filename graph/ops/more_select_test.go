package ops

import (
	"fmt"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestTrilu(t *testing.T) {
	x := randF64(31, -1, 1, 2, 4, 5)
	for _, upper := range []int64{0, 1} {
		for _, k := range []int64{-6, -1, 0, 2, 7} {
			t.Run(fmt.Sprintf("upper%d_k%d", upper, k), func(t *testing.T) {
				attrs := []*graph.Attribute{attrInt("upper", upper)}
				kv := arg{Name: "k", Value: Dense([]int{}, []int64{k}), Const: true}
				ortCheck(t, "Trilu", 14, attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)}, kv)
				ortCheck(t, "Trilu", 14, attrs, []graph.DType{graph.Int64}, arg{Name: "x", Value: ints64([]int{3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)}, kv)
				gradCheck(t, "Trilu", 14, attrs, arg{Name: "x", Value: x}, kv)
			})
		}
	}
	ortCheck(t, "Trilu", 14, nil, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)}) // no k
	ortCheck(t, "Trilu", 14, nil, []graph.DType{graph.Bool}, arg{Name: "x", Value: Dense([]int{2, 2}, []bool{true, true, true, false})})
}

func TestArgMaxMin(t *testing.T) {
	// Repeated values: the first index, or the last with select_last_index.
	x := Dense([]int{2, 3, 4}, []float32{1, 3, 3, 0, 2, 2, -1, 5, 3, 0, 0, 5, 4, 4, 4, 4, 1, -2, 7, -2, 0, 0, 1, 1})
	for _, op := range []string{"ArgMax", "ArgMin"} {
		for _, axis := range []int64{0, 1, 2, -1} {
			for _, keep := range []int64{0, 1} {
				for _, last := range []int64{0, 1} {
					attrs := []*graph.Attribute{attrInt("axis", axis), attrInt("keepdims", keep), attrInt("select_last_index", last)}
					ortCheck(t, op, 13, attrs, []graph.DType{graph.Int64}, arg{Name: "x", Value: x})
				}
			}
		}
		ortCheck(t, op, 13, nil, []graph.DType{graph.Int64}, arg{Name: "x", Value: ints64([]int{2, 3}, 4, -1, 4, 0, 9, 9)})
	}
}
