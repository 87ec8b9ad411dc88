package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerIndex adds the indexing ops, views of their input (see viewMap):
// like the shape ops they also fold on constants.
func registerIndex(r *Registry) {
	r.add(OpInfo{Name: "Concat", Differentiable: true, Lower: lowerConcat})
	r.add(OpInfo{Name: "Split", Differentiable: true, Lower: lowerSplit})
	r.add(OpInfo{Name: "Slice", Differentiable: true, Lower: lowerSlice})
	r.add(OpInfo{Name: "Gather", Differentiable: true, Lower: lowerGather,
		Params: []graph.ParamSlot{{Input: 0, Suffix: "weight"}}}) // nn.Embedding
	r.add(OpInfo{Name: "Pad", Differentiable: true, Lower: lowerPad})
}

// viewMap is a separable index map from an output tensor to an input
// tensor: output element (o_0, ..., o_{r-1}) reads the input element at flat
// offset off[0][o_0] + ... + off[r-1][o_{r-1}], or the fill value when one of
// those offsets is negative (padding). Transpose, Slice, Split, Expand, Tile
// and every mode of Pad are such maps, and so is the gradient of Concat; the
// gradient of a view scatter-adds through the same map.
type viewMap struct {
	in, out []int
	off     [][]int
	// off[last][lo:hi] is a run of consecutive valid offsets, copied whole.
	lo, hi int
	// step > 0 when off[last] is step*j + off[last][0] for every j (a
	// strided row, read without a table).
	step int
}

func newViewMap(in, out []int, off [][]int) *viewMap {
	v := &viewMap{in: in, out: out, off: off}
	if r := len(out); r > 0 {
		last := off[r-1]
		for v.lo < len(last) && last[v.lo] < 0 {
			v.lo++
		}
		v.hi = v.lo
		if v.lo < len(last) {
			v.hi++
			for v.hi < len(last) && last[v.hi] == last[v.hi-1]+1 {
				v.hi++
			}
		}
		if len(last) > 1 && last[0] >= 0 && last[1] > last[0] {
			v.step = last[1] - last[0]
			for j := range last {
				if last[j] != last[0]+j*v.step {
					v.step = 0
					break
				}
			}
		}
	}
	return v
}

// stepTable is start, start+step, ... (n entries).
func stepTable(n, start, step int) []int {
	t := make([]int, n)
	for i := range t {
		t[i] = start + i*step
	}
	return t
}

// rowStrides are the row-major strides of shape.
func rowStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// rowBase is the input offset of the output row at idx (every dimension
// but the last), false when the row is padding.
func (v *viewMap) rowBase(idx []int) (int, bool) {
	base := 0
	for d, i := range idx {
		o := v.off[d][i]
		if o < 0 {
			return 0, false
		}
		base += o
	}
	return base, true
}

// nextRow advances idx over the output's leading dimensions.
func (v *viewMap) nextRow(idx []int) {
	for d := len(idx) - 1; d >= 0; d-- {
		idx[d]++
		if idx[d] < v.out[d] {
			return
		}
		idx[d] = 0
	}
}

func viewForward[T shapeElem](x []T, v *viewMap, fill T) []T {
	res := make([]T, sizeOf(v.out))
	viewForwardTo(x, v, fill, res)
	return res
}

// viewForwardTo is viewForward into res, which it overwrites whole.
func viewForwardTo[T shapeElem](x []T, v *viewMap, fill T, res []T) []T {
	n := len(res)
	r := len(v.out)
	if n == 0 {
		return res
	}
	if r == 0 {
		res[0] = x[0]
		return res
	}
	last, inner := v.off[r-1], v.out[r-1]
	idx := make([]int, r-1)
	for row := 0; row*inner < n; row++ {
		dst := res[row*inner : (row+1)*inner]
		base, ok := v.rowBase(idx)
		v.nextRow(idx)
		if !ok {
			for j := range dst {
				dst[j] = fill
			}
			continue
		}
		if v.step > 1 {
			src := x[base+last[0]:]
			for j, k := 0, 0; j < len(dst); j, k = j+1, k+v.step {
				dst[j] = src[k]
			}
			continue
		}
		for j := 0; j < v.lo; j++ {
			if o := last[j]; o >= 0 {
				dst[j] = x[base+o]
			} else {
				dst[j] = fill
			}
		}
		if v.hi > v.lo {
			copy(dst[v.lo:v.hi], x[base+last[v.lo]:])
		}
		for j := v.hi; j < inner; j++ {
			if o := last[j]; o >= 0 {
				dst[j] = x[base+o]
			} else {
				dst[j] = fill
			}
		}
	}
	return res
}

