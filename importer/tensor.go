package importer

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// ErrTensor reports tensor values that do not agree with the tensor's type
// and dims.
var ErrTensor = errors.New("invalid tensor")

func (c *converter) tensor(p *pb.TensorProto) (*graph.Tensor, error) {
	t := &graph.Tensor{
		Name:            p.GetName(),
		DType:           graph.DType(p.GetDataType()),
		Dims:            p.Dims,
		DocString:       p.GetDocString(),
		Metadata:        pairs(p.MetadataProps),
		External:        pairs(p.ExternalData),
		DataLocationSet: p.DataLocation != nil,
		Unknown:         p.XXX_unrecognized,
	}
	fs := explicitStr(0, 8, p.Name)
	fs = explicitStr(fs, 12, p.DocString)
	fs = explicitI32(fs, 2, p.DataType)
	if p.RawData != nil && len(p.RawData) == 0 {
		fs = fs.With(9)
	}
	t.Explicit = fs
	if p.Segment != nil {
		s := &graph.Segment{Begin: p.Segment.GetBegin(), End: p.Segment.GetEnd(), Unknown: p.Segment.XXX_unrecognized}
		s.Explicit = explicitInt(explicitInt(0, 1, p.Segment.Begin), 2, p.Segment.End)
		t.Segment = s
	}
	if !t.DType.Known() {
		return nil, fmt.Errorf("%w: unknown data type %d", ErrTensor, p.GetDataType())
	}
	n, err := graph.NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTensor, err)
	}
	// Checked before anything of the tensor's size is read or allocated.
	checkSize := func() error {
		if err := graph.CheckBytes(fmt.Sprintf("tensor %q %s%v", t.Name, t.DType, t.Dims), t.DType.ByteLen(n), 1, c.maxBytes); err != nil {
			return fmt.Errorf("%w: %w", ErrTensor, err)
		}
		return nil
	}
	typed := typedFields(p)
	if typed > 1 {
		return nil, fmt.Errorf("%w: values in %d typed fields at once", ErrTensor, typed)
	}
	if p.GetDataLocation() == pb.TensorProto_EXTERNAL || len(p.ExternalData) > 0 {
		if len(p.RawData) > 0 || typed > 0 {
			return nil, fmt.Errorf("%w: external data and inline values at once", ErrTensor)
		}
		t.Storage = graph.StorageExternal
		if c.ext == nil {
			return nil, fmt.Errorf("%w: external data, but the model was not read from a file (set Options.Dir)", ErrTensor)
		}
		want := t.DType.ByteLen(n)
		if t.DType == graph.String {
			return nil, fmt.Errorf("%w: %s tensors cannot be external", ErrTensor, t.DType)
		}
		if err := checkSize(); err != nil {
			return nil, err
		}
		if t.Raw, err = c.ext.read(t.External, want); err != nil {
			return nil, err
		}
		return t, nil
	}
	if t.DType == graph.String {
		if len(p.RawData) > 0 || typed > 0 && p.StringData == nil {
			return nil, fmt.Errorf("%w: string tensor with numeric values", ErrTensor)
		}
		if int64(len(p.StringData)) != n {
			return nil, fmt.Errorf("%w: %d strings for dims %v", ErrTensor, len(p.StringData), t.Dims)
		}
		t.Strings = p.StringData
		if n > 0 {
			t.Storage = graph.StorageTyped
		}
		return t, nil
	}
	if p.RawData != nil {
		if typed > 0 {
			return nil, fmt.Errorf("%w: raw_data and typed values at once", ErrTensor)
		}
		if want := t.DType.ByteLen(n); int64(len(p.RawData)) != want {
			return nil, fmt.Errorf("%w: raw_data has %d bytes, %s%v needs %d", ErrTensor, len(p.RawData), t.DType, t.Dims, want)
		}
		if err := checkSize(); err != nil {
			return nil, err
		}
		t.Raw = p.RawData
		return t, nil
	}
	if typed == 0 {
		if n != 0 {
			return nil, fmt.Errorf("%w: no values for %s%v", ErrTensor, t.DType, t.Dims)
		}
		return t, nil
	}
	if err := checkSize(); err != nil {
		return nil, err
	}
	t.Storage = graph.StorageTyped
	if t.Raw, err = typedToRaw(p, t.DType, n); err != nil {
		return nil, err
	}
	return t, nil
}

