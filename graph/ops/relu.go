package ops

import "github.com/onnxtune/onnxtune/internal/gemm/vec"

// The float32 Relu loops are internal/gemm/vec's ReluMask (AVX2 or AVX-512, or
// a branch-free Go loop on the bits). Semantics match the plain float64
// loops: NaN passes through, everything not greater than zero becomes +0.

// reluSlice sets v = max(v, 0) in place, NaN kept.
func reluSlice[T Float](v []T) {
	switch s := any(v).(type) {
	case []float32:
		vec.ReluMask(s, s, s)
	case []float64:
		for i, x := range s {
			if !(x > 0) && x == x {
				s[i] = 0
			}
		}
	}
}

// reluGradSlice sets out[i] = dy[i] where x[i] > 0 (or NaN), else 0:
// PyTorch's threshold_backward.
func reluGradSlice[T Float](out, dy, x []T) {
	switch o := any(out).(type) {
	case []float32:
		vec.ReluMask(o, any(dy).([]float32), any(x).([]float32))
	case []float64:
		d, xs := any(dy).([]float64)[:len(o)], any(x).([]float64)[:len(o)]
		for i, v := range d {
			if xs[i] <= 0 {
				v = 0
			}
			o[i] = v
		}
	}
}