// viewBackward scatter-adds g (shaped as the view's output) into a zero
// tensor shaped as its input.
func viewBackward[T Float](g []T, v *viewMap) []T {
	res := make([]T, sizeOf(v.in))
	viewBackwardAdd(res, g, v)
	return res
}

// viewBackwardAdd scatter-adds g (shaped as the view's output) into res
// (shaped as its input).
func viewBackwardAdd[T Float](res, g []T, v *viewMap) {
	n := len(g)
	r := len(v.out)
	if n == 0 {
		return
	}
	if r == 0 {
		res[0] += g[0]
		return
	}
	last, inner := v.off[r-1], v.out[r-1]
	idx := make([]int, r-1)
	for row := 0; row*inner < n; row++ {
		src := g[row*inner : (row+1)*inner]
		base, ok := v.rowBase(idx)
		v.nextRow(idx)
		if !ok {
			continue
		}
		if v.step == 1 {
			addTo(res[base+last[0]:], src) // the same additions, in vectors
			continue
		}
		if v.step > 0 {
			dst := res[base+last[0]:]
			for j, k := 0, 0; j < len(src); j, k = j+1, k+v.step {
				dst[k] += src[j]
			}
			continue
		}
		for j, o := range last {
			if o >= 0 {
				res[base+o] += src[j]
			}
		}
	}
}

// viewKernel applies a view to in[0]; the fill value is fill, or the scalar
// in[1] when there is one (Pad's constant_value computed by the graph).
func viewKernel(v *viewMap, fill float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		f := fill
		if len(in) > 1 {
			var err error
			if f, err = scalarNumber(in[1]); err != nil {
				return nil, err
			}
		}
		run, err := pick(byType[func() (*tensor.Dense, error)]{
			Float32: viewRun(in[0], v, float32(f)), Float64: viewRun(in[0], v, f),
			Int64: viewRun(in[0], v, int64(f)), Int32: viewRun(in[0], v, int32(f)),
			Int8: viewRun(in[0], v, int8(f)), Uint8: viewRun(in[0], v, uint8(f)),
			Bool: viewRun(in[0], v, f != 0),
		}, in[0].Dtype())
		if err != nil {
			return nil, err
		}
		return run()
	}
}

func viewRun[T shapeElem](t *tensor.Dense, v *viewMap, fill T) func() (*tensor.Dense, error) {
	return func() (*tensor.Dense, error) {
		x, err := Data[T](t)
		if err != nil {
			return nil, err
		}
		if len(x) != sizeOf(v.in) {
			return nil, fmt.Errorf("input has %d elements, want shape %v", len(x), v.in)
		}
		return Dense(v.out, viewForward(x, v, fill)), nil
	}
}

// viewBackKernel is the gradient of a view: in[0] is the output gradient.
func viewBackKernel(v *viewMap) Kernel {
	return floats(viewBackRun[float32](v), viewBackRun[float64](v))
}

func viewBackRun[T Float](v *viewMap) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		g, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		return Dense(v.in, viewBackward(g, v)), nil
	}
}

// viewBackInto is viewBackKernel into a kept buffer: it clears dst, then
// scatter-adds in[0] into it, so each element gets viewBackward's bits
// without a new input-sized tensor a run (the Slices that reorder an
// exported LSTM's gate blocks have weight-sized gradients).
func viewBackInto(v *viewMap) IntoKernel { return viewBackIntoAt(v, -1) }

// viewBackIntoAt is viewBackInto reading the view's gradient at element
// from of in[0] (-1: in[0] is that gradient).
func viewBackIntoAt(v *viewMap, from int) IntoKernel {
	return floatsInto(viewBackRunInto[float32](v, from), viewBackRunInto[float64](v, from))
}

func viewBackRunInto[T Float](v *viewMap, from int) IntoKernel {
	rows := v.coversByRows()
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		g, err := Data[T](in[0])
		if err != nil {
			return err
		}
		if n := sizeOf(v.out); from >= 0 && from+n <= len(g) {
			g = g[from : from+n]
		}
		res, err := Data[T](dst)
		if err != nil {
			return err
		}
		if len(res) != sizeOf(v.in) {
			return fmt.Errorf("%d elements for shape %v", len(res), v.in)
		}
		if len(g) != sizeOf(v.out) {
			return fmt.Errorf("output gradient has %d elements, want %d for shape %v", len(g), sizeOf(v.out), v.out)
		}
		if rows {
			viewBackwardRows(res, g, v)
			return nil
		}
		clear(res)
		viewBackwardAdd(res, g, v)
		return nil
	}
}

