package ops

import (
	"testing"
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
