package ops

import (
	"testing"

	"gorgonia.org/tensor"
)

func TestBinaryGradients(t *testing.T) {
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		t.Run(op, func(t *testing.T) {
			gradCheck(t, op, 14, nil,
				arg{Name: "a", Value: randF64(1, 0.5, 2, 2, 3, 4)},
				arg{Name: "b", Value: randF64(2, 0.5, 2, 3, 1)})
		})
	}
}

func TestReluGradient(t *testing.T) {
	gradCheck(t, "Relu", 14, nil, arg{Name: "x", Value: randF64(3, -1, 1, 3, 5)})
}

// TestBinaryScalars: Add, Sub, Mul and Div of two 0-d float32 values (a
// ReduceMax over every axis minus a constant, in openWakeWord's
// melspectrogram) give the scalar of the operation.
func TestBinaryScalars(t *testing.T) {
	a, b := tensor.New(tensor.FromScalar(float32(7.5))), tensor.New(tensor.FromScalar(float32(2.5)))
	for op, f := range map[string]func(x, y float32) float32{
		"Add": func(x, y float32) float32 { return x + y }, "Sub": func(x, y float32) float32 { return x - y },
		"Mul": func(x, y float32) float32 { return x * y }, "Div": func(x, y float32) float32 { return x / y },
	} {
		got, err := Data[float32](run(t, op, 13, nil, 1, arg{Name: "a", Value: a}, arg{Name: "b", Value: b})[0])
		if err != nil || len(got) != 1 || got[0] != f(7.5, 2.5) {
			t.Errorf("%s: %v %v, want %g", op, got, err, f(7.5, 2.5))
		}
	}
}