// coversByRows says the view takes every input element exactly once, a
// row of the output at a time from consecutive elements (the gate
// reorder of a recurrent op's weights): its gradient then writes every
// element once, and needs no clearing pass first.
func (v *viewMap) coversByRows() bool {
	r := len(v.out)
	if r == 0 || v.step != 1 || sizeOf(v.in) != sizeOf(v.out) || v.lo != 0 || v.hi != v.out[r-1] {
		return false
	}
	inner := v.out[r-1]
	seen := make([]bool, sizeOf(v.in))
	idx := make([]int, r-1)
	for row := 0; row*inner < len(seen); row++ {
		base, ok := v.rowBase(idx)
		v.nextRow(idx)
		if !ok {
			return false
		}
		at := base + v.off[r-1][0]
		if at < 0 || at+inner > len(seen) {
			return false
		}
		for j := at; j < at+inner; j++ {
			if seen[j] {
				return false
			}
			seen[j] = true
		}
	}
	return true
}

// viewBackwardRows is clear(res) and viewBackwardAdd for a view that
// coversByRows, in one pass: each row cleared, then its gradient added
// (0 + g, the bits of the two passes).
func viewBackwardRows[T Float](res, g []T, v *viewMap) {
	r := len(v.out)
	inner := v.out[r-1]
	idx := make([]int, r-1)
	for row := 0; row*inner < len(g); row++ {
		base, _ := v.rowBase(idx)
		v.nextRow(idx)
		dst := res[base+v.off[r-1][0] : base+v.off[r-1][0]+inner]
		clear(dst)
		addTo(dst, g[row*inner:(row+1)*inner])
	}
}

// numberOf reads a one-element tensor of T as float64.
func numberOf[T Number](t *tensor.Dense) (float64, error) {
	d, err := Data[T](t)
	if err != nil {
		return 0, err
	}
	if len(d) != 1 {
		return 0, fmt.Errorf("want one value, have shape %v", Shape(t))
	}
	return float64(d[0]), nil
}

func boolNumber(t *tensor.Dense) (float64, error) {
	d, err := Data[bool](t)
	switch {
	case err != nil:
		return 0, err
	case len(d) != 1:
		return 0, fmt.Errorf("want one value, have shape %v", Shape(t))
	case d[0]:
		return 1, nil
	}
	return 0, nil
}

// numbers reads a one-element tensor of each element type as float64.
var numbers = byType[func(*tensor.Dense) (float64, error)]{
	Float32: numberOf[float32], Float64: numberOf[float64],
	Int64: numberOf[int64], Int32: numberOf[int32], Int8: numberOf[int8], Uint8: numberOf[uint8],
	Bool: boolNumber,
}

// scalarNumber reads a one-element tensor of any supported type.
func scalarNumber(t *tensor.Dense) (float64, error) {
	if t.Size() != 1 {
		return 0, fmt.Errorf("want one value, have shape %v", Shape(t))
	}
	read, err := pick(numbers, t.Dtype())
	if err != nil {
		return 0, fmt.Errorf("unsupported value of type %v", t.Dtype())
	}
	return read(t)
}

// applyView applies v to x (and to a graph-computed fill value when fillV
// is not nil); float data gets the scatter-add gradient.
func applyView(c *Ctx, name string, x *Value, v *viewMap, fill float64, fillV *Value) (*Value, error) {
	s := Spec{Name: name, Shape: v.out, DType: x.DType, Fwd: viewKernel(v, fill)}
	args := []*Value{x}
	if fillV != nil {
		args = append(args, fillV)
	}
	if x.DType.IsFloat() {
		s.WRT = make([]bool, len(args))
		s.WRT[0] = true
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: v.in,
				DType: DTypeOf(inputs[0]), Into: viewBackInto(v), Overwrites: true}, grad)
			gs := make(G.Nodes, len(inputs))
			gs[0] = n
			return gs, err
		}
	}
	return c.Apply(s, args...)
}

