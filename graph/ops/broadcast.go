package ops

import (
	"fmt"
	"reflect"
	"unsafe"

	"gorgonia.org/tensor"
)

// Number is what elementwise kernels compute on.
type Number interface {
	~float32 | ~float64 | Integer
}

// Integer is every integer element type.
type Integer interface {
	~int64 | ~int32 | ~int16 | ~int8 | ~uint64 | ~uint32 | ~uint16 | ~uint8
}

// Float is what differentiable kernels compute on.
type Float interface{ ~float32 | ~float64 }

// BroadcastShape is numpy's broadcast of shapes a and b.
func BroadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// strides returns row-major strides of shape, with 0 for broadcast
// dimensions when shape is aligned (right) to a longer out shape.
func bstrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(shape) - len(out) + i
		if j < 0 || shape[j] == 1 {
			st[i] = 0
		} else {
			st[i] = s
		}
		if j >= 0 {
			s *= shape[j]
		}
	}
	return st
}

func sizeOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Binary applies f elementwise with broadcasting.
func Binary[T Number](a, b []T, sa, sb []int, f func(x, y T) T) ([]T, []int, error) {
	return zipBroadcast(a, b, sa, sb, f)
}

// SumTo sums x (of shape from) down to shape to, which broadcasts to from:
// the gradient of a broadcast.
func SumTo[T Number](x []T, from, to []int) []T {
	if sameInts(from, to) {
		return append([]T(nil), x...)
	}
	res := make([]T, sizeOf(to))
	st := bstrides(to, from)
	idx := make([]int, len(from))
	j := 0
	for i := range x {
		res[j] += x[i]
		for d := len(from) - 1; d >= 0; d-- {
			idx[d]++
			j += st[d]
			if idx[d] < from[d] {
				break
			}
			j -= st[d] * from[d]
			idx[d] = 0
		}
	}
	return res
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Dense builds a tensor of the given shape over data (rank 0 for a scalar).
func Dense[T any](shape []int, data []T) *tensor.Dense {
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(data[0]))
	}
	return tensor.New(tensor.WithShape(append([]int{}, shape...)...), tensor.WithBacking(data))
}

// Data returns a tensor's elements as a slice of T that aliases the
// tensor (a scalar as one element), or an error when the element type
// differs.
func Data[T any](t *tensor.Dense) ([]T, error) {
	if t == nil {
		return nil, fmt.Errorf("no tensor")
	}
	if !t.IsScalar() && t.Shape().TotalSize() == 0 {
		// gorgonia's Data panics on a tensor of no elements.
		var zero T
		if t.Dtype().Type != reflect.TypeOf(zero) {
			return nil, fmt.Errorf("tensor holds %v, want %T", t.Dtype(), zero)
		}
		return []T{}, nil
	}
	if n := int(reflect.TypeFor[T]().Size()); n > 0 && len(t.Raw) >= n && !t.IsScalar() && t.Dtype().Type == reflect.TypeFor[T]() {
		// What t.Data() holds (its elements over t.Raw), without boxing
		// it in an interface: that took two allocations a call, a few
		// hundred a network's run.
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(t.Raw))), len(t.Raw)/n), nil
	}
	switch d := t.Data().(type) {
	case []T:
		return d, nil
	case T:
		// A scalar's one element, aliased like a slice's: writing through
		// the result changes the tensor (an optimizer updates a 0-d
		// parameter in place; a copy would leave it unchanged).
		var zero T
		if n := int(unsafe.Sizeof(zero)); n > 0 && len(t.Raw) >= n {
			return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(t.Raw))), 1), nil
		}
		return []T{d}, nil
	}
	var zero T
	return nil, fmt.Errorf("tensor holds %v, want %T", t.Dtype(), zero)
}

// datas returns the elements of every input as []T.
func datas[T any](in []*tensor.Dense) ([][]T, error) {
	out := make([][]T, len(in))
	for i, t := range in {
		d, err := Data[T](t)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

// data2 returns the elements of in[0] and in[1], a kernel's two operands.
func data2[T any](in []*tensor.Dense) (x, y []T, err error) {
	if x, err = Data[T](in[0]); err == nil {
		y, err = Data[T](in[1])
	}
	return x, y, err
}

// Shape returns a tensor's shape as ints ([] for a scalar).
func Shape(t *tensor.Dense) []int {
	if t.IsScalar() {
		return []int{}
	}
	return append([]int{}, t.Shape()...)
}
