package ops

import "math"

// The Relu loops below work on the float32 bits so that the sign of the
// data does not drive a branch: ReLU inputs are about half negative, and a
// mispredicted branch per element costs more than the arithmetic. The one
// branch left (NaN) is almost never taken. Semantics match the plain
// loops: NaN passes through, everything not greater than zero becomes +0.

// reluSlice sets v = max(v, 0) in place, NaN kept.
func reluSlice[T Float](v []T) {
	switch s := any(v).(type) {
	case []float32:
		for i, x := range s {
			u := math.Float32bits(x)
			if u&0x7fffffff <= 0x7f800000 { // not NaN
				u &^= uint32(int32(u) >> 31)
			}
			s[i] = math.Float32frombits(u)
		}
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
		d, xs := any(dy).([]float32)[:len(o)], any(x).([]float32)[:len(o)]
		for i, xv := range xs {
			u := math.Float32bits(xv)
			// all ones where x <= 0: the sign bit, or x == +0
			mask := uint32(int32(u)>>31) | ((u|-u)>>31 - 1)
			if u&0x7fffffff > 0x7f800000 { // NaN: the gradient passes
				mask = 0
			}
			o[i] = math.Float32frombits(math.Float32bits(d[i]) &^ mask)
		}
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
