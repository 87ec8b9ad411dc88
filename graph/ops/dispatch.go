package ops

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Kernels are written once as generic functions of the element type; the
// engine picks an instantiation by the type of a tensor here and nowhere
// else. A kernel maker lists its instantiations in a byType table (a
// graph.ByDType, the codec's dispatch) and hands it to dispatch, or to
// floats when it is written for float32 and float64 only.

// byType holds one generic function's instantiations by element type.
type byType[F any] = graph.ByDType[F]

// pick returns fs's instantiation for gorgonia's element type dt.
func pick[F any](fs byType[F], dt tensor.Dtype) (F, error) {
	if d, err := fromTensorDtype(dt); err == nil {
		if f, ok := fs.For(d); ok {
			return f, nil
		}
	}
	var none F
	return none, fmt.Errorf("element type %v is not supported", dt)
}

// dispatch returns the Kernel that runs ks's instantiation for the element
// type of its first input.
func dispatch(ks byType[Kernel]) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		k, err := pick(ks, in[0].Dtype())
		if err != nil {
			return nil, err
		}
		return k(in)
	}
}

// floats is dispatch for a kernel written for float32 and float64.
func floats(f32, f64 Kernel) Kernel {
	return dispatch(byType[Kernel]{Float32: f32, Float64: f64})
}

// floatsInto is floats for an IntoKernel, by the output's element type.
func floatsInto(f32, f64 IntoKernel) IntoKernel {
	ks := byType[IntoKernel]{Float32: f32, Float64: f64}
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		k, err := pick(ks, dst.Dtype())
		if err != nil {
			return err
		}
		return k(in, dst)
	}
}

// bodiesInto makes an IntoKernel from float32 and float64 bodies that read
// every input and write every element of the output.
func bodiesInto(f32 func(in [][]float32, y []float32), f64 func(in [][]float64, y []float64)) IntoKernel {
	return floatsInto(
		func(in []*tensor.Dense, dst *tensor.Dense) error { return runInto(in, dst, f32) },
		func(in []*tensor.Dense, dst *tensor.Dense) error { return runInto(in, dst, f64) })
}

func runInto[T Float](in []*tensor.Dense, dst *tensor.Dense, f func([][]T, []T)) error {
	xs, err := datas[T](in)
	if err != nil {
		return err
	}
	y, err := Data[T](dst)
	if err != nil {
		return err
	}
	f(xs, y)
	return nil
}
