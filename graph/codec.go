package graph

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
)

// This file is the one place that knows how each element type is laid out in
// bytes: raw_data, external data files and .npy members all hold values
// packed little-endian, and every package decodes and encodes them here.
// Adding an element type means adding it to Elem, ByDType, Decode and
// AppendEncode.

// F16 is an IEEE 754 half-precision value (ONNX FLOAT16, numpy float16), held
// as its bits.
type F16 uint16

// BF16 is a bfloat16 value (ONNX BFLOAT16, PyTorch torch.bfloat16), held as its
// bits: the upper half of a float32.
type BF16 uint16

// Elem is the Go type of each element type this package decodes and encodes.
type Elem interface {
	float32 | float64 | F16 | BF16 |
		int8 | int16 | int32 | int64 |
		uint8 | uint16 | uint32 | uint64 |
		bool
}

// Real is every Go number type: what Convert converts between.
type Real interface {
	~float32 | ~float64 | ~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Convert converts v element by element with Go's conversions (floats
// truncate toward zero, integers wrap).
func Convert[S, D Real](v []S) []D {
	out := make([]D, len(v))
	for i, x := range v {
		out[i] = D(x)
	}
	return out
}

// ByDType holds one value per element type, typically the instantiations of
// a generic function: For picks the one for a DType. It is the dispatch by
// element type, written once; a nil field means "not supported".
type ByDType[F any] struct {
	Float32, Float64, Float16, BFloat16 F
	Int8, Int16, Int32, Int64           F
	Uint8, Uint16, Uint32, Uint64       F
	Bool                                F
}

// For returns the value held for d; ok is false for a type the table does not
// hold or holds as nil.
func (b *ByDType[F]) For(d DType) (f F, ok bool) {
	switch d {
	case Float32:
		f = b.Float32
	case Float64:
		f = b.Float64
	case Float16:
		f = b.Float16
	case BFloat16:
		f = b.BFloat16
	case Int8:
		f = b.Int8
	case Int16:
		f = b.Int16
	case Int32:
		f = b.Int32
	case Int64:
		f = b.Int64
	case Uint8:
		f = b.Uint8
	case Uint16:
		f = b.Uint16
	case Uint32:
		f = b.Uint32
	case Uint64:
		f = b.Uint64
	case Bool:
		f = b.Bool
	default:
		return f, false
	}
	v := reflect.ValueOf(&f).Elem()
	switch v.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Chan:
		return f, !v.IsNil()
	}
	return f, true
}

// DTypeOf returns the element type whose values Go holds as T.
func DTypeOf[T Elem]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case F16:
		return Float16
	case BF16:
		return BFloat16
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	}
	return Bool
}

// Size is the number of bytes one element of type d takes, or 0 for strings,
// sub-byte and unknown types.
func (d DType) Size() int {
	if b := d.Bits(); b >= 8 {
		return b / 8
	}
	return 0
}

