package graph

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Storage says where a file kept a tensor's values.
type Storage int

// Where tensor values are kept.
const (
	StorageRaw      Storage = iota // raw_data (or no values at all)
	StorageTyped                   // float_data, int32_data, int64_data, ...
	StorageExternal                // a side file named by external_data
)

// Tensor is a dense tensor (TensorProto). Its values are held in Raw, packed
// little-endian as raw_data would hold them, whatever way the file stored
// them; Storage remembers that way so export can write it back the same.
type Tensor struct {
	Name      string
	DType     DType
	Dims      []int64
	Raw       []byte   // values of every type but strings
	Strings   [][]byte // values of a string tensor
	Storage   Storage
	External  []StringPair // external_data entries as read (location, offset, length, checksum)
	DocString string
	Metadata  []StringPair
	Segment   *Segment

	// DataLocationSet records that the file wrote data_location.
	DataLocationSet bool
	Explicit        FieldSet
	Unknown         []byte
}

// Segment is TensorProto.Segment.
type Segment struct {
	Begin, End int64
	Explicit   FieldSet
	Unknown    []byte
}

// ErrShape reports dims that are negative or whose product overflows.
var ErrShape = errors.New("invalid dims")

// NumElements returns the product of dims, or an error wrapping ErrShape.
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dim %d in %v", ErrShape, d, dims)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("%w: %v has more than 2^63 elements", ErrShape, dims)
		}
		n *= d
	}
	return n, nil
}

// Len returns the number of elements (0 for invalid dims).
func (t *Tensor) Len() int64 {
	n, err := NumElements(t.Dims)
	if err != nil {
		return 0
	}
	return n
}

// Float32s decodes a float32 tensor's values.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType != Float32 {
		return nil, fmt.Errorf("tensor %q is %s, not float32", t.Name, t.DType)
	}
	return Decode[float32](t.Raw)
}

// SetFloat32s replaces a float32 tensor's values; len(v) must match dims.
func (t *Tensor) SetFloat32s(v []float32) error {
	if t.DType != Float32 {
		return fmt.Errorf("tensor %q is %s, not float32", t.Name, t.DType)
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(len(v)) != n {
		return fmt.Errorf("tensor %q: %d values for dims %v", t.Name, len(v), t.Dims)
	}
	t.Raw = Encode(v)
	return nil
}

func widen[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](raw []byte) ([]int64, error) {
	v, err := Decode[T](raw)
	if err != nil {
		return nil, err
	}
	return Convert[T, int64](v), nil
}

var int64Decoders = ByDType[func([]byte) ([]int64, error)]{
	Int64: Decode[int64], Int32: widen[int32], Int16: widen[int16], Int8: widen[int8],
	Uint32: widen[uint32], Uint16: widen[uint16], Uint8: widen[uint8], Bool: widen[uint8],
}

// Int64s decodes an integer tensor's values as int64 (int8 to int64, uint8 to
// uint32, bool).
func (t *Tensor) Int64s() ([]int64, error) {
	n := t.Len()
	if t.DType.ByteLen(n) != int64(len(t.Raw)) {
		return nil, fmt.Errorf("tensor %q: %d bytes for %d %s values", t.Name, len(t.Raw), n, t.DType)
	}
	dec, ok := int64Decoders.For(t.DType)
	if !ok {
		return nil, fmt.Errorf("tensor %q is %s, not an integer type", t.Name, t.DType)
	}
	return dec(t.Raw)
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Dims = append([]int64(nil), t.Dims...)
	c.Raw = append([]byte(nil), t.Raw...)
	if t.Strings != nil {
		c.Strings = make([][]byte, len(t.Strings))
		for i, s := range t.Strings {
			c.Strings[i] = append([]byte(nil), s...)
		}
	}
	c.External = append([]StringPair(nil), t.External...)
	c.Metadata = append([]StringPair(nil), t.Metadata...)
	if t.Segment != nil {
		s := *t.Segment
		c.Segment = &s
	}
	c.Unknown = append([]byte(nil), t.Unknown...)
	return &c
}

// NewFloat32 returns a float32 tensor with the given name, dims and values.
func NewFloat32(name string, dims []int64, v []float32) (*Tensor, error) {
	t := &Tensor{Name: name, DType: Float32, Dims: append([]int64(nil), dims...)}
	if err := t.SetFloat32s(v); err != nil {
		return nil, err
	}
	return t, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
