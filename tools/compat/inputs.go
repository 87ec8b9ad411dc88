package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/remap"
)

// input is one graph input with a shape chosen for it and generated values.
type input struct {
	Name  string
	DType graph.DType
	Shape []int
	Data  any // []float32, []float64, []graph.F16, []graph.BF16, []int64, []int32, []int8, []uint8 or []bool
}

// Sizes for symbolic dimensions other than the batch, by the dimension's
// name (lower case, substring): enough samples for an audio front end's
// window, and an image side that a stride-32 detector divides. Every other
// symbolic dimension is 1.
var namedDims = []struct {
	part string
	size int
}{
	{"sequence", 512},
	{"samples", 512},
	{"height", 64},
	{"width", 64},
}

// intValue is the value of every element of an integer input with this name
// (lower case), where a model needs one value: the sample rate of Silero VAD.
var intValue = map[string]int64{"sr": 16000}

// planInputs chooses shapes for m's graph inputs that are not initializers:
// fixed dimensions as declared; a symbolic dimension named as the first
// axis of any input gets batch; the others namedDims or 1. A symbolic name
// gets one size everywhere it appears. With force, the first input's first
// axis is batch even when the model fixes it (a training batch).
func planInputs(m *graph.Model, batch int, force bool) ([]input, error) {
	names := ops.InputNames(m)
	if len(names) == 0 {
		return nil, fmt.Errorf("the model has no graph input to feed")
	}
	type decl struct {
		name string
		dt   graph.DType
		dims []graph.Dim
	}
	var decls []decl
	sizes := make(map[string]int)
	for _, name := range names {
		v := m.Graph.Input(name)
		dt, dims, ok := v.TensorShape()
		if !ok {
			return nil, fmt.Errorf("graph input %q is not a tensor of known rank", name)
		}
		decls = append(decls, decl{name, dt, dims})
		if len(dims) > 0 && !dims[0].HasValue && dims[0].HasParam {
			sizes[dims[0].Param] = batch
		}
	}
	var ins []input
	for k, d := range decls {
		shape := make([]int, len(d.dims))
		for i, dim := range d.dims {
			switch {
			case dim.HasValue && dim.Value >= 0:
				shape[i] = int(dim.Value)
			case dim.HasParam:
				s, ok := sizes[dim.Param]
				if !ok {
					s = namedSize(dim.Param)
					sizes[dim.Param] = s
				}
				shape[i] = s
			case i == 0:
				shape[i] = batch
			default:
				shape[i] = 1
			}
		}
		// The batch axis: 0, or where a recurrent op declares it (a
		// sequence-first input holds it on axis 1).
		if a := remap.BatchAxis(m, d.name); force && k == 0 && len(shape) > a {
			shape[a] = batch
		}
		data, err := generate(d.name, d.dt, shape, uint64(k+1))
		if err != nil {
			return nil, err
		}
		ins = append(ins, input{Name: d.name, DType: d.dt, Shape: shape, Data: data})
	}
	return ins, nil
}

func namedSize(param string) int {
	p := strings.ToLower(param)
	for _, n := range namedDims {
		if strings.Contains(p, n.part) {
			return n.size
		}
	}
	return 1
}

// generate makes deterministic values for an input: floats uniform in
// [-1, 1), integers in [0, 3) (valid indices for any embedding), masks all
// 1, booleans alternating.
func generate(name string, dt graph.DType, shape []int, seed uint64) (any, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > (1<<26)/d) {
			return nil, fmt.Errorf("input %q: shape %v is too large to generate", name, shape)
		}
		n *= d
	}
	r := rand.New(rand.NewPCG(seed, 0x636f6d706174)) // "compat"
	lower := strings.ToLower(name)
	ints := func() []int64 {
		v := make([]int64, n)
		fixed, isFixed := intValue[lower]
		for i := range v {
			switch {
			case isFixed:
				v[i] = fixed
			case strings.Contains(lower, "mask"):
				v[i] = 1
			default:
				v[i] = int64(r.IntN(3))
			}
		}
		return v
	}
	switch dt {
	case graph.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v, nil
	case graph.Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = r.Float64()*2 - 1
		}
		return v, nil
	case graph.Float16:
		v := make([]graph.F16, n)
		for i := range v {
			v[i] = graph.F16FromFloat32(float32(r.Float64()*2 - 1))
		}
		return v, nil
	case graph.BFloat16:
		v := make([]graph.BF16, n)
		for i := range v {
			v[i] = graph.BF16FromFloat32(float32(r.Float64()*2 - 1))
		}
		return v, nil
	case graph.Int64:
		return ints(), nil
	case graph.Int32:
		return convert[int32](ints()), nil
	case graph.Int8:
		return convert[int8](ints()), nil
	case graph.Uint8:
		return convert[uint8](ints()), nil
	case graph.Bool:
		v := make([]bool, n)
		for i := range v {
			v[i] = i%2 == 0
		}
		return v, nil
	}
	return nil, fmt.Errorf("input %q is %s: no values can be generated for it here (the engine and this harness take float32, float64, float16, bfloat16, int64, int32, int8, uint8 and bool)", name, dt)
}

