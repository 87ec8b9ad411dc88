package ops

import (
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/testsafe"
)

// TestQuantizeValuesChecksLayout: QuantizeValues refuses values, scales and
// zero points whose counts do not fit the shape and layout, with an error
// saying both counts: no scale panicked (index out of range), and too few
// or too many values, zero points or scales went through (reading or
// leaving values no layout gives).
func TestQuantizeValuesChecksLayout(t *testing.T) {
	one := []float32{1}
	for _, tc := range []struct {
		name  string
		x     []float32
		shape []int
		scale []float32
		zero  []int64
		axis  int
		block int
		want  string
	}{
		{"no scale", []float32{1, 2}, []int{2}, nil, nil, 0, 0, "0 scales, want 1"},
		{"values short", []float32{1, 2}, []int{3}, one, nil, 0, 0, "2 values for shape [3]"},
		{"values long", []float32{1, 2, 3, 4}, []int{3}, one, nil, 0, 0, "4 values for shape [3]"},
		{"negative dim", nil, []int{-1}, one, nil, 0, 0, "negative dimension in shape [-1]"},
		{"zero points", []float32{1, 2}, []int{2}, one, []int64{1, 2, 3}, 0, 0, "3 zero points for 1 scales"},
		{"per axis short", []float32{1, 2, 3, 4, 5, 6}, []int{3, 2}, []float32{1, 2}, nil, 0, 0, "2 scales, want 3 (one per index of axis 0 of shape [3 2])"},
		{"negative block", []float32{1, 2}, []int{2}, one, nil, 0, -3, "block size -3"},
		{"blocks", []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}, []float32{1, 2, 3}, nil, 1, 2, "3 scales, want 4 (one per block of 2 along axis 1 of shape [2 3])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testsafe.Call(t, func() error {
				_, err := QuantizeValues(tc.x, tc.shape, tc.scale, tc.zero, tc.axis, tc.block, graph.Int8)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// What fits still quantizes: per tensor, per axis and blocked.
	for _, tc := range []struct {
		shape       []int
		scale       []float32
		axis, block int
	}{
		{[]int{2, 3}, one, 0, 0},
		{[]int{2, 3}, []float32{1, 2, 3}, 1, 0},
		{[]int{2, 3}, []float32{1, 2, 3, 4}, 1, 2},
	} {
		if _, err := QuantizeValues([]float32{1, 2, 3, 4, 5, 6}, tc.shape, tc.scale, nil, tc.axis, tc.block, graph.Int8); err != nil {
			t.Errorf("shape %v, %d scales, axis %d, block %d: %v", tc.shape, len(tc.scale), tc.axis, tc.block, err)
		}
	}
}
