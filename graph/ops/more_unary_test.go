package ops

import (
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestMoreUnary(t *testing.T) {
	x := randF64(21, -3, 3, 3, 7)
	xd, _ := Data[float64](x)
	xd[0], xd[1], xd[2], xd[3], xd[4] = 0, 0.5, -0.5, 2.5, -1.5 // ties, bounds and zero
	cases := []struct {
		op    string
		attrs []*graph.Attribute
		grad  bool
	}{
		{"Softsign", nil, true},
		{"Celu", nil, true},
		{"Celu", []*graph.Attribute{attrFloat("alpha", 2)}, true},
		{"ThresholdedRelu", nil, true},
		{"ThresholdedRelu", []*graph.Attribute{attrFloat("alpha", 0.3)}, true},
		{"Shrink", nil, true},
		{"Shrink", []*graph.Attribute{attrFloat("lambd", 1), attrFloat("bias", 0.25)}, true},
		{"Sign", nil, false},
		{"Round", nil, false},
	}
	for _, cs := range cases {
		t.Run(cs.op, func(t *testing.T) {
			ortCheck(t, cs.op, 13, cs.attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)})
			if cs.grad {
				// Away from the kinks, where finite differences are defined.
				g := randF64(22, -3, 3, 3, 7)
				gradCheck(t, cs.op, 13, cs.attrs, arg{Name: "x", Value: g})
			}
		})
	}
}
