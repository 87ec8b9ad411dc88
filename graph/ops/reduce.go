package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func registerReductions(r *Registry) {
	for _, name := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"} {
		r.add(OpInfo{Name: name, Differentiable: true, Lower: lowerReduce(name)})
	}
}

// reduceLayout is a reduction for fixed shapes. The input shape is
// simplified for the loops: dimensions of size 1 are dropped and adjacent
// dimensions that are both reduced or both kept are merged.
type reduceLayout struct {
	out   []int  // output shape (keepdims applied)
	dims  []int  // merged input dimensions
	red   []bool // whether each merged dimension is reduced
	count int    // input elements per output element
}

func newReduceLayout(shape []int, axes []bool, keep bool) *reduceLayout {
	l := &reduceLayout{count: 1}
	for i, d := range shape {
		if axes[i] {
			l.count *= d
			if keep {
				l.out = append(l.out, 1)
			}
		} else {
			l.out = append(l.out, d)
		}
		if d == 1 {
			continue
		}
		if n := len(l.dims); n > 0 && l.red[n-1] == axes[i] {
			l.dims[n-1] *= d
			continue
		}
		l.dims = append(l.dims, d)
		l.red = append(l.red, axes[i])
	}
	if l.out == nil {
		l.out = []int{}
	}
	return l
}

// single reports the layout as outer×r×inner with the middle reduced, when
// at most one merged dimension is reduced.
func (l *reduceLayout) single() (outer, r, inner int, ok bool) {
	g := -1
	for i, red := range l.red {
		if red {
			if g >= 0 {
				return 0, 0, 0, false
			}
			g = i
		}
	}
	if g < 0 {
		return sizeOf(l.dims), 1, 1, true
	}
	return sizeOf(l.dims[:g]), l.dims[g], sizeOf(l.dims[g+1:]), true
}

// each calls f(i, j) for every input element i, in row-major order, with j
// the output element it reduces into.
func (l *reduceLayout) each(f func(i, j int)) {
	n := len(l.dims)
	st := make([]int, n)
	s := 1
	for d := n - 1; d >= 0; d-- {
		if !l.red[d] {
			st[d] = s
			s *= l.dims[d]
		}
	}
	total := sizeOf(l.dims)
	idx := make([]int, n)
	j := 0
	for i := 0; i < total; i++ {
		f(i, j)
		for d := n - 1; d >= 0; d-- {
			idx[d]++
			j += st[d]
			if idx[d] < l.dims[d] {
				break
			}
			j -= st[d] * l.dims[d]
			idx[d] = 0
		}
	}
}

// reduceAxes reads the axes of a reduction: an attribute before opset 13
// (ReduceSum) or 18 (the others), the optional second input after. It
// returns nil when the node is an identity (noop_with_empty_axes with no
// axes).
func reduceAxes(c *Ctx, name string, in []*Value) ([]bool, error) {
	x := in[0]
	var axes []int
	if c.Opset >= 18 || (name == "ReduceSum" && c.Opset >= 13) {
		if len(in) > 1 && in[1] != nil {
			if !in[1].IsConst() {
				return nil, fmt.Errorf("the axes input must be known when the model is compiled")
			}
			if in[1].Size() > 0 { // an empty tensor's Data panics in gorgonia's tensor
				var err error
				if axes, err = in[1].Ints(); err != nil {
					return nil, fmt.Errorf("axes: %w", err)
				}
			}
		}
		if len(axes) == 0 && c.attrs().Bool("noop_with_empty_axes", false) {
			return nil, nil
		}
	} else {
		axes = c.attrs().Ints("axes")
	}
	set := make([]bool, x.Rank())
	if len(axes) == 0 {
		for i := range set {
			set[i] = true
		}
		return set, nil
	}
	for _, a := range axes {
		if a < -x.Rank() || a >= x.Rank() {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", a, x.Rank())
		}
		if a < 0 {
			a += x.Rank()
		}
		if set[a] {
			return nil, fmt.Errorf("axis %d is given twice", a)
		}
		set[a] = true
	}
	return set, nil
}

