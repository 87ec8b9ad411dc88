package ops

import (
	"fmt"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestInstanceGroupNorm(t *testing.T) {
	x := randF64(11, -2, 2, 2, 4, 3, 5)
	cases := []struct {
		op     string
		opset  int64
		groups int64
		params int
		x      []int
	}{
		{"InstanceNormalization", 17, 0, 4, []int{2, 4, 3, 5}},
		{"InstanceNormalization", 17, 0, 3, []int{2, 3, 7}}, // 1-D
		{"GroupNormalization", 18, 2, 2, []int{2, 4, 3, 5}}, // scale and bias per group
		{"GroupNormalization", 21, 2, 4, []int{2, 4, 3, 5}}, // per channel
		{"GroupNormalization", 21, 1, 4, []int{2, 4, 15}},
		{"GroupNormalization", 21, 4, 4, []int{2, 4, 3, 5}},
	}
	for _, cs := range cases {
		t.Run(fmt.Sprintf("%s%d_groups%d_%v", cs.op, cs.opset, cs.groups, cs.x), func(t *testing.T) {
			var attrs []*graph.Attribute
			if cs.groups > 0 {
				attrs = append(attrs, attrInt("num_groups", cs.groups))
			}
			attrs = append(attrs, attrFloat("epsilon", 1e-3))
			xv := randF64(11, -2, 2, cs.x...)
			sc, bs := randF64(12, 0.5, 1.5, cs.params), randF64(13, -1, 1, cs.params)
			ortCheck(t, cs.op, cs.opset, attrs, []graph.DType{graph.Float32},
				arg{Name: "x", Value: f32(xv)}, arg{Name: "scale", Value: f32(sc)}, arg{Name: "bias", Value: f32(bs)})
			gradCheck(t, cs.op, cs.opset, attrs, arg{Name: "x", Value: xv}, arg{Name: "scale", Value: sc}, arg{Name: "bias", Value: bs})
		})
	}
	// Wrong parameter sizes and groups are one-line errors.
	m, shapes := oneNode("GroupNormalization", 21, []*graph.Attribute{attrInt("num_groups", 3)}, 1,
		arg{Name: "x", Value: x}, arg{Name: "scale", Value: randF64(1, 0, 1, 4)}, arg{Name: "bias", Value: randF64(1, 0, 1, 4)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Error("3 groups of 4 channels: no error")
	}
	m, shapes = oneNode("GroupNormalization", 18, []*graph.Attribute{attrInt("num_groups", 2)}, 1,
		arg{Name: "x", Value: x}, arg{Name: "scale", Value: randF64(1, 0, 1, 4)}, arg{Name: "bias", Value: randF64(1, 0, 1, 4)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Error("opset 18, a scale per channel: no error")
	}
}
