package graph_test

import (
	"errors"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestNewFloat32Dims: NewFloat32 and SetFloat32s refuse dims that hold no
// valid count of values (ErrShape), as NumElements does: a negative dim
// made a tensor of 0 values that the importer and ONNX Runtime refuse.
func TestNewFloat32Dims(t *testing.T) {
	for _, tc := range []struct {
		name string
		dims []int64
		v    []float32
	}{
		{"negative", []int64{-2}, nil},
		{"negative pair", []int64{-1, -1}, []float32{1}},
		{"overflow", []int64{1 << 40, 1 << 40}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := graph.NewFloat32("w", tc.dims, tc.v); !errors.Is(err, graph.ErrShape) {
				t.Errorf("NewFloat32(%v): error %v, want one wrapping ErrShape", tc.dims, err)
			}
			w := &graph.Tensor{Name: "w", DType: graph.Float32, Dims: tc.dims}
			if err := w.SetFloat32s(tc.v); !errors.Is(err, graph.ErrShape) {
				t.Errorf("SetFloat32s(%v): error %v, want one wrapping ErrShape", tc.dims, err)
			}
		})
	}
}
