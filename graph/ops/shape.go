package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerShape adds the shape ops. They run on float activations (with
// gradients) and, in the shape subgraphs of exported models, on integer
// constants, where Ctx.Apply folds them at compile time.
func registerShape(r *Registry) {
	r.add(OpInfo{Name: "Reshape", Differentiable: true, Lower: lowerReshape})
	r.add(OpInfo{Name: "Flatten", Differentiable: true, Lower: lowerFlatten})
	r.add(OpInfo{Name: "Squeeze", Differentiable: true, Lower: lowerSqueeze})
	r.add(OpInfo{Name: "Unsqueeze", Differentiable: true, Lower: lowerUnsqueeze})
	r.add(OpInfo{Name: "Identity", Differentiable: true, Lower: lowerIdentity})
	r.add(OpInfo{Name: "Transpose", Differentiable: true, Lower: lowerTranspose})
	r.add(OpInfo{Name: "Expand", Differentiable: true, Lower: lowerExpand})
	r.add(OpInfo{Name: "Tile", Differentiable: true, Lower: lowerTile})
	r.add(OpInfo{Name: "Shape", Lower: lowerShape})
	r.add(OpInfo{Name: "Size", Lower: lowerSize})
}

// shapeElem is every element type the shape ops move around.
type shapeElem interface {
	~float32 | ~float64 | ~int64 | ~int32 | ~int8 | ~uint8 | ~bool
}

// shapeAxis normalizes an axis of a tensor of rank r (negative counts from
// the end).
func shapeAxis(axis, r int) (int, error) {
	if axis < -r || axis >= r {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	return axis, nil
}

// requiredInts is shapeInts for input 1, which must be present: the shape,
// pads or repeats input of the ops that take one.
func requiredInts(what string, in []*Value) ([]int, error) {
	if len(in) < 2 || in[1] == nil {
		return nil, fmt.Errorf("%s input is required", what)
	}
	return shapeInts(what, in[1])
}

// shapeInts reads an integer input that must be known when the model is
// compiled (a shape, axes, pads...).
func shapeInts(what string, v *Value) ([]int, error) {
	if !v.IsConst() {
		return nil, fmt.Errorf("input %s (%v) must be known when the model is compiled: a constant, or computed from shapes", what, v)
	}
	x, err := v.Ints()
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", what, err)
	}
	return x, nil
}

// axesArg reads Squeeze's and Unsqueeze's axes: an attribute before opset
// 13, the optional input 1 from 13. nil when absent.
func axesArg(c *Ctx, in []*Value) ([]int, error) {
	if c.Opset < 13 {
		return c.attrs().Ints("axes"), nil
	}
	if len(in) > 1 && in[1] != nil {
		return shapeInts("axes", in[1])
	}
	return nil, nil
}

// applyReshape gives x a new shape with the same elements (a copy; the
// gradient is the output gradient given x's shape back).
func applyReshape(c *Ctx, name string, x *Value, shape []int) (*Value, error) {
	if sizeOf(shape) != x.Size() {
		return nil, fmt.Errorf("cannot give shape %v to %d elements of shape %v", shape, x.Size(), x.Shape)
	}
	if sameInts(shape, x.Shape) {
		return x, nil
	}
	if y, err := reshapePackPart(c, name, x, shape); y != nil || err != nil {
		return y, err
	}
	s := Spec{Name: name, Shape: shape, DType: x.DType, Fwd: reshapeKernel(shape)}
	if x.DType == graph.Float32 || x.DType == graph.Float64 {
		// A copy into a kept buffer, both ways.
		s.Fwd, s.Into, s.Overwrites = nil, copyInto, true
	}
	if x.DType.IsFloat() {
		from := append([]int{}, x.Shape...)
		s.WRT = []bool{true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			g := Spec{Name: name + "Grad", Shape: from, DType: DTypeOf(inputs[0]), Fwd: reshapeKernel(from)}
			if g.DType == graph.Float32 || g.DType == graph.Float64 {
				g.Fwd, g.Into, g.Overwrites = nil, copyInto, true
			}
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", g, grad)
			if err == nil && g.Into != nil {
				markFlat(n, flatPart{src: grad, n: sizeOf(from)})
			}
			return G.Nodes{n}, err
		}
	}
	y, err := c.Apply(s, x)
	if err == nil && s.Into != nil && !y.IsConst() {
		y.reshapeOf = x
	}
	return y, err
}

// copyInto copies a float tensor's elements into dst, of the same size
// (Reshape's IntoKernel).
var copyInto = floatsInto(copyOf[float32], copyOf[float64])

func copyOf[T Float](in []*tensor.Dense, dst *tensor.Dense) error {
	x, err := Data[T](in[0])
	if err != nil {
		return err
	}
	y, err := Data[T](dst)
	if err != nil {
		return err
	}
	if len(x) != len(y) {
		return fmt.Errorf("%d elements for %d", len(x), len(y))
	}
	copy(y, x)
	return nil
}

func reshapeKernel(shape []int) Kernel {
	return dispatch(byType[Kernel]{
		Float32: reshapeRun[float32](shape), Float64: reshapeRun[float64](shape),
		Int64: reshapeRun[int64](shape), Int32: reshapeRun[int32](shape), Int8: reshapeRun[int8](shape),
		Uint8: reshapeRun[uint8](shape), Bool: reshapeRun[bool](shape),
	})
}

func reshapeRun[T shapeElem](shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		t := in[0]
		x, err := Data[T](t)
		if err != nil {
			return nil, err
		}
		if len(x) != sizeOf(shape) {
			return nil, fmt.Errorf("%d elements for shape %v", len(x), shape)
		}
		return Dense(shape, append([]T(nil), x...)), nil
	}
}

