package graph

import "fmt"

// DType is an element type, numbered as ONNX's TensorProto.DataType.
type DType int32

// The element types of ONNX.
const (
	Undefined      DType = 0
	Float32        DType = 1
	Uint8          DType = 2
	Int8           DType = 3
	Uint16         DType = 4
	Int16          DType = 5
	Int32          DType = 6
	Int64          DType = 7
	String         DType = 8
	Bool           DType = 9
	Float16        DType = 10
	Float64        DType = 11
	Uint32         DType = 12
	Uint64         DType = 13
	Complex64      DType = 14
	Complex128     DType = 15
	BFloat16       DType = 16
	Float8E4M3FN   DType = 17
	Float8E4M3FNUZ DType = 18
	Float8E5M2     DType = 19
	Float8E5M2FNUZ DType = 20
	Uint4          DType = 21
	Int4           DType = 22
	Float4E2M1     DType = 23
	Float8E8M0     DType = 24
	Uint2          DType = 25
	Int2           DType = 26
)

var dtypeInfo = map[DType]struct {
	name string
	bits int
}{
	Float32: {"float32", 32}, Uint8: {"uint8", 8}, Int8: {"int8", 8},
	Uint16: {"uint16", 16}, Int16: {"int16", 16}, Int32: {"int32", 32},
	Int64: {"int64", 64}, String: {"string", 0}, Bool: {"bool", 8},
	Float16: {"float16", 16}, Float64: {"float64", 64}, Uint32: {"uint32", 32},
	Uint64: {"uint64", 64}, Complex64: {"complex64", 64}, Complex128: {"complex128", 128},
	BFloat16: {"bfloat16", 16}, Float8E4M3FN: {"float8e4m3fn", 8},
	Float8E4M3FNUZ: {"float8e4m3fnuz", 8}, Float8E5M2: {"float8e5m2", 8},
	Float8E5M2FNUZ: {"float8e5m2fnuz", 8}, Uint4: {"uint4", 4}, Int4: {"int4", 4},
	Float4E2M1: {"float4e2m1", 4}, Float8E8M0: {"float8e8m0", 8},
	Uint2: {"uint2", 2}, Int2: {"int2", 2},
}

// Known reports whether d is one of the element types ONNX defines.
func (d DType) Known() bool { _, ok := dtypeInfo[d]; return ok }

// String returns the numpy-style name ("float32", "int64", ...).
func (d DType) String() string {
	if in, ok := dtypeInfo[d]; ok {
		return in.name
	}
	if d == Undefined {
		return "undefined"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Bits is the size of one element in bits; 0 for strings and unknown types.
func (d DType) Bits() int { return dtypeInfo[d].bits }

// ByteLen is the number of bytes n elements of type d take in raw_data, or -1
// for strings and unknown types. Sub-byte types are packed, rounded up.
func (d DType) ByteLen(n int64) int64 {
	b := int64(d.Bits())
	if b == 0 || n < 0 {
		return -1
	}
	if b >= 8 {
		per := b / 8
		if n > (1<<62)/per {
			return -1
		}
		return n * per
	}
	perByte := 8 / b
	return (n + perByte - 1) / perByte
}

// IsFloat reports whether d is a floating-point type (trainable).
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16:
		return true
	}
	return false
}
