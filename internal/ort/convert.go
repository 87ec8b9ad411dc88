package ort

import (
	"fmt"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/onnxtune/onnxtune/graph"
)

// elements checks shape and returns its number of elements.
func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

func newValue(t Tensor) (onnxruntime.Value, error) {
	n, err := elements(t.Shape)
	if err != nil {
		return nil, fmt.Errorf("ort: input %q: %w", t.Name, err)
	}
	var v onnxruntime.Value
	switch d := t.Data.(type) {
	case []float32:
		v, err = newTensor(t, n, d)
	case []float64:
		v, err = newTensor(t, n, d)
	case []int64:
		v, err = newTensor(t, n, d)
	case []int32:
		v, err = newTensor(t, n, d)
	case []uint8:
		v, err = newTensor(t, n, d)
	case []int8:
		v, err = newTensor(t, n, d)
	case []bool:
		v, err = newTensor(t, n, d)
	case []graph.F16:
		v, err = newHalf(t, n, d, onnxruntime.TensorElementDataTypeFloat16)
	case []graph.BF16:
		v, err = newHalf(t, n, d, onnxruntime.TensorElementDataTypeBFloat16)
	default:
		return nil, fmt.Errorf("ort: input %q: unsupported data type %T", t.Name, t.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("ort: input %q: %w", t.Name, err)
	}
	return v, nil
}

func newTensor[T onnxruntime.TensorData](t Tensor, n int64, data []T) (onnxruntime.Value, error) {
	if int64(len(data)) != n {
		return nil, fmt.Errorf("shape %v needs %d elements, data has %d", t.Shape, n, len(data))
	}
	if len(t.Shape) == 0 {
		return onnxruntime.NewScalar(data[0])
	}
	return onnxruntime.NewTensor(onnxruntime.NewShape(t.Shape...), data)
}

// newHalf holds float16 or bfloat16 values, which onnxruntime_go passes as
// bytes.
func newHalf[H graph.F16 | graph.BF16](t Tensor, n int64, data []H, elem onnxruntime.TensorElementDataType) (onnxruntime.Value, error) {
	if int64(len(data)) != n {
		return nil, fmt.Errorf("shape %v needs %d elements, data has %d", t.Shape, n, len(data))
	}
	return onnxruntime.NewCustomDataTensor(onnxruntime.NewShape(t.Shape...), graph.Encode(data), elem)
}

// newHalfOutput allocates a float16 or bfloat16 output: onnxruntime_go
// copies only one byte an element of one that ONNX Runtime allocates, so
// its shape must be known.
func newHalfOutput(info IOInfo) (onnxruntime.Value, error) {
	n, err := elements(info.Shape)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("ort: output %q: a %s output needs a known shape, have %v", info.Name, info.DataType, info.Shape)
	}
	return onnxruntime.NewCustomDataTensor(onnxruntime.NewShape(info.Shape...), make([]byte, 2*n), info.elem)
}

func newScalar(info IOInfo) (onnxruntime.Value, error) {
	var (
		v   onnxruntime.Value
		err error
	)
	switch info.elem {
	case onnxruntime.TensorElementDataTypeFloat:
		v, err = onnxruntime.NewEmptyScalar[float32]()
	case onnxruntime.TensorElementDataTypeDouble:
		v, err = onnxruntime.NewEmptyScalar[float64]()
	case onnxruntime.TensorElementDataTypeInt64:
		v, err = onnxruntime.NewEmptyScalar[int64]()
	case onnxruntime.TensorElementDataTypeInt32:
		v, err = onnxruntime.NewEmptyScalar[int32]()
	case onnxruntime.TensorElementDataTypeUint8:
		v, err = onnxruntime.NewEmptyScalar[uint8]()
	case onnxruntime.TensorElementDataTypeInt8:
		v, err = onnxruntime.NewEmptyScalar[int8]()
	case onnxruntime.TensorElementDataTypeBool:
		v, err = onnxruntime.NewEmptyScalar[bool]()
	default:
		return nil, fmt.Errorf("ort: output %q: unsupported element type %s", info.Name, info.DataType)
	}
	if err != nil {
		return nil, fmt.Errorf("ort: output %q: %w", info.Name, err)
	}
	return v, nil
}

func fromValue(v onnxruntime.Value) (Tensor, error) {
	switch x := v.(type) {
	case *onnxruntime.Tensor[float32]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[float64]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[int64]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[int32]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[uint8]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[int8]:
		return fromTensor(x), nil
	case *onnxruntime.Tensor[bool]:
		return fromTensor(x), nil
	case *onnxruntime.Scalar[float32]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[float64]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[int64]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[int32]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[uint8]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[int8]:
		return fromScalar(x), nil
	case *onnxruntime.Scalar[bool]:
		return fromScalar(x), nil
	case *onnxruntime.CustomDataTensor:
		shape := []int64(x.GetShape())
		switch onnxruntime.TensorElementDataType(x.DataType()) {
		case onnxruntime.TensorElementDataTypeFloat16:
			d, err := graph.Decode[graph.F16](x.GetData())
			return Tensor{Shape: shape, Data: d}, err
		case onnxruntime.TensorElementDataTypeBFloat16:
			d, err := graph.Decode[graph.BF16](x.GetData())
			return Tensor{Shape: shape, Data: d}, err
		}
		return Tensor{}, fmt.Errorf("unsupported value %T", v)
	case nil:
		return Tensor{}, fmt.Errorf("no value")
	default:
		return Tensor{}, fmt.Errorf("unsupported value %T (type %s)", v, v.GetONNXType())
	}
}

// fromTensor takes the tensor's data slice: onnxruntime_go copies every
// output that ONNX Runtime allocated into Go memory, which stays valid after
// the tensor is destroyed.
func fromTensor[T onnxruntime.TensorData](t *onnxruntime.Tensor[T]) Tensor {
	data := t.GetData()
	if data == nil {
		data = []T{}
	}
	return Tensor{Shape: []int64(t.GetShape()), Data: data}
}

func fromScalar[T onnxruntime.TensorData](s *onnxruntime.Scalar[T]) Tensor {
	return Tensor{Shape: []int64{}, Data: []T{s.GetData()}}
}

// typeName is graph's numpy-style name of an element type: ONNX Runtime
// numbers element types as ONNX's TensorProto.DataType does.
func typeName(t onnxruntime.TensorElementDataType) string {
	if d := graph.DType(t); d.Known() {
		return d.String()
	}
	return t.String()
}
