package ops

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// TestScalarParamShared: a 0-d parameter given in Options.Params is shared
// with the compiled program, as a tensor parameter is: writing the new value
// through Data (as an optimizer does) changes what the next run computes.
// Before, the program held a copy and a 0-d parameter never changed in
// training (scale = nn.Parameter(torch.tensor(1.5)) stayed 1.5).
func TestScalarParamShared(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			x := randF64(3, -1, 1, 2, 3)
			var s *tensor.Dense
			if dt == tensor.Float32 {
				s = tensor.New(tensor.FromScalar(float32(1.5)))
				x = Dense([]int{2, 3}, f32s(x))
			} else {
				s = tensor.New(tensor.FromScalar(1.5))
			}
			m, shapes := oneNode("Mul", 13, nil, 1, arg{Name: "x", Value: x}, arg{Name: "scale", Value: s, Const: true})
			m.Params = []*graph.Param{{Name: "scale", Initializer: "scale", Value: "scale", DType: m.Graph.Initializers[0].DType, Role: graph.RoleWeight}}
			p, err := Compile(m, shapes, Options{Train: true, Params: map[string]*tensor.Dense{"scale": s}})
			if err != nil {
				t.Fatal(err)
			}
			first := runSum(t, p, x)
			if dt == tensor.Float32 {
				d, _ := Data[float32](s)
				d[0] = 3
			} else {
				d, _ := Data[float64](s)
				d[0] = 3
			}
			if second := runSum(t, p, x); second != 2*first {
				t.Fatalf("after scale 1.5 -> 3 the output sums to %g, want %g", second, 2*first)
			}
		})
	}
}

func f32s(t *tensor.Dense) []float32 {
	v, _ := Data[float64](t)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func runSum(t *testing.T, p *Program, x *tensor.Dense) float64 {
	t.Helper()
	out, err := p.Run(map[string]*tensor.Dense{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	if v, err := Data[float32](out[0]); err == nil {
		for _, e := range v {
			sum += float64(e)
		}
		return sum
	}
	v, _ := Data[float64](out[0])
	for _, e := range v {
		sum += e
	}
	return sum
}