// lowerReduce lowers ReduceSum, ReduceMean, ReduceMax, ReduceMin and
// ReduceProd (keepdims, default 1). Gradients: Sum and Mean spread the
// output gradient; Max and Min send it to the first input element (in
// row-major order) that equals the result; Prod uses the product of the
// other elements, so zeros are handled.
func lowerReduce(name string) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		axes, err := reduceAxes(c, name, in)
		if err != nil {
			return nil, err
		}
		if axes == nil {
			return []*Value{x}, nil
		}
		if x.DType == graph.Bool && name != "ReduceMax" && name != "ReduceMin" {
			return nil, fmt.Errorf("bool inputs are not supported")
		}
		if _, err := tensorDtype(x.DType); err != nil {
			return nil, err
		}
		l := newReduceLayout(x.Shape, axes, c.attrs().Bool("keepdims", true))
		s := Spec{Name: name, Shape: l.out, DType: x.DType, Fwd: reduceKernel(name, l)}
		if x.DType.IsFloat() {
			s.WRT = []bool{true}
			s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				args := G.Nodes{grad}
				if name == "ReduceMax" || name == "ReduceMin" || name == "ReduceProd" {
					args = append(args, inputs[0], output)
				}
				n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: ShapeOf(inputs[0]),
					DType: DTypeOf(inputs[0]), Fwd: reduceGradKernel(name, l, ShapeOf(inputs[0]))}, args...)
				return G.Nodes{n}, err
			}
		}
		out, err := c.Apply(s, x)
		return []*Value{out}, err
	}
}

func reduceKernel(name string, l *reduceLayout) Kernel {
	toU8, toBool, onU8 := castKernel(graph.Uint8), castKernel(graph.Bool), reduceRun[uint8](name, l)
	return dispatch(byType[Kernel]{
		Float32: reduceRun[float32](name, l), Float64: reduceRun[float64](name, l),
		Int64: reduceRun[int64](name, l), Int32: reduceRun[int32](name, l),
		Int16: reduceRun[int16](name, l), Int8: reduceRun[int8](name, l),
		Uint64: reduceRun[uint64](name, l), Uint32: reduceRun[uint32](name, l),
		Uint16: reduceRun[uint16](name, l), Uint8: onU8,
		Bool: func(in []*tensor.Dense) (*tensor.Dense, error) {
			// Max is any, Min is all.
			u, err := toU8(in)
			if err != nil {
				return nil, err
			}
			r, err := onU8([]*tensor.Dense{u})
			if err != nil {
				return nil, err
			}
			return toBool([]*tensor.Dense{r})
		},
	})
}

func reduceRun[T Number](name string, l *reduceLayout) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		t := in[0]
		var cur []T
		if t.Size() > 0 { // reductions of empty sets are defined; Data panics on them
			var err error
			if cur, err = Data[T](t); err != nil {
				return nil, err
			}
		}
		empty, err := emptyReduction[T](name, t.Dtype())
		if err != nil {
			return nil, err
		}
		dims := append([]int{}, l.dims...)
		reduced := false
		for g, red := range l.red {
			if !red {
				continue
			}
			cur = reduceGroup(cur, sizeOf(dims[:g]), dims[g], sizeOf(dims[g+1:]), name, empty)
			dims[g] = 1
			reduced = true
		}
		if !reduced {
			// Only dimensions of size 1 (or none) are reduced.
			cur = append([]T(nil), cur...)
		}
		if name == "ReduceMean" {
			var z T
			isFloat := false
			switch any(z).(type) {
			case float32, float64:
				isFloat = true
			}
			if n := T(l.count); n != 0 || isFloat {
				for i := range cur {
					cur[i] /= n // 0/0 is NaN: the mean of nothing
				}
			}
		}
		return Dense(l.out, cur), nil
	}
}