func convert[T int32 | int8 | uint8](v []int64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// dense is the input as the engine takes it (float16 and bfloat16 as the
// float32 values they are).
func (in input) dense() *tensor.Dense {
	switch d := in.Data.(type) {
	case []graph.F16:
		return ops.Dense(in.Shape, conv32(d, graph.F16.Float32))
	case []graph.BF16:
		return ops.Dense(in.Shape, conv32(d, graph.BF16.Float32))
	case []float32:
		return ops.Dense(in.Shape, d)
	case []float64:
		return ops.Dense(in.Shape, d)
	case []int64:
		return ops.Dense(in.Shape, d)
	case []int32:
		return ops.Dense(in.Shape, d)
	case []int8:
		return ops.Dense(in.Shape, d)
	case []uint8:
		return ops.Dense(in.Shape, d)
	case []bool:
		return ops.Dense(in.Shape, d)
	}
	panic(fmt.Sprintf("input %q: unexpected data %T", in.Name, in.Data))
}

// ort is the input as ONNX Runtime takes it.
func (in input) ort() ort.Tensor {
	shape := make([]int64, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = int64(d)
	}
	return ort.Tensor{Name: in.Name, Shape: shape, Data: in.Data}
}

func denseMap(ins []input) map[string]*tensor.Dense {
	m := make(map[string]*tensor.Dense, len(ins))
	for _, in := range ins {
		m[in.Name] = in.dense()
	}
	return m
}

func ortTensors(ins []input) []ort.Tensor {
	ts := make([]ort.Tensor, len(ins))
	for i, in := range ins {
		ts[i] = in.ort()
	}
	return ts
}

// floats reads any numeric or boolean data (a slice or one value) as float64.
func floats(data any) ([]float64, bool) {
	switch d := data.(type) {
	case []float32:
		return conv(d, func(x float32) float64 { return float64(x) }), true
	case []float64:
		return d, true
	case []graph.F16:
		return conv(d, func(x graph.F16) float64 { return float64(x.Float32()) }), true
	case []graph.BF16:
		return conv(d, func(x graph.BF16) float64 { return float64(x.Float32()) }), true
	case []int64:
		return conv(d, func(x int64) float64 { return float64(x) }), true
	case []int32:
		return conv(d, func(x int32) float64 { return float64(x) }), true
	case []int16:
		return conv(d, func(x int16) float64 { return float64(x) }), true
	case []int8:
		return conv(d, func(x int8) float64 { return float64(x) }), true
	case []uint8:
		return conv(d, func(x uint8) float64 { return float64(x) }), true
	case []bool:
		return conv(d, func(x bool) float64 {
			if x {
				return 1
			}
			return 0
		}), true
	case float32:
		return []float64{float64(d)}, true
	case float64:
		return []float64{d}, true
	case int64:
		return []float64{float64(d)}, true
	case int32:
		return []float64{float64(d)}, true
	case uint8:
		return []float64{float64(d)}, true
	case int8:
		return []float64{float64(d)}, true
	case bool:
		if d {
			return []float64{1}, true
		}
		return []float64{0}, true
	}
	return nil, false
}

func conv32[T any](v []T, f func(T) float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

func conv[T any](v []T, f func(T) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

// relDiff is max|a-b| / max(max|b|, 1e-6): the largest difference relative
// to the reference's largest magnitude. A NaN in one but not the other, or
// different lengths, is +Inf.
func relDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var maxDiff, maxRef float64
	for i := range a {
		an, bn := math.IsNaN(a[i]), math.IsNaN(b[i])
		if an || bn {
			if an != bn {
				return math.Inf(1)
			}
			continue
		}
		if math.IsInf(a[i], 0) || math.IsInf(b[i], 0) {
			if a[i] != b[i] {
				return math.Inf(1)
			}
			continue
		}
		maxDiff = math.Max(maxDiff, math.Abs(a[i]-b[i]))
		maxRef = math.Max(maxRef, math.Abs(b[i]))
	}
	return maxDiff / math.Max(maxRef, 1e-6)
}
