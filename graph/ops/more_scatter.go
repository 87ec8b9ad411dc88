package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMoreScatter adds ScatterElements (torch.scatter and
// scatter_reduce along an axis), Scatter (its name before opset 11) and
// ScatterND (index_put, slice assignment in the dynamo export).
func registerMoreScatter(r *Registry) {
	r.add(OpInfo{Name: "ScatterElements", Differentiable: true, Lower: lowerScatterElements})
	r.add(OpInfo{Name: "Scatter", Differentiable: true, Lower: lowerScatterElements})
	r.add(OpInfo{Name: "ScatterND", Differentiable: true, Lower: lowerScatterND})
}

// chunkScatter writes each chunk of the updates (inner consecutive
// elements) into a copy of the data where offsets (from the indices) says,
// in the order of the updates (a repeated index: the last write wins, as
// in ONNX Runtime), or combines it with what is there (reduction add, mul,
// max, min).
type chunkScatter struct {
	name      string
	data      []int // data and output shape
	upd       []int // updates shape
	inner     int
	reduction string
	offsets   func(idx []int) ([]int, error)
}

func (s *chunkScatter) args(in []*tensor.Dense) ([]int, error) {
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
	return s.offsets(raw)
}

func (s *chunkScatter) lower(c *Ctx, data, idx, upd *Value) ([]*Value, error) {
	if idx.DType != graph.Int64 && idx.DType != graph.Int32 {
		return nil, fmt.Errorf("indices are %s, want int64 or int32", idx.DType)
	}
	if upd.DType != data.DType {
		return nil, fmt.Errorf("updates are %s and data %s, want one type", upd.DType, data.DType)
	}
	switch s.reduction {
	case "none", "add", "mul", "max", "min":
	default:
		return nil, fmt.Errorf("reduction %q, want none, add, mul, max or min", s.reduction)
	}
	if s.reduction != "none" && !data.DType.IsFloat() && data.DType != graph.Int64 && data.DType != graph.Int32 {
		return nil, fmt.Errorf("reduction %s on %s: want a float, int64 or int32 type", s.reduction, data.DType)
	}
	var kern Kernel
	if s.reduction == "none" {
		kern = dispatch(byType[Kernel]{
			Float32: scatterRun[float32](s, nil), Float64: scatterRun[float64](s, nil),
			Int64: scatterRun[int64](s, nil), Int32: scatterRun[int32](s, nil),
			Int8: scatterRun[int8](s, nil), Uint8: scatterRun[uint8](s, nil), Bool: scatterRun[bool](s, nil),
		})
	} else {
		kern = dispatch(byType[Kernel]{
			Float32: scatterRun(s, combine[float32](s.reduction)), Float64: scatterRun(s, combine[float64](s.reduction)),
			Int64: scatterRun(s, combine[int64](s.reduction)), Int32: scatterRun(s, combine[int32](s.reduction)),
		})
	}
	sp := Spec{Name: s.name, Shape: s.data, DType: data.DType, Fwd: kern}
	if data.DType.IsFloat() {
		sp.WRT = []bool{true, false, true}
		sp.Grad = s.grad
	}
	y, err := c.Apply(sp, data, idx, upd)
	return []*Value{y}, err
}

// grad: reduction none zeroes the data's gradient where the updates were
// written and gathers the updates' gradient from there (torch.scatter's
// backward: every update of a repeated index gets it); add passes the
// gradient to the data whole (torch.scatter_add). PyTorch's gradients of
// mul, amax and amin depend on how it breaks ties and zeros
// (scatter_reduce's include_self); they are refused.
func (s *chunkScatter) grad(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	var dData *G.Node
	switch s.reduction {
	case "none":
		var err error
		dData, err = NewNode(grad.Graph(), output.Name()+"/grad_data", Spec{Name: s.name + "GradData", Shape: s.data,
			DType: DTypeOf(inputs[0]), Fwd: floats(scatterMaskRun[float32](s), scatterMaskRun[float64](s))}, grad, inputs[1])
		if err != nil {
			return nil, err
		}
	case "add":
		dData = grad
	default:
		return nil, fmt.Errorf("%s with reduction %s has no gradient (PyTorch's depends on its tie and include_self rules; only none and add are differentiable)", s.name, s.reduction)
	}
	dUpd, err := NewNode(grad.Graph(), output.Name()+"/grad_updates", Spec{Name: s.name + "GradUpdates", Shape: s.upd,
		DType: DTypeOf(inputs[2]), Fwd: floats(scatterGatherRun[float32](s), scatterGatherRun[float64](s))}, grad, inputs[1])
	return G.Nodes{dData, nil, dUpd}, err
}

func combine[T Number](red string) func(a, b T) T {
	switch red {
	case "add":
		return func(a, b T) T { return a + b }
	case "mul":
		return func(a, b T) T { return a * b }
	case "max":
		return func(a, b T) T { return max(a, b) }
	default:
		return func(a, b T) T { return min(a, b) }
	}
}

// scatterRun: in is data, indices, updates; f nil replaces.
func scatterRun[T shapeElem](s *chunkScatter, f func(a, b T) T) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		u, err := Data[T](in[2])
		if err != nil {
			return nil, err
		}
		dst, err := s.args(in)
		if err != nil {
			return nil, err
		}
		if len(u) != len(dst)*s.inner {
			return nil, fmt.Errorf("%d updates for %d chunks of %d", len(u), len(dst), s.inner)
		}
		y := append([]T(nil), x...)
		for k, at := range dst {
			src := u[k*s.inner : (k+1)*s.inner]
			if f == nil {
				copy(y[at:at+s.inner], src)
				continue
			}
			for i, v := range src {
				y[at+i] = f(y[at+i], v)
			}
		}
		return Dense(s.data, y), nil
	}
}