// lowerReshape: the shape is an attribute before opset 5, then input 1; 0
// copies the input's dimension (unless allowzero=1, opset 14), -1 is
// inferred.
func lowerReshape(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	var shape []int
	if c.Opset < 5 {
		shape = c.attrs().Ints("shape")
		if shape == nil {
			return nil, fmt.Errorf("shape attribute is required")
		}
	} else {
		var err error
		if shape, err = requiredInts("shape", in); err != nil {
			return nil, err
		}
	}
	out, err := reshapeTarget(x.Shape, shape, c.attrs().Bool("allowzero", false))
	if err != nil {
		return nil, err
	}
	y, err := applyReshape(c, "Reshape", x, out)
	return []*Value{y}, err
}

// reshapeTarget resolves Reshape's 0 and -1 entries.
func reshapeTarget(from, shape []int, allowZero bool) ([]int, error) {
	out := make([]int, len(shape))
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == 0 && !allowZero:
			if i >= len(from) {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v, which has none", shape, i, from)
			}
			out[i] = from[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", shape)
			}
			infer = i
			continue
		case d < -1:
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, shape)
		default:
			out[i] = d
		}
		known *= out[i]
	}
	size := sizeOf(from)
	if infer >= 0 {
		if known == 0 || size%known != 0 {
			return nil, fmt.Errorf("cannot infer -1 in shape %v for input shape %v", shape, from)
		}
		out[infer] = size / known
	}
	if sizeOf(out) != size {
		return nil, fmt.Errorf("shape %v does not fit input shape %v", shape, from)
	}
	return out, nil
}

// lowerFlatten: [prod(dims[:axis]), prod(dims[axis:])], axis default 1,
// negative from the end.
func lowerFlatten(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	r := x.Rank()
	axis := int(c.attrs().Int("axis", 1))
	if axis < -r || axis > r {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	y, err := applyReshape(c, "Flatten", x, []int{sizeOf(x.Shape[:axis]), sizeOf(x.Shape[axis:])})
	return []*Value{y}, err
}

// lowerSqueeze removes the given dimensions of size 1, or all of them when
// no axes are given.
func lowerSqueeze(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	axes, err := axesArg(c, in)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, x.Rank())
	if axes == nil {
		for d, n := range x.Shape {
			drop[d] = n == 1
		}
	}
	for _, a := range axes {
		ax, err := shapeAxis(a, x.Rank())
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != 1 {
			return nil, fmt.Errorf("axis %d of shape %v is not 1", a, x.Shape)
		}
		drop[ax] = true
	}
	out := []int{}
	for d, n := range x.Shape {
		if !drop[d] {
			out = append(out, n)
		}
	}
	y, err := applyReshape(c, "Squeeze", x, out)
	return []*Value{y}, err
}