func typedFields(p *pb.TensorProto) int {
	k := 0
	for _, l := range []int{len(p.FloatData), len(p.Int32Data), len(p.StringData), len(p.Int64Data), len(p.DoubleData), len(p.Uint64Data)} {
		if l > 0 {
			k++
		}
	}
	return k
}

// typedToRaw packs the values of a typed field as raw_data would hold them.
// Each type has one field the ONNX specification assigns to it.
func typedToRaw(p *pb.TensorProto, d graph.DType, n int64) ([]byte, error) {
	switch d {
	case graph.Float32, graph.Complex64:
		return typedField(p.FloatData, d, n)
	case graph.Float64, graph.Complex128:
		return typedField(p.DoubleData, d, n)
	case graph.Int64:
		return typedField(p.Int64Data, d, n)
	case graph.Uint64:
		return typedField(p.Uint64Data, d, n)
	case graph.Uint32:
		if err := checkField(len(p.Uint64Data), d, n); err != nil {
			return nil, err
		}
		v, err := narrow[uint32](p.Uint64Data, 0, math.MaxUint32, d)
		if err != nil {
			return nil, err
		}
		return graph.Encode(v), nil
	}
	// Every other type travels in int32_data: one element per int32 for
	// types of 8 or 16 bits, one packed byte per int32 for sub-byte types.
	if len(p.Int32Data) == 0 {
		return nil, wrongField(d)
	}
	bits := d.Bits()
	want := n
	if bits < 8 {
		want = d.ByteLen(n)
	}
	if int64(len(p.Int32Data)) != want {
		return nil, fmt.Errorf("%w: %d int32_data values for %d %s elements", ErrTensor, len(p.Int32Data), n, d)
	}
	lo, hi := int32(0), int32(255)
	switch d {
	case graph.Int32:
		return graph.Encode(p.Int32Data), nil
	case graph.Int16:
		lo, hi = math.MinInt16, math.MaxInt16
	case graph.Uint16, graph.Float16, graph.BFloat16:
		lo, hi = 0, math.MaxUint16
	case graph.Int8:
		lo, hi = math.MinInt8, math.MaxInt8
	case graph.Bool:
		lo, hi = 0, 1
	}
	if bits == 16 {
		v, err := narrow[uint16](p.Int32Data, lo, hi, d)
		if err != nil {
			return nil, err
		}
		return graph.Encode(v), nil
	}
	return narrow[uint8](p.Int32Data, lo, hi, d)
}

// wrongField is the error for a tensor whose values are not in its type's field.
func wrongField(d graph.DType) error {
	return fmt.Errorf("%w: %s values are not in the field the specification assigns to %s", ErrTensor, d, d)
}

// checkField checks that the typed field of d holds n elements (two
// values each for complex types): have values.
func checkField(have int, d graph.DType, n int64) error {
	if have == 0 {
		return wrongField(d)
	}
	per := int64(1)
	if d == graph.Complex64 || d == graph.Complex128 {
		per = 2
	}
	if int64(have) != n*per {
		return fmt.Errorf("%w: %d typed values for %d %s elements", ErrTensor, have, n, d)
	}
	return nil
}

// typedField checks v, the typed field of d, and packs it as raw_data
// would hold it.
func typedField[T float32 | float64 | int64 | uint64](v []T, d graph.DType, n int64) ([]byte, error) {
	if err := checkField(len(v), d, n); err != nil {
		return nil, err
	}
	return graph.Encode(v), nil
}

// narrow converts values in [lo, hi] to T, the unsigned type of their size
// (two's complement bits for signed types, as raw_data holds them).
func narrow[T uint8 | uint16 | uint32, S int32 | uint64](v []S, lo, hi S, d graph.DType) ([]T, error) {
	out := make([]T, len(v))
	for i, x := range v {
		if x < lo || x > hi {
			return nil, fmt.Errorf("%w: value %d out of range for %s", ErrTensor, x, d)
		}
		out[i] = T(x)
	}
	return out, nil
}