// reduceGroup reduces the middle dimension of x seen as outer×r×inner;
// empty is ReduceMax's and ReduceMin's value over no elements.
func reduceGroup[T Number](x []T, outer, r, inner int, name string, empty T) []T {
	out := make([]T, outer*inner)
	switch name {
	case "ReduceSum", "ReduceMean":
		for o := 0; o < outer; o++ {
			if inner == 1 {
				var s T
				for _, v := range x[o*r : (o+1)*r] {
					s += v
				}
				out[o] = s
				continue
			}
			dst := out[o*inner : (o+1)*inner]
			for k := 0; k < r; k++ {
				src := x[(o*r+k)*inner:][:inner]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	case "ReduceProd":
		for i := range out {
			out[i] = 1
		}
		for o := 0; o < outer; o++ {
			dst := out[o*inner : (o+1)*inner]
			for k := 0; k < r; k++ {
				src := x[(o*r+k)*inner:][:inner]
				for i, v := range src {
					dst[i] *= v
				}
			}
		}
	case "ReduceMax", "ReduceMin":
		isMax := name == "ReduceMax"
		if r == 0 {
			for i := range out {
				out[i] = empty
			}
			return out
		}
		for o := 0; o < outer; o++ {
			dst := out[o*inner : (o+1)*inner]
			copy(dst, x[o*r*inner:][:inner])
			for k := 1; k < r; k++ {
				src := x[(o*r+k)*inner:][:inner]
				if isMax {
					for i, v := range src {
						dst[i] = max(dst[i], v)
					}
				} else {
					for i, v := range src {
						dst[i] = min(dst[i], v)
					}
				}
			}
		}
	}
	return out
}

// bounds is the lowest and the highest value of an element type.
type bounds [2]any

// limits holds the lowest and the highest value of each element type:
// ReduceMax and ReduceMin of no elements.
var limits = byType[bounds]{
	Float32: bounds{float32(math.Inf(-1)), float32(math.Inf(1))},
	Float64: bounds{math.Inf(-1), math.Inf(1)},
	Int64:   bounds{int64(math.MinInt64), int64(math.MaxInt64)},
	Int32:   bounds{int32(math.MinInt32), int32(math.MaxInt32)},
	Int16:   bounds{int16(math.MinInt16), int16(math.MaxInt16)},
	Int8:    bounds{int8(math.MinInt8), int8(math.MaxInt8)},
	Uint64:  bounds{uint64(0), uint64(math.MaxUint64)},
	Uint32:  bounds{uint32(0), uint32(math.MaxUint32)},
	Uint16:  bounds{uint16(0), uint16(math.MaxUint16)},
	Uint8:   bounds{uint8(0), uint8(math.MaxUint8)},
}

// emptyReduction is the value of ReduceMax (the lowest value of dt) or
// ReduceMin (the highest) over no elements; zero for the other reductions.
func emptyReduction[T Number](name string, dt tensor.Dtype) (T, error) {
	var z T
	if name != "ReduceMax" && name != "ReduceMin" {
		return z, nil
	}
	lim, err := pick(limits, dt)
	if err != nil {
		return z, err
	}
	i := 0
	if name == "ReduceMin" {
		i = 1
	}
	v, ok := lim[i].(T)
	if !ok {
		return z, fmt.Errorf("tensor holds %v, want %T", dt, z)
	}
	return v, nil
}

// reduceGradKernel: inputs (dY) for Sum and Mean, (dY, X, Y) for Max, Min
// and Prod; the output has X's shape.
func reduceGradKernel(name string, l *reduceLayout, shape []int) Kernel {
	return floats(reduceGradRun[float32](name, l, shape), reduceGradRun[float64](name, l, shape))
}

func reduceGradRun[T Float](name string, l *reduceLayout, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		g := make([]T, sizeOf(shape))
		switch name {
		case "ReduceSum", "ReduceMean":
			scale := T(1)
			if name == "ReduceMean" {
				scale = 1 / T(l.count)
			}
			if outer, r, inner, ok := l.single(); ok {
				for o := 0; o < outer; o++ {
					src := dy[o*inner : (o+1)*inner]
					for k := 0; k < r; k++ {
						dst := g[(o*r+k)*inner:][:inner]
						for i, v := range src {
							dst[i] = v * scale
						}
					}
				}
			} else {
				l.each(func(i, j int) { g[i] = dy[j] * scale })
			}
			return Dense(shape, g), nil
		}
		x, err := Data[T](in[1])
		if err != nil {
			return nil, err
		}
		y, err := Data[T](in[2])
		if err != nil {
			return nil, err
		}
		if name == "ReduceProd" {
			zeros := make([]int, len(y))
			rest := make([]T, len(y)) // product of the non-zero elements
			for j := range rest {
				rest[j] = 1
			}
			l.each(func(i, j int) {
				if x[i] == 0 {
					zeros[j]++
				} else {
					rest[j] *= x[i]
				}
			})
			l.each(func(i, j int) {
				switch {
				case zeros[j] == 0:
					g[i] = dy[j] * rest[j] / x[i]
				case zeros[j] == 1 && x[i] == 0:
					g[i] = dy[j] * rest[j]
				}
			})
			return Dense(shape, g), nil
		}
		taken := make([]bool, len(y))
		l.each(func(i, j int) {
			if !taken[j] && (x[i] == y[j] || (x[i] != x[i] && y[j] != y[j])) {
				g[i] = dy[j]
				taken[j] = true
			}
		})
		return Dense(shape, g), nil
	}
}