// lowerUnsqueeze inserts dimensions of size 1 at the given axes of the
// output.
func lowerUnsqueeze(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	axes, err := axesArg(c, in)
	if err != nil {
		return nil, err
	}
	if axes == nil {
		return nil, fmt.Errorf("axes are required")
	}
	r := x.Rank() + len(axes)
	ones := make([]bool, r)
	for _, a := range axes {
		ax, err := shapeAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ones[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		ones[ax] = true
	}
	out := make([]int, r)
	j := 0
	for d := range out {
		if ones[d] {
			out[d] = 1
		} else {
			out[d] = x.Shape[j]
			j++
		}
	}
	y, err := applyReshape(c, "Unsqueeze", x, out)
	return []*Value{y}, err
}

// lowerIdentity passes its input on: no node, gradients flow through.
func lowerIdentity(c *Ctx, in []*Value) ([]*Value, error) {
	if in[0] == nil {
		return nil, fmt.Errorf("input is missing")
	}
	return []*Value{in[0]}, nil
}

// lowerShape is known at compile time, whatever the input: dims[start:end]
// as int64 (start and end from opset 15, clamped).
func lowerShape(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	r := x.Rank()
	start, end := int(c.attrs().Int("start", 0)), int(c.attrs().Int("end", int64(r)))
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	dims := []int64{}
	for d := start; d < end; d++ {
		dims = append(dims, int64(x.Shape[d]))
	}
	v, err := ConstValue(Dense([]int{len(dims)}, dims))
	return []*Value{v}, err
}

// lowerSize is the number of elements, an int64 scalar known at compile time.
func lowerSize(c *Ctx, in []*Value) ([]*Value, error) {
	v, err := ConstValue(tensor.New(tensor.FromScalar(int64(in[0].Size()))))
	return []*Value{v}, err
}

// lowerTranspose permutes dimensions (perm defaults to reversing them).
func lowerTranspose(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	r := x.Rank()
	perm := c.attrs().Ints("perm")
	if perm == nil {
		perm = stepTable(r, r-1, -1)
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of %d axes", perm, r)
		}
		seen[p] = true
	}
	if sameInts(perm, stepTable(r, 0, 1)) {
		return []*Value{x}, nil
	}
	st := rowStrides(x.Shape)
	out := make([]int, r)
	off := make([][]int, r)
	for i, p := range perm {
		out[i] = x.Shape[p]
		off[i] = stepTable(out[i], 0, st[p])
	}
	if x.DType != graph.Float32 && x.DType != graph.Float64 {
		y, err := applyView(c, "Transpose", x, newViewMap(x.Shape, out, off), 0, nil)
		return []*Value{y}, err
	}
	if y, err := transposeOfGather(c, x, perm, out); y != nil || err != nil {
		return []*Value{y}, err
	}
	// Both ways a gather into a kept buffer: the gradient is the inverse
	// permutation of dY, not a scatter-add into zeros.
	s := Spec{Name: "Transpose", Shape: out, DType: x.DType, Fwd: viewKernel(newViewMap(x.Shape, out, off), 0),
		Into: viewInto(newViewMap(x.Shape, out, off)), Overwrites: true, WRT: []bool{true}}
	gst := rowStrides(out)
	back := make([][]int, r)
	for k, p := range perm {
		back[p] = stepTable(x.Shape[p], 0, gst[k])
	}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "TransposeGrad", Shape: x.Shape,
			DType: DTypeOf(inputs[0]), Into: viewInto(newViewMap(out, x.Shape, back)), Overwrites: true}, grad)
		return G.Nodes{n}, err
	}
	y, err := c.Apply(s, x)
	if err == nil && r == 2 {
		y.transposeOf = x
	}
	if err == nil && !y.IsConst() && c.readOnce() {
		y.permOf = &sliceView{src: x, v: newViewMap(x.Shape, out, off)}
	}
	return []*Value{y}, err
}

// viewInto gathers a view of a float tensor into dst.
func viewInto(v *viewMap) IntoKernel {
	return bodiesInto(
		func(in [][]float32, y []float32) { viewForwardTo(in[0], v, 0, y) },
		func(in [][]float64, y []float64) { viewForwardTo(in[0], v, 0, y) })
}

// lowerExpand broadcasts the input and the shape input against each other
// (numpy rules, both ways); the gradient sums over the broadcast.
func lowerExpand(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	shape, err := requiredInts("shape", in)
	if err != nil {
		return nil, err
	}
	out, err := BroadcastShape(x.Shape, shape)
	if err != nil {
		return nil, err
	}
	if sameInts(out, x.Shape) {
		return []*Value{x}, nil
	}
	if err := c.checkShape("Expand output", out, x.DType); err != nil {
		return nil, err
	}
	st := rowStrides(x.Shape)
	off := make([][]int, len(out))
	for i := range out {
		j := i - (len(out) - x.Rank())
		if j < 0 || x.Shape[j] == 1 {
			off[i] = make([]int, out[i])
		} else {
			off[i] = stepTable(out[i], 0, st[j])
		}
	}
	y, err := applyView(c, "Expand", x, newViewMap(x.Shape, out, off), 0, nil)
	return []*Value{y}, err
}

// lowerTile repeats the input along each axis; the gradient sums the tiles.
func lowerTile(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	reps, err := requiredInts("repeats", in)
	if err != nil {
		return nil, err
	}
	if len(reps) != x.Rank() {
		return nil, fmt.Errorf("%d repeats for rank %d", len(reps), x.Rank())
	}
	if allAre(reps, 1) {
		return []*Value{x}, nil
	}
	out := make([]int, x.Rank())
	for d, n := range x.Shape {
		if reps[d] < 0 {
			return nil, fmt.Errorf("negative repeats %v", reps)
		}
		var ok bool
		if out[d], ok = mulInt(n, reps[d]); !ok {
			return nil, c.overflow(fmt.Sprintf("Tile output of %v repeated %v", x.Shape, reps))
		}
	}
	if err := c.checkShape("Tile output", out, x.DType); err != nil {
		return nil, err
	}
	st := rowStrides(x.Shape)
	off := make([][]int, x.Rank())
	for d, n := range x.Shape {
		off[d] = make([]int, out[d])
		for o := range off[d] {
			off[d][o] = (o % n) * st[d]
		}
	}
	y, err := applyView(c, "Tile", x, newViewMap(x.Shape, out, off), 0, nil)
	return []*Value{y}, err
}