// lowerSlice: starts, ends, axes as attributes before opset 10, then
// inputs starts, ends, axes, steps. Indices are clamped as ONNX says.
func lowerSlice(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	r := x.Rank()
	var starts, ends, axes, steps []int
	if c.Opset < 10 {
		starts, ends = c.attrs().Ints("starts"), c.attrs().Ints("ends")
		if starts == nil || ends == nil {
			return nil, fmt.Errorf("starts and ends attributes are required")
		}
		axes = c.attrs().Ints("axes")
	} else {
		if len(in) < 3 || in[1] == nil || in[2] == nil {
			return nil, fmt.Errorf("starts and ends inputs are required")
		}
		var err error
		if starts, err = shapeInts("starts", in[1]); err != nil {
			return nil, err
		}
		if ends, err = shapeInts("ends", in[2]); err != nil {
			return nil, err
		}
		if len(in) > 3 && in[3] != nil {
			if axes, err = shapeInts("axes", in[3]); err != nil {
				return nil, err
			}
		}
		if len(in) > 4 && in[4] != nil {
			if steps, err = shapeInts("steps", in[4]); err != nil {
				return nil, err
			}
		}
	}
	if len(ends) != len(starts) {
		return nil, fmt.Errorf("%d starts and %d ends", len(starts), len(ends))
	}
	if axes == nil {
		axes = stepTable(len(starts), 0, 1)
	}
	if steps == nil {
		steps = make([]int, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("%d starts, %d axes and %d steps", len(starts), len(axes), len(steps))
	}
	begin := make([]int, r)
	step := make([]int, r)
	out := append([]int{}, x.Shape...)
	for d := range step {
		step[d] = 1
	}
	seen := make([]bool, r)
	for i, a := range axes {
		ax, err := shapeAxis(a, r)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[ax] = true
		if steps[i] == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", a)
		}
		begin[ax], out[ax] = sliceRange(starts[i], ends[i], steps[i], x.Shape[ax])
		step[ax] = steps[i]
	}
	if sameInts(out, x.Shape) && allAre(step, 1) {
		return []*Value{x}, nil
	}
	st := rowStrides(x.Shape)
	off := make([][]int, r)
	for d := range off {
		off[d] = stepTable(out[d], begin[d]*st[d], step[d]*st[d])
	}
	v := newViewMap(x.Shape, out, off)
	y, err := applyView(c, "Slice", x, v, 0, nil)
	if err == nil && !x.IsConst() && !y.IsConst() {
		y.sliceOf = &sliceView{src: x, v: v}
	}
	return []*Value{y}, err
}

// sliceRange returns the first index and the count of a slice of a
// dimension of size dim, with ONNX's clamping.
func sliceRange(start, end, step, dim int) (first, count int) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	// Clamped, start and end lie in [-1, dim]: their difference cannot
	// overflow, and the count is taken without adding the step (which may
	// be as large as int64 allows).
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end > start {
			count = (end-start-1)/step + 1
		}
	} else {
		start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
		if start > end {
			count = 1
			if step != math.MinInt {
				count = (start-end-1)/-step + 1
			}
		}
	}
	return start, count
}

// allAre reports whether every element of s is v.
func allAre(s []int, v int) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return true
}

