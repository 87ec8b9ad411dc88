package ops

import (
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// TestReshapeInto checks that the float Reshape family's kept-buffer copy
// gives what its allocating kernel gives (and still gives for other
// types), and that it refuses a buffer of another size.
func TestReshapeInto(t *testing.T) {
	x32 := Dense([]int{2, 3, 4}, randF32(24))
	x64 := Dense([]int{2, 3, 4}, randF64Slice(24))
	for _, x := range []*tensor.Dense{x32, x64} {
		want, err := reshapeKernel([]int{4, 6})([]*tensor.Dense{x})
		if err != nil {
			t.Fatal(err)
		}
		dst := tensor.New(tensor.WithShape(4, 6), tensor.Of(x.Dtype()))
		if err := copyInto([]*tensor.Dense{x}, dst); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dst.Shape(), want.Shape()) {
			t.Errorf("%v: shape %v, want %v", x.Dtype(), dst.Shape(), want.Shape())
		}
		switch w := want.Data().(type) {
		case []float32:
			if !slices.Equal(dst.Data().([]float32), w) {
				t.Errorf("float32: %v, want %v", dst.Data(), w)
			}
		case []float64:
			if !slices.Equal(dst.Data().([]float64), w) {
				t.Errorf("float64: %v, want %v", dst.Data(), w)
			}
		}
		if err := copyInto([]*tensor.Dense{x}, tensor.New(tensor.WithShape(5, 5), tensor.Of(x.Dtype()))); err == nil {
			t.Errorf("%v: 24 elements into 25: no error", x.Dtype())
		}
	}
}

func randF32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*0.25 - 3
	}
	return v
}

func randF64Slice(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)*0.5 - 7
	}
	return v
}
