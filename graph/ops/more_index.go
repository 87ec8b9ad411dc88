package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMoreIndex adds the gathers of today's exports: GatherElements
// (torch.gather; transformers' token type ids in the TorchScript export)
// and GatherND (boolean-mask and advanced indexing in the dynamo export).
func registerMoreIndex(r *Registry) {
	r.add(OpInfo{Name: "GatherElements", Differentiable: true, Lower: lowerGatherElements})
	r.add(OpInfo{Name: "GatherND", Differentiable: true, Lower: lowerGatherND})
}

// chunkGather is the forward of both gathers: the output is, for each
// entry of src (computed from the indices at run time), the inner
// consecutive elements of the data starting there. Its gradient
// scatter-adds each chunk of the output gradient back (torch.gather's
// backward, scatter_add: repeated indices add up).
type chunkGather struct {
	name  string
	out   []int // output shape
	data  []int // data shape
	inner int
	// offsets reads the indices and returns where each output chunk starts
	// in the data, or an error naming a bad index.
	offsets func(idx []int) ([]int, error)
}

func (g *chunkGather) lower(c *Ctx, data, idx *Value) ([]*Value, error) {
	if idx.DType != graph.Int64 && idx.DType != graph.Int32 {
		return nil, fmt.Errorf("indices are %s, want int64 or int32", idx.DType)
	}
	s := Spec{Name: g.name, Shape: g.out, DType: data.DType, Fwd: dispatch(byType[Kernel]{
		Float32: chunkGatherRun[float32](g), Float64: chunkGatherRun[float64](g),
		Int64: chunkGatherRun[int64](g), Int32: chunkGatherRun[int32](g),
		Int8: chunkGatherRun[int8](g), Uint8: chunkGatherRun[uint8](g), Bool: chunkGatherRun[bool](g),
	})}
	if data.DType.IsFloat() {
		s.WRT = []bool{true, false}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: g.name + "Grad", Shape: g.data,
				DType: DTypeOf(inputs[0]), Fwd: floats(chunkScatterRun[float32](g), chunkScatterRun[float64](g))},
				grad, inputs[1])
			return G.Nodes{n, nil}, err
		}
	}
	y, err := c.Apply(s, data, idx)
	return []*Value{y}, err
}

// chunkArgs reads in[0] as T and the offsets of the indices in[1].
func (g *chunkGather) chunkArgs(in []*tensor.Dense) ([]int, error) {
	read, err := pick(intReaders, in[1].Dtype())
	if err != nil {
		return nil, fmt.Errorf("indices are %v, want int64 or int32", in[1].Dtype())
	}
	var raw []int
	if in[1].Shape().TotalSize() > 0 || in[1].IsScalar() {
		if raw, err = read(in[1]); err != nil {
			return nil, err
		}
	}
	return g.offsets(raw)
}

func chunkGatherRun[T shapeElem](g *chunkGather) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		src, err := g.chunkArgs(in)
		if err != nil {
			return nil, err
		}
		y := make([]T, len(src)*g.inner)
		for k, at := range src {
			copy(y[k*g.inner:(k+1)*g.inner], x[at:at+g.inner])
		}
		return Dense(g.out, y), nil
	}
}

// chunkScatterRun: in[0] is the output gradient, in[1] the indices.
func chunkScatterRun[T Float](g *chunkGather) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		src, err := g.chunkArgs(in)
		if err != nil {
			return nil, err
		}
		dx := make([]T, sizeOf(g.data))
		for k, at := range src {
			dst := dx[at : at+g.inner]
			for i, v := range dy[k*g.inner : (k+1)*g.inner] {
				dst[i] += v
			}
		}
		return Dense(g.data, dx), nil
	}
}

// normIndex counts a negative index from the end and checks it against n.
func normIndex(i, n int) (int, error) {
	j := i
	if j < 0 {
		j += n
	}
	if j < 0 || j >= n {
		return 0, fmt.Errorf("index %d out of range [%d, %d)", i, -n, n)
	}
	return j, nil
}