// lowerPad: pads (and value, mode) attributes before opset 11, then inputs
// pads, constant_value and (opset 18) axes. Modes constant, reflect, edge and
// wrap; negative pads crop first.
func lowerPad(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	r := x.Rank()
	mode := "constant"
	if m := c.attrs().String("mode", ""); m != "" {
		mode = m
	}
	var pads, axes []int
	fill := 0.0
	var fillV *Value
	if c.Opset < 11 {
		pads = c.attrs().Ints("pads")
		if pads == nil {
			pads = c.attrs().Ints("paddings")
		}
		if pads == nil {
			return nil, fmt.Errorf("pads attribute is required")
		}
		fill = c.attrs().Float("value", 0)
	} else {
		var err error
		if pads, err = requiredInts("pads", in); err != nil {
			return nil, err
		}
		if len(in) > 2 && in[2] != nil {
			if in[2].IsConst() {
				if fill, err = scalarNumber(in[2].Const); err != nil {
					return nil, fmt.Errorf("constant_value: %w", err)
				}
			} else {
				if in[2].Size() != 1 {
					return nil, fmt.Errorf("constant_value has shape %v, want one value", in[2].Shape)
				}
				fillV = in[2]
			}
		}
		if len(in) > 3 && in[3] != nil {
			if axes, err = shapeInts("axes", in[3]); err != nil {
				return nil, err
			}
		}
	}
	if axes == nil {
		axes = stepTable(r, 0, 1)
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	begin, end := make([]int, r), make([]int, r)
	for i, a := range axes {
		ax, err := shapeAxis(a, r)
		if err != nil {
			return nil, err
		}
		begin[ax], end[ax] = pads[i], pads[i+len(axes)]
	}
	if allAre(begin, 0) && allAre(end, 0) {
		return []*Value{x}, nil
	}
	out := make([]int, r)
	for d := 0; d < r; d++ {
		n, ok := addInt(x.Shape[d], begin[d])
		if ok {
			n, ok = addInt(n, end[d])
		}
		if !ok {
			return nil, c.overflow(fmt.Sprintf("Pad output, axis %d padded by %d and %d", d, begin[d], end[d]))
		}
		if n < 0 {
			return nil, fmt.Errorf("axis %d: pads %d and %d crop more than the size %d", d, begin[d], end[d], x.Shape[d])
		}
		out[d] = n
	}
	if err := c.checkShape("Pad output", out, x.DType); err != nil {
		return nil, err
	}
	st := rowStrides(x.Shape)
	off := make([][]int, r)
	for d := 0; d < r; d++ {
		t, err := padTable(mode, x.Shape[d], begin[d], end[d])
		if err != nil {
			return nil, fmt.Errorf("axis %d: %w", d, err)
		}
		for i, s := range t {
			if s >= 0 {
				t[i] = s * st[d]
			}
		}
		out[d], off[d] = len(t), t
	}
	y, err := applyView(c, "Pad", x, newViewMap(x.Shape, out, off), fill, fillV)
	return []*Value{y}, err
}

// padTable maps each output index of a padded dimension to its input index,
// -1 for the constant.
func padTable(mode string, dim, begin, end int) ([]int, error) {
	n := dim + begin + end
	if n < 0 {
		return nil, fmt.Errorf("pads %d and %d crop more than the size %d", begin, end, dim)
	}
	lo := max(0, -begin)         // first input index kept
	m := dim - lo - max(0, -end) // input indices kept
	t := make([]int, n)
	if m <= 0 && mode != "constant" && n > 0 {
		return nil, fmt.Errorf("%s padding of an empty dimension", mode)
	}
	for o := range t {
		j := o - max(begin, 0)
		if j >= 0 && j < m {
			t[o] = lo + j
			continue
		}
		switch mode {
		case "constant":
			t[o] = -1
			continue
		case "edge":
			j = min(max(j, 0), m-1)
		case "reflect":
			if m == 1 {
				j = 0
				break
			}
			p := 2 * (m - 1)
			j = ((j % p) + p) % p
			if j >= m {
				j = p - j
			}
		case "wrap":
			j = ((j % m) + m) % m
		default:
			return nil, fmt.Errorf("mode %q is not supported", mode)
		}
		t[o] = lo + j
	}
	return t, nil
}

// lowerConcat joins inputs along axis; each float input that the graph
// computes gets the matching slice of the gradient.
func lowerConcat(c *Ctx, in []*Value) ([]*Value, error) {
	if !c.attrs().Has("axis") && c.Opset >= 4 {
		return nil, fmt.Errorf("axis attribute is required")
	}
	axis := int(c.attrs().Int("axis", 1))
	var xs []*Value
	for i, v := range in {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		xs = append(xs, v)
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	r := xs[0].Rank()
	ax, err := shapeAxis(axis, r)
	if err != nil {
		return nil, err
	}
	out := append([]int{}, xs[0].Shape...)
	out[ax] = 0
	var kept []*Value
	for i, v := range xs {
		if v.DType != xs[0].DType {
			return nil, fmt.Errorf("input %d is %s, input 0 is %s", i, v.DType, xs[0].DType)
		}
		if v.Rank() != r {
			return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", i, v.Shape, xs[0].Shape)
		}
		for d := range out {
			if d != ax && v.Shape[d] != out[d] {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", i, v.Shape, xs[0].Shape)
			}
		}
		out[ax] += v.Shape[ax]
		if v.Size() > 0 {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		kept = xs[:1]
	}
	if len(kept) == 1 && sameInts(kept[0].Shape, out) {
		return []*Value{kept[0]}, nil
	}
	if y, ok, err := concatSlices(c, ax, out, kept); ok {
		return []*Value{y}, err
	}
	s := Spec{Name: "Concat", Shape: out, DType: xs[0].DType, Fwd: concatKernel(ax, out)}
	if xs[0].DType.IsFloat() {
		s.WRT = make([]bool, len(kept))
		for i, v := range kept {
			s.WRT[i] = !v.IsConst()
		}
		s.Grad = concatGrad(ax, out, s.WRT)
	}
	y, err := c.Apply(s, kept...)
	return []*Value{y}, err
}

func concatKernel(axis int, out []int) Kernel {
	return dispatch(byType[Kernel]{
		Float32: concatRun[float32](axis, out), Float64: concatRun[float64](axis, out),
		Int64: concatRun[int64](axis, out), Int32: concatRun[int32](axis, out),
		Int8: concatRun[int8](axis, out), Uint8: concatRun[uint8](axis, out),
		Bool: concatRun[bool](axis, out),
	})
}

func concatRun[T shapeElem](axis int, out []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		inner := sizeOf(out[axis+1:])
		outer := sizeOf(out[:axis])
		xs := make([][]T, len(in))
		chunk := make([]int, len(in))
		for i, t := range in {
			x, err := Data[T](t)
			if err != nil {
				return nil, fmt.Errorf("input %d: %w", i, err)
			}
			xs[i], chunk[i] = x, Shape(t)[axis]*inner
		}
		res := make([]T, sizeOf(out))
		pos := 0
		for o := 0; o < outer; o++ {
			for i, x := range xs {
				pos += copy(res[pos:], x[o*chunk[i]:(o+1)*chunk[i]])
			}
		}
		return Dense(out, res), nil
	}
}

// concatGrad gives input i the slice of the gradient it was copied to.
func concatGrad(axis int, out []int, wrt []bool) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		st := rowStrides(out)
		gs := make(G.Nodes, len(inputs))
		start := 0
		for i, x := range inputs {
			s := ShapeOf(x)
			if wrt[i] {
				off := make([][]int, len(s))
				for d := range off {
					first := 0
					if d == axis {
						first = start
					}
					off[d] = stepTable(s[d], first*st[d], st[d])
				}
				n, err := NewNode(grad.Graph(), fmt.Sprintf("%s/grad%d", output.Name(), i), Spec{Name: "ConcatGrad",
					Shape: s, DType: DTypeOf(x), Fwd: viewKernel(newViewMap(out, s, off), 0)}, grad)
				if err != nil {
					return nil, err
				}
				gs[i] = n
			}
			start += s[axis]
		}
		return gs, nil
	}
}