// scatterMaskRun: the output gradient (in[0]) with the written chunks
// zeroed (in[1] the indices).
func scatterMaskRun[T Float](s *chunkScatter) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		dst, err := s.args(in)
		if err != nil {
			return nil, err
		}
		dx := append([]T(nil), dy...)
		for _, at := range dst {
			clear(dx[at : at+s.inner])
		}
		return Dense(s.data, dx), nil
	}
}

// scatterGatherRun: the output gradient (in[0]) read at the written chunks.
func scatterGatherRun[T Float](s *chunkScatter) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		dst, err := s.args(in)
		if err != nil {
			return nil, err
		}
		du := make([]T, len(dst)*s.inner)
		for k, at := range dst {
			copy(du[k*s.inner:(k+1)*s.inner], dy[at:at+s.inner])
		}
		return Dense(s.upd, du), nil
	}
}

// scatterInputs checks the three inputs are there.
func scatterInputs(in []*Value) (data, idx, upd *Value, err error) {
	data, idx, upd = in[0], input(in, 1), input(in, 2)
	if idx == nil || upd == nil {
		return nil, nil, nil, fmt.Errorf("the indices and updates inputs are required")
	}
	return data, idx, upd, nil
}

// lowerScatterElements: data[..., idx[i][j][k], ...] (at axis) = upd[i][j][k]
// for indices and updates of one shape, of the data's rank and no larger
// off the axis.
func lowerScatterElements(c *Ctx, in []*Value) ([]*Value, error) {
	data, idx, upd, err := scatterInputs(in)
	if err != nil {
		return nil, err
	}
	r := data.Rank()
	if r == 0 || idx.Rank() != r || !sameInts(idx.Shape, upd.Shape) {
		return nil, fmt.Errorf("data %v, indices %v, updates %v: want one rank of at least 1 and indices shaped as updates", data.Shape, idx.Shape, upd.Shape)
	}
	a := c.attrs()
	ax, err := shapeAxis(int(a.Int("axis", 0)), r)
	if err != nil {
		return nil, err
	}
	for d := range r {
		if d != ax && idx.Shape[d] > data.Shape[d] {
			return nil, fmt.Errorf("indices %v are larger than data %v in dimension %d", idx.Shape, data.Shape, d)
		}
	}
	s := &chunkScatter{name: c.Node.OpType, data: append([]int{}, data.Shape...), upd: append([]int{}, upd.Shape...), inner: 1,
		reduction: a.String("reduction", "none"), offsets: elementOffsets(data.Shape, idx.Shape, ax)}
	return s.lower(c, data, idx, upd)
}

// lowerScatterND: each row of the indices' last dimension (k long) names
// the slice data[i0, ..., ik-1, :] that the matching slice of the updates
// (shape indices.shape[:-1] + data.shape[k:]) is written to.
func lowerScatterND(c *Ctx, in []*Value) ([]*Value, error) {
	data, idx, upd, err := scatterInputs(in)
	if err != nil {
		return nil, err
	}
	r, q := data.Rank(), idx.Rank()
	if r < 1 || q < 1 {
		return nil, fmt.Errorf("data %v and indices %v: want ranks of at least 1", data.Shape, idx.Shape)
	}
	k := idx.Shape[q-1]
	if k < 1 || k > r {
		return nil, fmt.Errorf("indices' last dimension is %d, want 1 to %d for data %v", k, r, data.Shape)
	}
	ds := append([]int{}, data.Shape...)
	want := append(append([]int{}, idx.Shape[:q-1]...), ds[k:]...)
	if !sameInts(upd.Shape, want) {
		return nil, fmt.Errorf("updates are %v, want %v for data %v and indices %v", upd.Shape, want, data.Shape, idx.Shape)
	}
	inner := sizeOf(ds[k:])
	stride := make([]int, k)
	for d, s := k-1, inner; d >= 0; d-- {
		stride[d] = s
		s *= ds[d]
	}
	s := &chunkScatter{name: "ScatterND", data: ds, upd: want, inner: inner, reduction: c.attrs().String("reduction", "none"),
		offsets: func(raw []int) ([]int, error) {
			dst := make([]int, len(raw)/k)
			for row := range dst {
				at := 0
				for d, v := range raw[row*k : (row+1)*k] {
					j, err := normIndex(v, ds[d])
					if err != nil {
						return nil, err
					}
					at += j * stride[d]
				}
				dst[row] = at
			}
			return dst, nil
		}}
	return s.lower(c, data, idx, upd)
}
