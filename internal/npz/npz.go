package npz

import (
	"fmt"
	"io"
	"reflect"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/onnxtune/onnxtune/graph"
)

// Array is a dense n-dimensional array in row-major (C) order.
//
// Data is one of []float32, []float64, []graph.F16 (numpy's float16, as
// its bits), []int64, []int32, []int8, []uint8 or []bool and holds exactly
// the product of Shape elements. A scalar (numpy
// shape ()) has an empty Shape and one element.
type Array struct {
	Shape []int
	Data  any
}

// dtype is an element type supported by this package.
type dtype struct {
	descr string       // numpy's little-endian descr, e.g. "<f4"
	size  int          // bytes per element
	of    reflect.Type // the Go type of an Array's Data
	// read reads n elements after the header: through rd (npyio), or
	// from raw, the stream after the header, for the types npyio cannot
	// read into a slice (float16); big is the byte order.
	read func(rd *npy.Reader, raw io.Reader, n int, big bool) (any, error)
}

// dtypes is every supported element type, in the order error messages
// list them.
var dtypes = []dtype{
	{"<f4", 4, reflect.TypeFor[[]float32](), readAs[float32]},
	{"<f8", 8, reflect.TypeFor[[]float64](), readAs[float64]},
	{"<f2", 2, reflect.TypeFor[[]graph.F16](), readF16},
	{"<i8", 8, reflect.TypeFor[[]int64](), readAs[int64]},
	{"<i4", 4, reflect.TypeFor[[]int32](), readAs[int32]},
	{"|i1", 1, reflect.TypeFor[[]int8](), readAs[int8]},
	{"|u1", 1, reflect.TypeFor[[]uint8](), readAs[uint8]},
	{"|b1", 1, reflect.TypeFor[[]bool](), readAs[bool]},
}

// dtypeOf returns the dtype and length of an Array's Data.
func dtypeOf(data any) (dtype, int, error) {
	t := reflect.TypeOf(data)
	for _, dt := range dtypes {
		if dt.of == t {
			return dt, reflect.ValueOf(data).Len(), nil
		}
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