// lowerSplit: sizes from the split attribute before opset 13, the split
// input from 13, num_outputs (opset 18) or equal parts otherwise. Each
// output is a slice of the input.
func lowerSplit(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	ax, err := shapeAxis(int(c.attrs().Int("axis", 0)), x.Rank())
	if err != nil {
		return nil, err
	}
	nOut := len(c.Node.Outputs)
	dim := x.Shape[ax]
	var sizes []int
	if c.Opset < 13 {
		sizes = c.attrs().Ints("split")
	} else if len(in) > 1 && in[1] != nil {
		if sizes, err = shapeInts("split", in[1]); err != nil {
			return nil, err
		}
	}
	if sizes == nil {
		parts := nOut
		if c.Opset >= 18 {
			parts = int(c.attrs().Int("num_outputs", int64(parts)))
		}
		if parts <= 0 {
			return nil, fmt.Errorf("%d outputs", parts)
		}
		chunk := dim / parts
		if dim%parts != 0 {
			chunk++
		}
		sizes = make([]int, parts)
		for i := range sizes {
			sizes[i] = chunk
		}
		sizes[parts-1] = dim - chunk*(parts-1)
		if sizes[parts-1] < 0 {
			return nil, fmt.Errorf("a dimension of %d cannot be split into %d parts", dim, parts)
		}
	}
	if len(sizes) != nOut {
		return nil, fmt.Errorf("%d parts for %d outputs", len(sizes), nOut)
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("negative size in %v", sizes)
		}
		total += s
	}
	if total != dim {
		return nil, fmt.Errorf("sizes %v add up to %d, the axis has %d", sizes, total, dim)
	}
	st := rowStrides(x.Shape)
	outs := make([]*Value, nOut)
	start := 0
	for k, size := range sizes {
		out := append([]int{}, x.Shape...)
		out[ax] = size
		off := make([][]int, len(out))
		for d := range off {
			first := 0
			if d == ax {
				first = start
			}
			off[d] = stepTable(out[d], first*st[d], st[d])
		}
		start += size
		if size == dim {
			outs[k] = x
			continue
		}
		if outs[k], err = applyView(c, "Split", x, newViewMap(x.Shape, out, off), 0, nil); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// lowerGather: out = data[..., indices, ...] along axis; indices of any
// rank (a scalar index drops the axis), negative ones count from the end.
// The gradient scatter-adds into data; indices are not differentiable. A
// Gather the dynamo exporter recorded as nn.Embedding's aten.embedding
// takes that call's gradient: none into the padding row, each row scaled
// by its index's count under scale_grad_by_freq (see embeddingHint).
func lowerGather(c *Ctx, in []*Value) ([]*Value, error) {
	data, idx := in[0], in[1]
	if idx == nil {
		return nil, fmt.Errorf("indices input is required")
	}
	if idx.DType != graph.Int64 && idx.DType != graph.Int32 {
		return nil, fmt.Errorf("indices are %s, want int64 or int32", idx.DType)
	}
	ax, err := shapeAxis(int(c.attrs().Int("axis", 0)), data.Rank())
	if err != nil {
		return nil, err
	}
	ds := append([]int{}, data.Shape...)
	out := append(append(append([]int{}, ds[:ax]...), idx.Shape...), ds[ax+1:]...)
	if y, err := gatherOfPerm(c, data, idx, ax, out); y != nil || err != nil {
		return []*Value{y}, err
	}
	s := Spec{Name: "Gather", Shape: out, DType: data.DType, Fwd: gatherKernel(ax, ds)}
	if data.DType == graph.Float32 || data.DType == graph.Float64 {
		s.Fwd, s.Into, s.Overwrites = nil, gatherRowsInto(ax, ds, nil), true // into a kept buffer
	}
	h := noEmbeddingHint
	if data.DType.IsFloat() {
		if ax == 0 && len(ds) == 2 {
			if h = embeddingHintOf(c.Node); h.padding >= ds[0] {
				h.padding = -1 // F.embedding refuses it; not PyTorch's record
			}
		}
		s.WRT = []bool{true, false}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "GatherGrad", Shape: ds,
				DType: DTypeOf(inputs[0]), Into: gatherGradInto(ax, ds, h), Overwrites: true}, grad, inputs[1])
			return G.Nodes{n, nil}, err
		}
	}
	y, err := c.Apply(s, data, idx)
	if err == nil && s.Into != nil && ax == 0 && !y.IsConst() && c.readOnce() {
		y.gatherOf = &gatherRows{data: data, idx: idx, h: h}
	}
	return []*Value{y}, err
}

