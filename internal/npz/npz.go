package npz

import (
	"fmt"
)

// Array is a dense n-dimensional array in row-major (C) order.
//
// Data is one of []float32, []float64, []int64, []int32, []int8, []uint8 or
// []bool and holds exactly the product of Shape elements. A scalar (numpy
// shape ()) has an empty Shape and one element.
type Array struct {
	Shape []int
	Data  any
}

// dtype is an element type supported by this package.
type dtype struct {
	descr string // numpy's little-endian descr, e.g. "<f4"
	size  int    // bytes per element
}

var (
	dtFloat32 = dtype{"<f4", 4}
	dtFloat64 = dtype{"<f8", 8}
	dtInt64   = dtype{"<i8", 8}
	dtInt32   = dtype{"<i4", 4}
	dtInt8    = dtype{"|i1", 1}
	dtUint8   = dtype{"|u1", 1}
	dtBool    = dtype{"|b1", 1}
)

// dtypeOf returns the dtype and length of an Array's Data.
func dtypeOf(data any) (dtype, int, error) {
	switch d := data.(type) {
	case []float32:
		return dtFloat32, len(d), nil
	case []float64:
		return dtFloat64, len(d), nil
	case []int64:
		return dtInt64, len(d), nil
	case []int32:
		return dtInt32, len(d), nil
	case []int8:
		return dtInt8, len(d), nil
	case []uint8:
		return dtUint8, len(d), nil
	case []bool:
		return dtBool, len(d), nil
	}
	return dtype{}, 0, fmt.Errorf("unsupported data type %T", data)
}

// elements returns the number of elements of shape, checking that every
// dimension is non-negative and that the byte size (elements * size) does
// not overflow.
func elements(shape []int, size int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > (1<<62)/size/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}
