package ops

import (
	"fmt"
	"sort"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMoreTopK adds TopK (torch.topk).
func registerMoreTopK(r *Registry) {
	r.add(OpInfo{Name: "TopK", Differentiable: true, Lower: lowerTopK})
}

// lowerTopK: the k largest (attribute largest, default 1) or smallest
// elements along axis (default -1), k from input 1 (opset 10 on, a
// constant of one element) or attribute k (opset 1). Equal values come in
// the order of their index, the first first, as in ONNX Runtime; NaN counts
// as larger than any number (torch.topk). Output 0 is the values, output 1
// their int64 indices. sorted=0 gives the same sorted order (ONNX leaves
// the order open then). The values are a gather of the input at the
// indices, so their gradient scatters back to the chosen positions and the
// rest get zero (torch.topk's backward); the indices have none.
func lowerTopK(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if x.Rank() == 0 {
		return nil, fmt.Errorf("input is a scalar, want rank 1 or more")
	}
	a := c.attrs()
	ax, err := shapeAxis(int(a.Int("axis", -1)), x.Rank())
	if err != nil {
		return nil, err
	}
	var k int
	if kv := input(in, 1); kv != nil {
		if !kv.IsConst() {
			return nil, fmt.Errorf("k must be known when the model is compiled")
		}
		ks, err := kv.Ints()
		if err != nil || len(ks) != 1 {
			return nil, fmt.Errorf("k must be one integer")
		}
		k = ks[0]
	} else {
		k = int(a.Int("k", -1))
	}
	n := x.Shape[ax]
	if k < 0 || k > n {
		return nil, fmt.Errorf("k is %d, want 0 to %d (the size of axis %d)", k, n, ax)
	}
	largest := a.Int("largest", 1) != 0
	outer, inner := sizeOf(x.Shape[:ax]), sizeOf(x.Shape[ax+1:])
	shape := append([]int{}, x.Shape...)
	shape[ax] = k
	kern := dispatch(byType[Kernel]{
		Float32: topKRun[float32](outer, n, inner, k, largest, shape), Float64: topKRun[float64](outer, n, inner, k, largest, shape),
		Int64: topKRun[int64](outer, n, inner, k, largest, shape), Int32: topKRun[int32](outer, n, inner, k, largest, shape),
		Int16: topKRun[int16](outer, n, inner, k, largest, shape), Int8: topKRun[int8](outer, n, inner, k, largest, shape),
		Uint64: topKRun[uint64](outer, n, inner, k, largest, shape), Uint32: topKRun[uint32](outer, n, inner, k, largest, shape),
		Uint16: topKRun[uint16](outer, n, inner, k, largest, shape), Uint8: topKRun[uint8](outer, n, inner, k, largest, shape),
	})
	idx, err := c.Apply(Spec{Name: "TopKIndices", Shape: shape, DType: graph.Int64, Fwd: kern}, x)
	if err != nil {
		return nil, err
	}
	g := &chunkGather{name: "TopK", out: shape, data: append([]int{}, x.Shape...), inner: 1,
		offsets: elementOffsets(x.Shape, shape, ax)}
	if !x.DType.IsFloat() { // no gradient: a plain gather of any integer type
		vals, err := c.Apply(Spec{Name: "TopK", Shape: shape, DType: x.DType, Fwd: dispatch(byType[Kernel]{
			Int64: topKValuesRun[int64](g), Int32: topKValuesRun[int32](g), Int16: topKValuesRun[int16](g),
			Int8: topKValuesRun[int8](g), Uint64: topKValuesRun[uint64](g), Uint32: topKValuesRun[uint32](g),
			Uint16: topKValuesRun[uint16](g), Uint8: topKValuesRun[uint8](g),
		})}, x, idx)
		return []*Value{vals, idx}, err
	}
	vals, err := g.lower(c, x, idx)
	if err != nil {
		return nil, err
	}
	return []*Value{vals[0], idx}, nil
}

func topKValuesRun[T Integer](g *chunkGather) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		src, err := g.chunkArgs(in)
		if err != nil {
			return nil, err
		}
		y := make([]T, len(src))
		for k, at := range src {
			y[k] = x[at]
		}
		return Dense(g.out, y), nil
	}
}

// elementOffsets maps indices along axis ax (an array of shape is) to
// offsets in data of shape ds, as GatherElements reads them.
func elementOffsets(ds, is []int, ax int) func(raw []int) ([]int, error) {
	ds, is = append([]int{}, ds...), append([]int{}, is...)
	r := len(ds)
	stride := make([]int, r)
	for d, s := r-1, 1; d >= 0; d-- {
		stride[d] = s
		s *= ds[d]
	}
	return func(raw []int) ([]int, error) {
		src := make([]int, len(raw))
		pos := make([]int, r)
		for k, v := range raw {
			j, err := normIndex(v, ds[ax])
			if err != nil {
				return nil, err
			}
			at := 0
			for d, p := range pos {
				if d == ax {
					p = j
				}
				at += p * stride[d]
			}
			src[k] = at
			for d := r - 1; d >= 0; d-- {
				if pos[d]++; pos[d] < is[d] {
					break
				}
				pos[d] = 0
			}
		}
		return src, nil
	}
}

func topKRun[T Number](outer, n, inner, k int, largest bool, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]int64, outer*k*inner)
		order := make([]int, n)
		for o := range outer {
			for i := range inner {
				at := func(j int) T { return x[(o*n+j)*inner+i] }
				for j := range order {
					order[j] = j
				}
				// before: a comes first (ties by index: stable sort).
				before := func(a, b T) bool {
					an, bn := a != a, b != b
					if an || bn {
						return an && !bn // NaN is the largest
					}
					return a > b
				}
				if !largest {
					before = func(a, b T) bool {
						an, bn := a != a, b != b
						if an || bn {
							return bn && !an
						}
						return a < b
					}
				}
				sort.SliceStable(order, func(p, q int) bool { return before(at(order[p]), at(order[q])) })
				for j := range k {
					out[(o*k+j)*inner+i] = int64(order[j])
				}
			}
		}
		return Dense(shape, out), nil
	}
}