// intReaders read an int64 or int32 tensor as ints.
var intReaders = byType[func(*tensor.Dense) ([]int, error)]{Int64: intsOf[int64], Int32: intsOf[int32]}

// intsOf reads an integer tensor as ints.
func intsOf[T int64 | int32](t *tensor.Dense) ([]int, error) {
	d, err := Data[T](t)
	if err != nil {
		return nil, err
	}
	return graph.Convert[T, int](d), nil
}

// gatherIndices reads indices, counting negative ones from the end.
func gatherIndices(t *tensor.Dense, n int) ([]int, error) {
	read, err := pick(intReaders, t.Dtype())
	if err != nil {
		return nil, fmt.Errorf("indices are %v, want int64 or int32", t.Dtype())
	}
	raw, err := read(t)
	if err != nil {
		return nil, err
	}
	for i, x := range raw {
		if x < 0 {
			x += n
		}
		if x < 0 || x >= n {
			return nil, fmt.Errorf("index %d out of range [%d, %d)", raw[i], -n, n)
		}
		raw[i] = x
	}
	return raw, nil
}

func gatherKernel(axis int, ds []int) Kernel {
	return dispatch(byType[Kernel]{
		Float32: gatherRun[float32](axis, ds), Float64: gatherRun[float64](axis, ds),
		Int64: gatherRun[int64](axis, ds), Int32: gatherRun[int32](axis, ds),
		Int8: gatherRun[int8](axis, ds), Uint8: gatherRun[uint8](axis, ds),
		Bool: gatherRun[bool](axis, ds),
	})
}

// gatherRowsInto is gatherKernel's float Gather into a kept buffer; with
// rowOf (axis 0 only) index k's row goes to row rowOf[k] of the output.
func gatherRowsInto(axis int, ds []int, rowOf []int) IntoKernel {
	return floatsInto(gatherIntoRun[float32](axis, ds, rowOf), gatherIntoRun[float64](axis, ds, rowOf))
}