// lowerGatherElements: out[i][j][k] = data[idx[i][j][k]][j][k] for axis
// 0 (and so on), out of the indices' shape; indices and data have one rank
// and, off the axis, the indices are no larger (torch.gather's rule).
func lowerGatherElements(c *Ctx, in []*Value) ([]*Value, error) {
	data, idx := in[0], input(in, 1)
	if idx == nil {
		return nil, fmt.Errorf("the indices input is required")
	}
	r := data.Rank()
	if r == 0 || idx.Rank() != r {
		return nil, fmt.Errorf("data %v and indices %v: want one rank of at least 1", data.Shape, idx.Shape)
	}
	ax, err := shapeAxis(int(c.attrs().Int("axis", 0)), r)
	if err != nil {
		return nil, err
	}
	for d := range r {
		if d != ax && idx.Shape[d] > data.Shape[d] {
			return nil, fmt.Errorf("indices %v are larger than data %v in dimension %d", idx.Shape, data.Shape, d)
		}
	}
	ds, is := append([]int{}, data.Shape...), append([]int{}, idx.Shape...)
	stride := make([]int, r)
	for d, s := r-1, 1; d >= 0; d-- {
		stride[d] = s
		s *= ds[d]
	}
	g := &chunkGather{name: "GatherElements", out: is, data: ds, inner: 1,
		offsets: func(raw []int) ([]int, error) {
			src := make([]int, len(raw))
			pos := make([]int, r) // the index's coordinates, row-major
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
		}}
	return g.lower(c, data, idx)
}

// lowerGatherND: each row of the indices' last dimension (k long) picks
// the slice data[b..., i0, ..., ik-1, :] of the data after batch_dims
// leading dimensions the two share; out has the shape
// indices.shape[:-1] + data.shape[batch_dims+k:].
func lowerGatherND(c *Ctx, in []*Value) ([]*Value, error) {
	data, idx := in[0], input(in, 1)
	if idx == nil {
		return nil, fmt.Errorf("the indices input is required")
	}
	r, q := data.Rank(), idx.Rank()
	b := int(c.attrs().Int("batch_dims", 0))
	if r < 1 || q < 1 || b < 0 || b >= min(r, q) {
		return nil, fmt.Errorf("data %v, indices %v, batch_dims %d: want ranks of at least 1 and batch_dims below both", data.Shape, idx.Shape, b)
	}
	for d := range b {
		if data.Shape[d] != idx.Shape[d] {
			return nil, fmt.Errorf("data %v and indices %v differ in batch dimension %d", data.Shape, idx.Shape, d)
		}
	}
	k := idx.Shape[q-1]
	if k < 1 || k > r-b {
		return nil, fmt.Errorf("indices' last dimension is %d, want 1 to %d for data %v and batch_dims %d", k, r-b, data.Shape, b)
	}
	ds := append([]int{}, data.Shape...)
	out := append(append([]int{}, idx.Shape[:q-1]...), ds[b+k:]...)
	inner := sizeOf(ds[b+k:])
	batch := sizeOf(ds[b:])           // data elements per batch entry
	per := sizeOf(idx.Shape[b : q-1]) // index rows per batch entry
	stride := make([]int, k)          // of the indexed dimensions
	for d, s := k-1, inner; d >= 0; d-- {
		stride[d] = s
		s *= ds[b+d]
	}
	g := &chunkGather{name: "GatherND", out: out, data: ds, inner: inner,
		offsets: func(raw []int) ([]int, error) {
			if per == 0 {
				return nil, nil
			}
			src := make([]int, len(raw)/k)
			for row := range src {
				at := row / per * batch
				for d, v := range raw[row*k : (row+1)*k] {
					j, err := normIndex(v, ds[b+d])
					if err != nil {
						return nil, err
					}
					at += j * stride[d]
				}
				src[row] = at
			}
			return src, nil
		}}
	return g.lower(c, data, idx)
}