// Decode decodes little-endian raw bytes into values of type T; len(raw) must
// be a multiple of T's size. Booleans are true for any byte but 0.
func Decode[T Elem](raw []byte) ([]T, error) {
	size := DTypeOf[T]().Size()
	if len(raw)%size != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of %s values", len(raw), DTypeOf[T]())
	}
	out := make([]T, len(raw)/size)
	le := binary.LittleEndian
	switch o := any(out).(type) {
	case []float32:
		for i := range o {
			o[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case []float64:
		for i := range o {
			o[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case []F16:
		decode16(o, raw)
	case []BF16:
		decode16(o, raw)
	case []int8:
		for i := range o {
			o[i] = int8(raw[i])
		}
	case []int16:
		decode16(o, raw)
	case []int32:
		decode32(o, raw)
	case []int64:
		decode64(o, raw)
	case []uint8:
		copy(o, raw)
	case []uint16:
		decode16(o, raw)
	case []uint32:
		decode32(o, raw)
	case []uint64:
		decode64(o, raw)
	case []bool:
		for i := range o {
			o[i] = raw[i] != 0
		}
	}
	return out, nil
}

// decode16, decode32 and decode64 fill o from little-endian raw, 2, 4 or 8
// bytes a value.
func decode16[T ~uint16 | ~int16](o []T, raw []byte) {
	for i := range o {
		o[i] = T(binary.LittleEndian.Uint16(raw[2*i:]))
	}
}

func decode32[T ~uint32 | ~int32](o []T, raw []byte) {
	for i := range o {
		o[i] = T(binary.LittleEndian.Uint32(raw[4*i:]))
	}
}

func decode64[T ~uint64 | ~int64](o []T, raw []byte) {
	for i := range o {
		o[i] = T(binary.LittleEndian.Uint64(raw[8*i:]))
	}
}

// Encode packs values little-endian as raw_data holds them.
func Encode[T Elem](v []T) []byte {
	return AppendEncode(make([]byte, 0, len(v)*DTypeOf[T]().Size()), v)
}

// AppendEncode appends v, packed little-endian, to b.
func AppendEncode[T Elem](b []byte, v []T) []byte {
	le := binary.LittleEndian
	switch s := any(v).(type) {
	case []float32:
		for _, x := range s {
			b = le.AppendUint32(b, math.Float32bits(x))
		}
	case []float64:
		for _, x := range s {
			b = le.AppendUint64(b, math.Float64bits(x))
		}
	case []F16:
		b = encode16(b, s)
	case []BF16:
		b = encode16(b, s)
	case []int8:
		for _, x := range s {
			b = append(b, byte(x))
		}
	case []int16:
		b = encode16(b, s)
	case []int32:
		b = encode32(b, s)
	case []int64:
		b = encode64(b, s)
	case []uint8:
		b = append(b, s...)
	case []uint16:
		b = encode16(b, s)
	case []uint32:
		b = encode32(b, s)
	case []uint64:
		b = encode64(b, s)
	case []bool:
		for _, x := range s {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b
}

func encode16[T ~uint16 | ~int16](b []byte, v []T) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func encode32[T ~uint32 | ~int32](b []byte, v []T) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func encode64[T ~uint64 | ~int64](b []byte, v []T) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func decodeAny[T Elem](raw []byte) (any, error) { return Decode[T](raw) }

var decoders = ByDType[func([]byte) (any, error)]{
	Float32: decodeAny[float32], Float64: decodeAny[float64],
	Float16: decodeAny[F16], BFloat16: decodeAny[BF16],
	Int8: decodeAny[int8], Int16: decodeAny[int16], Int32: decodeAny[int32], Int64: decodeAny[int64],
	Uint8: decodeAny[uint8], Uint16: decodeAny[uint16], Uint32: decodeAny[uint32], Uint64: decodeAny[uint64],
	Bool: decodeAny[bool],
}

// DecodeAs decodes raw bytes of element type d into the Go slice for d
// ([]float32, []F16, []int64, []bool, ...).
func DecodeAs(d DType, raw []byte) (any, error) {
	dec, ok := decoders.For(d)
	if !ok {
		return nil, fmt.Errorf("element type %s has no Go representation", d)
	}
	return dec(raw)
}

// Values decodes t's values as T, which must be the Go type of t's DType.
func Values[T Elem](t *Tensor) ([]T, error) {
	if want := DTypeOf[T](); t.DType != want {
		return nil, fmt.Errorf("tensor %q is %s, not %s", t.Name, t.DType, want)
	}
	if n := t.Len(); t.DType.ByteLen(n) != int64(len(t.Raw)) {
		return nil, fmt.Errorf("tensor %q: %d bytes for %d %s values", t.Name, len(t.Raw), n, t.DType)
	}
	return Decode[T](t.Raw)
}

// Float32 returns the float32 value of h; every float16 is exactly a float32.
func (h F16) Float32() float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // infinity or NaN, payload kept
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		e := uint32(113) // subnormal: normalize
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// F16FromFloat32 rounds f to the nearest float16, ties to even, as numpy's
// astype(float16) and PyTorch's .half() do: values beyond the largest finite
// float16 become infinities, small ones subnormals or zeros; a NaN stays a
// NaN with the top bits of its payload (numpy).
func F16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := b >> 23 & 0xff
	sig := b & 0x7fffff
	switch {
	case exp == 0xff:
		if sig == 0 {
			return F16(sign | 0x7c00)
		}
		h := uint16(0x7c00 + sig>>13)
		if h == 0x7c00 {
			h++ // keep it a NaN
		}
		return F16(sign | h)
	case exp >= 143: // 2^16 and above
		return F16(sign | 0x7c00)
	case exp < 102: // below 2^-25: rounds to zero
		return F16(sign)
	case exp < 113: // a float16 subnormal (or the smallest normal after rounding)
		return F16(sign | uint16(roundShift(sig|0x800000, 126-exp)))
	}
	h := (exp-112)<<10 | sig>>13
	rem := sig & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is right, up to infinity
	}
	return F16(sign | uint16(h))
}

// roundShift is v >> s rounded to nearest, ties to even.
func roundShift(v, s uint32) uint32 {
	q := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return q
}

// Float32 returns the float32 value of h; every bfloat16 is exactly a float32.
func (h BF16) Float32() float32 { return math.Float32frombits(uint32(h) << 16) }

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even, as PyTorch's
// .bfloat16() and ml_dtypes do; a NaN becomes the quiet NaN of its sign
// (ml_dtypes).
func BF16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if f != f {
		return BF16(b>>16&0x8000 | 0x7fc0)
	}
	return BF16((b + 0x7fff + (b >> 16 & 1)) >> 16)
}

// EncodeFloat32sAs packs float32 values little-endian as float type d:
// float32 as they are, float64 exactly, float16 and bfloat16 rounded to
// nearest, ties to even (F16FromFloat32, BF16FromFloat32).
func EncodeFloat32sAs(d DType, v []float32) ([]byte, error) {
	switch d {
	case Float32:
		return Encode(v), nil
	case Float64:
		return Encode(Convert[float32, float64](v)), nil
	case Float16:
		h := make([]F16, len(v))
		for i, x := range v {
			h[i] = F16FromFloat32(x)
		}
		return Encode(h), nil
	case BFloat16:
		h := make([]BF16, len(v))
		for i, x := range v {
			h[i] = BF16FromFloat32(x)
		}
		return Encode(h), nil
	}
	return nil, fmt.Errorf("cannot write float values as %s", d)
}