func gatherIntoRun[T Float](axis int, ds []int, rowOf []int) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		n := ds[axis]
		x, idx, err := gatherArgs[T](in, n)
		if err != nil {
			return err
		}
		res, err := Data[T](dst)
		if err != nil {
			return err
		}
		outer, inner, m := sizeOf(ds[:axis]), sizeOf(ds[axis+1:]), len(idx)
		if len(res) != outer*m*inner || (rowOf != nil && (len(rowOf) != m || outer != 1)) {
			return fmt.Errorf("%d output elements for %d indices of shape %v", len(res), m, ds)
		}
		for o := 0; o < outer; o++ {
			for k, i := range idx {
				row := o*m + k
				if rowOf != nil {
					row = rowOf[k]
				}
				copy(res[row*inner:(row+1)*inner], x[(o*n+i)*inner:])
			}
		}
		return nil
	}
}

func gatherRun[T shapeElem](axis int, ds []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		n := ds[axis]
		x, idx, err := gatherArgs[T](in, n)
		if err != nil {
			return nil, err
		}
		outer, inner, m := sizeOf(ds[:axis]), sizeOf(ds[axis+1:]), len(idx)
		res := make([]T, outer*m*inner)
		for o := 0; o < outer; o++ {
			for k, i := range idx {
				copy(res[(o*m+k)*inner:(o*m+k+1)*inner], x[(o*n+i)*inner:])
			}
		}
		out := append(append(append([]int{}, ds[:axis]...), Shape(in[1])...), ds[axis+1:]...)
		return Dense(out, res), nil
	}
}

// gatherArgs reads in[0] (the data, or the output gradient) as T and the
// indices in[1] into an axis of length n.
func gatherArgs[T any](in []*tensor.Dense, n int) ([]T, []int, error) {
	x, err := Data[T](in[0])
	if err != nil {
		return nil, nil, err
	}
	idx, err := gatherIndices(in[1], n)
	return x, idx, err
}

// gatherGradInto scatter-adds the output gradient into a kept buffer,
// cleared first: in[0] is the output gradient, in[1] the indices; h is
// the embedding's record (noEmbeddingHint for a plain Gather).
func gatherGradInto(axis int, ds []int, h embeddingHint) IntoKernel {
	return gatherGradRowsInto(axis, ds, h, nil, -1)
}

// gatherGradRowsInto is gatherGradInto for a Gather whose output rows are
// permuted (gatherRowsInto): index k's row of the output gradient is row
// rowOf[k] (nil: k), added in the order of the indices all the same; the
// output gradient starts at element from of in[0] (-1: in[0] is it).
func gatherGradRowsInto(axis int, ds []int, h embeddingHint, rowOf []int, from int) IntoKernel {
	return floatsInto(gatherGradRun[float32](axis, ds, h, rowOf, from), gatherGradRun[float64](axis, ds, h, rowOf, from))
}

func gatherGradRun[T Float](axis int, ds []int, h embeddingHint, rowOf []int, from int) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		n := ds[axis]
		g, idx, err := gatherArgs[T](in, n)
		if err != nil {
			return err
		}
		res, err := Data[T](dst)
		if err != nil {
			return err
		}
		if len(res) != sizeOf(ds) {
			return fmt.Errorf("%d elements for shape %v", len(res), ds)
		}
		outer, inner, m := sizeOf(ds[:axis]), sizeOf(ds[axis+1:]), len(idx)
		if from >= 0 && from+outer*m*inner <= len(g) {
			g = g[from : from+outer*m*inner]
		}
		if len(g) != outer*m*inner || (rowOf != nil && (len(rowOf) != m || outer != 1)) {
			return fmt.Errorf("output gradient of %d elements for %d indices of shape %v", len(g), m, ds)
		}
		clear(res)
		for o := 0; o < outer; o++ {
			for k, i := range idx {
				if i == h.padding {
					continue
				}
				row := o*m + k
				if rowOf != nil {
					row = rowOf[k]
				}
				addTo(res[(o*n+i)*inner:(o*n+i+1)*inner], g[row*inner:(row+1)*inner]) // the same additions, in vectors
			}
		}
		if h.scaleByFreq {
			// aten.embedding_dense_backward: each row's sum divided by
			// the number of its index's occurrences.
			count := make([]int, n)
			for _, i := range idx {
				count[i]++
			}
			for i, c := range count {
				if c > 1 {
					row := res[i*inner : (i+1)*inner]
					for j := range row {
						row[j] /= T(c)
					}
				}
			}
		}
		return nil
	}
}
