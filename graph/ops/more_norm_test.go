package ops

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestLpNormalization(t *testing.T) {
	x := randF64(61, -1, 1, 2, 3, 4)
	// A slice of zeros (norm zero) and a zero inside a slice (p=1's sign).
	z, _ := Data[float64](x)
	z[0], z[4], z[8], z[13] = 0, 0, 0, 0
	for _, p := range []int64{1, 2} {
		for _, axis := range []int64{0, 1, 2, -1} {
			t.Run(fmt.Sprintf("p%d_axis%d", p, axis), func(t *testing.T) {
				attrs := []*graph.Attribute{attrInt("axis", axis), attrInt("p", p)}
				ortCheck(t, "LpNormalization", 1, attrs, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)})
				ortCheck(t, "LpNormalization", 1, attrs, []graph.DType{graph.Float64}, arg{Name: "x", Value: x})
			})
		}
	}
	// Finite differences away from zero norms and zero elements (|x| >= 0.1).
	g := randF64(62, 0.1, 1, 2, 3, 4)
	gd, _ := Data[float64](g)
	for i := range gd {
		if i%3 == 1 {
			gd[i] = -gd[i]
		}
	}
	for _, p := range []int64{1, 2} {
		for _, axis := range []int64{0, 1, -1} {
			gradCheck(t, "LpNormalization", 1, []*graph.Attribute{attrInt("axis", axis), attrInt("p", p)}, arg{Name: "x", Value: g})
		}
	}
	ortCheck(t, "LpNormalization", 1, nil, []graph.DType{graph.Float32}, arg{Name: "x", Value: f32(x)}) // defaults
}

func TestHardmax(t *testing.T) {
	nan := float32(math.NaN())
	// Ties (the first wins), a NaN first (all zeros), a NaN later (skipped).
	x := Dense([]int{2, 3, 4}, []float32{1, 3, 3, 0, 2, 2, 2, 2, nan, 1, 2, 0, 1, nan, 2, 0, -1, -1, -3, -1, 5, 5, 5, 5})
	for _, opset := range []int64{11, 13} {
		for _, axis := range []int64{0, 1, 2, -1, -2} {
			ortCheck(t, "Hardmax", opset, []*graph.Attribute{attrInt("axis", axis)}, []graph.DType{graph.Float32}, arg{Name: "x", Value: x})
		}
		ortCheck(t, "Hardmax", opset, nil, []graph.DType{graph.Float32}, arg{Name: "x", Value: x})
		// ONNX Runtime's Hardmax is float32 only: float64 gives what float32 does.
		r := randF64(63, -1, 1, 3, 5)
		a, b := run(t, "Hardmax", opset, nil, 1, arg{Name: "x", Value: r}), run(t, "Hardmax", opset, nil, 1, arg{Name: "x", Value: f32(r)})
		ad, _ := Data[float64](a[0])
		bd, _ := Data[float32](b[0])
		if fmt.Sprint(graph.Convert[float64, float32](ad)) != fmt.Sprint(bd) {
			t.Errorf("float64 %v, float32 %v", ad, bd)
		}
	}
	ortCheck(t, "Hardmax", 9, []*graph.Attribute{attrInt("axis", 0)}, []graph.DType{graph.Float32}, arg{Name: "x", Value: x})
	for _, c := range []struct {
		opset, axis int64
	}{{9, 3}, {11, 3}, {13, 3}, {13, -4}} {
		m, shapes := oneNode("Hardmax", c.opset, []*graph.Attribute{attrInt("axis", c.axis)}, 1, arg{Name: "x", Value: x})
		if _, err := Compile(m, shapes, Options{}); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("opset %d axis %d: %v", c.opset, c.axis, err)
		}
	}
	m, shapes := oneNode("LpNormalization", 1, []*graph.Attribute{attrInt("p", 3)}, 1, arg{Name: "x", Value: x})
	if _, err := Compile(m, shapes, Options{}); err == nil || !strings.Contains(err.Error(), "p is 3") {
		t.Errorf("p 3: %v", err)
	}
}
