package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerConstant adds the ops that make constants.
func registerConstant(r *Registry) {
	r.add(OpInfo{Name: "Constant", Lower: lowerConstant})
	r.add(OpInfo{Name: "ConstantOfShape", Lower: lowerConstantOfShape})
	r.add(OpInfo{Name: "Range", Lower: lowerRange})
}

// lowerConstant: the value, value_float(s) or value_int(s) attribute, as a
// constant.
func lowerConstant(c *Ctx, _ []*Value) ([]*Value, error) {
	var t *tensor.Dense
	r := c.attrs()
	for _, a := range c.Node.Attrs {
		var err error
		switch a.Name {
		case "value":
			v := r.Tensor(a.Name)
			if v == nil {
				return nil, fmt.Errorf("value attribute holds no tensor")
			}
			t, err = TensorFromIR(v)
		case "value_float":
			t = tensor.New(tensor.FromScalar(float32(r.Float(a.Name, 0))))
		case "value_floats":
			fs := r.Floats(a.Name)
			f32 := make([]float32, len(fs))
			for i, f := range fs {
				f32[i] = float32(f)
			}
			t = Dense([]int{len(f32)}, f32)
		case "value_int":
			t = tensor.New(tensor.FromScalar(r.Int(a.Name, 0)))
		case "value_ints":
			is := append([]int64(nil), r.Int64s(a.Name)...)
			t = Dense([]int{len(is)}, is)
		case "value_string", "value_strings", "sparse_value":
			return nil, fmt.Errorf("attribute %s is not supported", a.Name)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if t == nil {
		return nil, fmt.Errorf("no value attribute")
	}
	v, err := ConstValue(t)
	return []*Value{v}, err
}

// lowerConstantOfShape: a tensor of the shape given by input 0 (a scalar
// for an empty shape) filled with the one-element value attribute (default
// float32 0).
func lowerConstantOfShape(c *Ctx, in []*Value) ([]*Value, error) {
	shape, err := shapeInts("shape", in[0])
	if err != nil {
		return nil, err
	}
	fill := tensor.New(tensor.FromScalar(float32(0)))
	if v := c.attrs().Tensor("value"); v != nil {
		if fill, err = TensorFromIR(v); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		if fill.Size() != 1 {
			return nil, fmt.Errorf("value has %d elements, want 1", fill.Size())
		}
	}
	dt, err := fromTensorDtype(fill.Dtype())
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	if err := c.checkShape("ConstantOfShape output", shape, dt); err != nil {
		return nil, err
	}
	if err := c.hold(shape, dt, false); err != nil {
		return nil, err
	}
	fillWith, ok := fillers.For(dt)
	if !ok {
		return nil, fmt.Errorf("value of type %v is not supported", fill.Dtype())
	}
	t, err := fillWith(shape, fill)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	v, err := ConstValue(t)
	if v != nil {
		v.held = true
	}
	return []*Value{v}, err
}

// fillers fill a tensor of a shape with the one element of a tensor, for each
// element type ConstantOfShape supports.
var fillers = byType[func(shape []int, fill *tensor.Dense) (*tensor.Dense, error)]{
	Float32: fillWith[float32], Float64: fillWith[float64], Int64: fillWith[int64], Int32: fillWith[int32],
	Int8: fillWith[int8], Uint8: fillWith[uint8], Bool: fillWith[bool],
}

func fillWith[T shapeElem](shape []int, fill *tensor.Dense) (*tensor.Dense, error) {
	d, err := Data[T](fill)
	if err != nil {
		return nil, err
	}
	out := make([]T, sizeOf(shape))
	for i := range out {
		out[i] = d[0]
	}
	return Dense(shape, out), nil
}

// lowerRange: start, start+delta, ... up to limit (excluded). Its length
// depends on the values, so start, limit and delta must be known when the
// model is compiled; the output is a constant.
func lowerRange(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) < 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, fmt.Errorf("start, limit and delta are required")
	}
	var s [3]float64
	for i, what := range []string{"start", "limit", "delta"} {
		v := in[i]
		if !v.IsConst() {
			return nil, fmt.Errorf("%s (%v) must be known when the model is compiled: the output's length depends on it", what, v)
		}
		if v.DType != in[0].DType {
			return nil, fmt.Errorf("%s is %s, start is %s", what, v.DType, in[0].DType)
		}
		x, err := scalarNumber(v.Const)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		s[i] = x
	}
	start, limit, delta := s[0], s[1], s[2]
	if delta == 0 {
		return nil, fmt.Errorf("delta is 0")
	}
	count := max(math.Ceil((limit-start)/delta), 0)
	if math.IsNaN(count) {
		return nil, fmt.Errorf("start %v, limit %v and delta %v give no length", start, limit, delta)
	}
	if count >= 1<<62 {
		// At 4 bytes or more an element, beyond any int64 count of bytes.
		return nil, c.overflow(fmt.Sprintf("Range output of %.0f elements", count))
	}
	n := int(count)
	if err := c.checkShape("Range output", []int{n}, in[0].DType); err != nil {
		return nil, err
	}
	if err := c.hold([]int{n}, in[0].DType, false); err != nil {
		return nil, err
	}
	var t *tensor.Dense
	switch in[0].DType {
	case graph.Float32:
		t = rangeOf(n, float32(start), float32(delta))
	case graph.Float64:
		t = rangeOf(n, start, delta)
	case graph.Int64:
		// Integer arithmetic: exact beyond 2^53.
		a, _ := in[0].Ints()
		d, _ := in[2].Ints()
		t = rangeOf(n, int64(a[0]), int64(d[0]))
	case graph.Int32:
		t = rangeOf(n, int32(start), int32(delta))
	default:
		return nil, fmt.Errorf("element type %s is not supported", in[0].DType)
	}
	v, err := ConstValue(t)
	if v != nil {
		v.held = true
	}
	return []*Value{v}, err
}

func rangeOf[T ~float32 | ~float64 | ~int64 | ~int32](n int, start, delta T) *tensor.Dense {
	d := make([]T, n)
	for i := range d {
		d[i] = start + T(i)*delta
	}
	return Dense([]int{n}, d)
}
