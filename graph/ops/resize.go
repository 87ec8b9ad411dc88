package ops

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerResize adds Resize and Upsample.
//
// Both lower to one plan (resizePlan): per resized axis, for every output
// index, the input indices it reads and their weights (one tap for nearest,
// two for linear, four for cubic, more with antialias), applied axis by
// axis from the last one, as PyTorch's bilinear kernel sums along the width
// first. The gradient is the transpose of the same plan: each output's
// gradient added back to the taps it read (PyTorch's upsample backward).
// Coordinates are computed in float32 with ONNX Runtime's formulas, so the
// nearest index and the weights are those ONNX Runtime uses.
func registerResize(r *Registry) {
	r.add(OpInfo{Name: "Resize", Differentiable: true, Lower: lowerResize, Constants: []int{1, 2}})
	r.add(OpInfo{Name: "Upsample", Differentiable: true, Lower: lowerResize, Constants: []int{1}})
}

// resizeAttrs is what a Resize or Upsample node asks for.
type resizeAttrs struct {
	mode      string // nearest, linear, cubic
	coord     string // coordinate_transformation_mode
	nearest   string // nearest_mode; "" is opset 10's rule (see nearestIndex)
	cubicA    float64
	exclude   bool // exclude_outside
	antialias bool
	extrap    float64
}

func lowerResize(c *Ctx, in []*Value) ([]*Value, error) {
	op := c.Node.OpType
	x := in[0]
	a := c.attrs()
	legacy := op == "Upsample" || c.Opset < 11
	at := resizeAttrs{mode: a.String("mode", "nearest"), coord: "asymmetric",
		cubicA: a.Float("cubic_coeff_a", -0.75), exclude: a.Bool("exclude_outside", false),
		antialias: a.Bool("antialias", false), extrap: a.Float("extrapolation_value", 0)}
	if op == "Upsample" && at.mode == "bilinear" {
		at.mode = "linear"
	}
	if !legacy {
		at.coord = a.String("coordinate_transformation_mode", "half_pixel")
		if at.mode == "nearest" {
			at.nearest = a.String("nearest_mode", "round_prefer_floor")
		}
	}
	switch at.mode {
	case "nearest", "linear":
	case "cubic":
		if legacy {
			return nil, fmt.Errorf("%s: mode cubic needs Resize of opset 11 or later", op)
		}
	default:
		return nil, fmt.Errorf("%s: mode %q is not nearest, linear or cubic", op, at.mode)
	}
	switch at.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize",
		"half_pixel_symmetric", "tf_half_pixel_for_nn":
	default:
		return nil, fmt.Errorf("%s: coordinate_transformation_mode %q is not supported", op, at.coord)
	}
	switch at.nearest {
	case "", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("%s: nearest_mode %q is not supported", op, at.nearest)
	}
	if at.antialias && at.mode == "nearest" {
		return nil, fmt.Errorf("%s: antialias applies to linear and cubic modes only", op)
	}
	if at.mode != "nearest" && !x.DType.IsFloat() {
		return nil, fmt.Errorf("%s: %s mode of %s (only float tensors interpolate)", op, at.mode, x.DType)
	}
	if _, err := tensorDtype(x.DType); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if a.Err() != nil {
		return nil, a.Err()
	}

	// The inputs that size the output: known when the model is compiled.
	var roi, scales []float64
	var sizes []int
	var err error
	switch {
	case op == "Upsample" && c.Opset < 9:
		scales = a.Floats("scales")
	case legacy:
		scales, err = resizeFloats(op, "scales", input(in, 1))
	default:
		if roi, err = resizeFloats(op, "roi", input(in, 1)); err == nil {
			scales, err = resizeFloats(op, "scales", input(in, 2))
		}
		if v := input(in, 3); err == nil && v != nil && v.Size() > 0 {
			if sizes, err = v.Ints(); err != nil {
				err = fmt.Errorf("%s: sizes: %w", op, err)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	plan, err := newResizePlan(c, op, x.Shape, at, roi, scales, sizes)
	if err != nil {
		return nil, err
	}
	if err := c.checkShape(op+" output", plan.outShape, x.DType); err != nil {
		return nil, err
	}
	for _, ax := range plan.axes {
		if err := c.checkElems(op+" interpolation table", len(ax.idx), 16); err != nil {
			return nil, err
		}
	}
	s := Spec{Name: op, Shape: plan.outShape, DType: x.DType}
	if x.DType.IsFloat() {
		s.Fwd = floats(
			func(in []*tensor.Dense) (*tensor.Dense, error) { return resizeRun[float32](plan, in[0]) },
			func(in []*tensor.Dense) (*tensor.Dense, error) { return resizeRun[float64](plan, in[0]) })
		s.WRT = []bool{true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx, err := NewNode(grad.Graph(), output.Name()+"/Grad", Spec{Name: op + "Grad",
				Shape: ShapeOf(inputs[0]), DType: DTypeOf(inputs[0]), Fwd: floats(
					func(in []*tensor.Dense) (*tensor.Dense, error) { return resizeBackRun[float32](plan, in[0]) },
					func(in []*tensor.Dense) (*tensor.Dense, error) { return resizeBackRun[float64](plan, in[0]) })}, grad)
			return G.Nodes{dx}, err
		}
	} else {
		s.Fwd = func(in []*tensor.Dense) (*tensor.Dense, error) { return resizeGather(plan, in[0]) }
	}
	y, err := c.Apply(s, x)
	return []*Value{y}, err
}

// resizeFloats reads a constant float input (roi, scales); nil when it is
// omitted or empty.
func resizeFloats(op, what string, v *Value) ([]float64, error) {
	if v == nil || v.Size() == 0 {
		return nil, nil
	}
	if !v.IsConst() {
		return nil, fmt.Errorf("%s: %s must be known when the model is compiled (a constant, or computed from shapes)", op, what)
	}
	switch d := v.Const.Data().(type) {
	case []float32:
		return graph.Convert[float32, float64](d), nil
	case float32:
		return []float64{float64(d)}, nil
	case []float64:
		return slices.Clone(d), nil
	case float64:
		return []float64{d}, nil
	}
	return nil, fmt.Errorf("%s: %s is %s, want float", op, what, v.DType)
}

// resizeAxis is the interpolation along one axis: output index j reads
// input indices idx[off[j]:off[j+1]] with weights w (none, and the
// extrapolation value, when ext[j]).
type resizeAxis struct {
	axis, in, out int
	off           []int
	idx           []int
	w             []float64
	ext           []bool
}

// resizePlan is a Resize: the axes it changes, in the order applied.
type resizePlan struct {
	inShape, outShape []int
	axes              []resizeAxis
	extrap            float64
}

// newResizePlan resolves scales or sizes (with axes and
// keep_aspect_ratio_policy) into the output shape and the per-axis taps.
func newResizePlan(c *Ctx, op string, shape []int, at resizeAttrs, roi, scales []float64, sizes []int) (*resizePlan, error) {
	rank := len(shape)
	a := c.attrs()
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	if list := a.Ints("axes"); list != nil {
		seen := make([]bool, rank)
		axes = axes[:0]
		for _, ax := range list {
			if ax < -rank || ax >= rank {
				return nil, fmt.Errorf("%s: axis %d out of range for rank %d", op, ax, rank)
			}
			if ax < 0 {
				ax += rank
			}
			if seen[ax] {
				return nil, fmt.Errorf("%s: axis %d given twice", op, ax)
			}
			seen[ax] = true
			axes = append(axes, ax)
		}
	}
	n := len(axes)
	if (scales == nil) == (sizes == nil) {
		return nil, fmt.Errorf("%s: give exactly one of scales and sizes", op)
	}
	if scales != nil && len(scales) != n || sizes != nil && len(sizes) != n {
		return nil, fmt.Errorf("%s: %d scales or sizes for %d axes", op, len(scales)+len(sizes), n)
	}
	if roi != nil && len(roi) != 2*n {
		roi = nil // only tf_crop_and_resize reads it (checked below)
	}
	if at.coord == "tf_crop_and_resize" && roi == nil {
		return nil, fmt.Errorf("%s: tf_crop_and_resize needs a roi of %d values", op, 2*n)
	}
	p := &resizePlan{inShape: slices.Clone(shape), outShape: slices.Clone(shape), extrap: at.extrap}
	scale := make([]float32, rank)
	for i := range scale {
		scale[i] = 1
	}
	fixed := make([]bool, rank) // axes whose output length comes from sizes
	if scales != nil {
		for i, ax := range axes {
			s := float32(scales[i])
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return nil, fmt.Errorf("%s: scale %g of axis %d is not a positive number", op, scales[i], ax)
			}
			out := float64(s * float32(shape[ax]))
			if out >= math.MaxInt32 {
				return nil, fmt.Errorf("%s: scale %g makes axis %d too large", op, scales[i], ax)
			}
			scale[ax], p.outShape[ax] = s, int(out)
		}
	} else {
		policy := a.String("keep_aspect_ratio_policy", "stretch")
		var common float32
		for i, ax := range axes {
			if sizes[i] < 0 || shape[ax] == 0 {
				return nil, fmt.Errorf("%s: size %d for axis %d of length %d", op, sizes[i], ax, shape[ax])
			}
			r := float32(sizes[i]) / float32(shape[ax])
			switch {
			case policy == "stretch":
				scale[ax], p.outShape[ax], fixed[ax] = r, sizes[i], true
			case policy != "not_larger" && policy != "not_smaller":
				return nil, fmt.Errorf("%s: keep_aspect_ratio_policy %q is not stretch, not_larger or not_smaller", op, policy)
			case i == 0 || policy == "not_larger" && r < common || policy == "not_smaller" && r > common:
				common = r
			}
		}
		if policy != "stretch" {
			for _, ax := range axes {
				scale[ax] = common
				p.outShape[ax] = int(math.Round(float64(common * float32(shape[ax]))))
			}
		}
	}
	// The last axis first (PyTorch's order of sums), identities skipped.
	for i := rank - 1; i >= 0; i-- {
		var r0, r1 float32
		if roi != nil {
			if k := slices.Index(axes, i); k >= 0 {
				r0, r1 = float32(roi[k]), float32(roi[n+k])
			} else {
				r0, r1 = 0, 1
			}
		}
		ax := resizeTaps(at, shape[i], p.outShape[i], scale[i], r0, r1)
		ax.axis = i
		if !ax.identity() {
			p.axes = append(p.axes, ax)
		}
	}
	return p, nil
}

// identity reports an axis whose output j is input j.
func (ax *resizeAxis) identity() bool {
	if ax.in != ax.out || ax.ext != nil {
		return false
	}
	for j := 0; j < ax.out; j++ {
		if ax.off[j+1]-ax.off[j] != 1 || ax.idx[ax.off[j]] != j || ax.w[ax.off[j]] != 1 {
			return false
		}
	}
	return true
}

// originalCoord maps output index x to the input coordinate (ONNX
// Runtime's float32 formulas; lengths as floats).
func originalCoord(mode string, x, scale, lenOut, lenIn, r0, r1 float32) float32 {
	switch mode {
	case "asymmetric":
		return x / scale
	case "pytorch_half_pixel":
		if lenOut > 1 {
			return (x+0.5)/scale - 0.5
		}
		return 0
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / scale
	case "align_corners":
		if lenOut == 1 {
			return 0
		}
		return x * (lenIn - 1) / (lenOut - 1)
	case "tf_crop_and_resize":
		if lenOut > 1 {
			return r0*(lenIn-1) + (x*(r1-r0)*(lenIn-1))/(lenOut-1)
		}
		return float32(0.5 * float64(r0+r1) * float64(lenIn-1))
	case "half_pixel_symmetric":
		outW := scale * lenIn
		adj := lenOut / outW
		center := lenIn / 2
		offset := center * (1 - adj)
		return float32(float64(offset) + (float64(x)+0.5)/float64(scale) - 0.5)
	}
	return (x+0.5)/scale - 0.5 // half_pixel
}

// nearestIndex rounds an input coordinate by nearest_mode ("" is opset
// 10's rule: truncate when upsampling, ceil when downsampling).
func nearestIndex(mode string, x float32, down bool) int {
	switch mode {
	case "":
		if down {
			return int(math.Ceil(float64(x)))
		}
		return int(x)
	case "round_prefer_ceil":
		return int(math.Round(float64(x)))
	case "floor":
		return int(math.Floor(float64(x)))
	case "ceil":
		return int(math.Ceil(float64(x)))
	}
	if x == float32(int(x))+0.5 {
		return int(math.Floor(float64(x)))
	}
	return int(math.Round(float64(x)))
}

// cubicKernel is the cubic convolution kernel with coefficient A.
func cubicKernel(x, A float64) float64 {
	x = math.Abs(x)
	switch {
	case x <= 1:
		return ((A+2)*x-(A+3))*x*x + 1
	case x < 2:
		return ((A*x-5*A)*x+8*A)*x - 4*A
	}
	return 0
}

// resizeTaps computes one axis's taps.
func resizeTaps(at resizeAttrs, in, out int, scale, r0, r1 float32) resizeAxis {
	ax := resizeAxis{in: in, out: out, off: make([]int, 0, out+1)}
	ax.off = append(ax.off, 0)
	crop := at.coord == "tf_crop_and_resize"
	if crop {
		ax.ext = make([]bool, out)
	}
	last := float32(in - 1)
	add := func(i int, w float64) {
		ax.idx = append(ax.idx, min(max(i, 0), in-1))
		ax.w = append(ax.w, w)
	}
	for j := 0; j < out; j++ {
		xo := originalCoord(at.coord, float32(j), scale, float32(out), float32(in), r0, r1)
		if crop && (xo < 0 || xo > last) {
			ax.ext[j] = true
			ax.off = append(ax.off, len(ax.idx))
			continue
		}
		switch {
		case at.mode == "nearest":
			add(nearestIndex(at.nearest, xo, scale < 1), 1)
		case at.antialias:
			resizeAntialiasTaps(&ax, at, xo, scale)
		case at.mode == "linear":
			xc := min(max(xo, 0), last)
			i0 := min(int(xc), in-1)
			r := float64(xc - float32(i0))
			if i0+1 > in-1 || r == 0 {
				add(i0, 1)
			} else {
				add(i0, 1-r)
				add(i0+1, r)
			}
		default: // cubic
			f := math.Floor(float64(xo))
			r := float64(xo) - f
			first := len(ax.idx)
			sum := 0.0
			for t := -1; t <= 2; t++ {
				i := int(f) + t
				w := cubicKernel(float64(t)-r, at.cubicA)
				if at.exclude && (i < 0 || i >= in) {
					w = 0
				}
				sum += w
				add(i, w)
			}
			if at.exclude && sum != 0 {
				for k := first; k < len(ax.w); k++ {
					ax.w[k] /= sum
				}
			}
		}
		ax.off = append(ax.off, len(ax.idx))
	}
	return ax
}

// resizeAntialiasTaps adds the taps of an antialiased linear or cubic
// resize at coordinate xo: the kernel stretched by 1/scale when
// downsampling, over the inputs it covers (edges repeated, or left out
// with exclude_outside), normalized to sum 1 (ONNX's reference).
func resizeAntialiasTaps(ax *resizeAxis, at resizeAttrs, xo, scale float32) {
	s := min(float64(scale), 1)
	support := 1.0
	kernel := func(d float64) float64 { return max(0, 1-math.Abs(d)) }
	if at.mode == "cubic" {
		support = 2
		kernel = func(d float64) float64 { return cubicKernel(d, at.cubicA) }
	}
	x := float64(xo)
	f := math.Floor(x)
	start := int(math.Floor(-support/s) + 1)
	first := len(ax.idx)
	sum := 0.0
	for t := start; t <= 1-start; t++ {
		i := int(f) + t
		w := kernel((float64(i) - x) * s)
		if at.exclude && (i < 0 || i >= ax.in) {
			w = 0
		}
		sum += w
		ax.idx = append(ax.idx, min(max(i, 0), ax.in-1))
		ax.w = append(ax.w, w)
	}
	if sum != 0 {
		for k := first; k < len(ax.w); k++ {
			ax.w[k] /= sum
		}
	}
}

// resizeRun applies the plan to x.
func resizeRun[T Float](p *resizePlan, x *tensor.Dense) (*tensor.Dense, error) {
	src, err := Data[T](x)
	if err != nil {
		return nil, err
	}
	cur := slices.Clone(p.inShape)
	if len(p.axes) == 0 {
		return Dense(p.outShape, slices.Clone(src)), nil
	}
	ext := T(p.extrap)
	for _, ax := range p.axes {
		outer, inner := prodInts(cur[:ax.axis]), prodInts(cur[ax.axis+1:])
		dst := make([]T, outer*ax.out*inner)
		parallelRange(outer, ax.out*inner*2, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				s := src[o*ax.in*inner:][:ax.in*inner]
				for j := 0; j < ax.out; j++ {
					d := dst[(o*ax.out+j)*inner:][:inner]
					if ax.ext != nil && ax.ext[j] {
						for k := range d {
							d[k] = ext
						}
						continue
					}
					t0, t1 := ax.off[j], ax.off[j+1]
					w, row := T(ax.w[t0]), s[ax.idx[t0]*inner:][:inner]
					for k := range d {
						d[k] = w * row[k]
					}
					for t := t0 + 1; t < t1; t++ {
						w, row := T(ax.w[t]), s[ax.idx[t]*inner:][:inner]
						for k := range d {
							d[k] += w * row[k]
						}
					}
				}
			}
		})
		src, cur[ax.axis] = dst, ax.out
	}
	return Dense(p.outShape, src), nil
}

// resizeBackRun is the transpose of resizeRun: dy spread back onto the
// taps each output read.
func resizeBackRun[T Float](p *resizePlan, dy *tensor.Dense) (*tensor.Dense, error) {
	g, err := Data[T](dy)
	if err != nil {
		return nil, err
	}
	if len(p.axes) == 0 {
		return Dense(p.inShape, slices.Clone(g)), nil
	}
	// shapes[i] is the shape step i reads.
	shapes := make([][]int, len(p.axes))
	cur := slices.Clone(p.inShape)
	for i, ax := range p.axes {
		shapes[i] = slices.Clone(cur)
		cur[ax.axis] = ax.out
	}
	for i := len(p.axes) - 1; i >= 0; i-- {
		ax, cur := p.axes[i], shapes[i]
		outer, inner := prodInts(cur[:ax.axis]), prodInts(cur[ax.axis+1:])
		dx := make([]T, outer*ax.in*inner)
		parallelRange(outer, ax.out*inner*2, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				d := dx[o*ax.in*inner:][:ax.in*inner]
				for j := 0; j < ax.out; j++ {
					if ax.ext != nil && ax.ext[j] {
						continue
					}
					gj := g[(o*ax.out+j)*inner:][:inner]
					for t := ax.off[j]; t < ax.off[j+1]; t++ {
						w, row := T(ax.w[t]), d[ax.idx[t]*inner:][:inner]
						for k := range row {
							row[k] += w * gj[k]
						}
					}
				}
			}
		})
		g = dx
	}
	return Dense(p.inShape, g), nil
}

// resizeGather is nearest resizing of a tensor of any element type.
func resizeGather(p *resizePlan, x *tensor.Dense) (*tensor.Dense, error) {
	switch d := x.Data().(type) {
	case []int64:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []int32:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []int16:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []int8:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []uint8:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []uint16:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []uint32:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []uint64:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	case []bool:
		return Dense(p.outShape, gatherPlan(p, d)), nil
	}
	return nil, fmt.Errorf("element type %v is not supported", x.Dtype())
}

func gatherPlan[T any](p *resizePlan, src []T) []T {
	cur := slices.Clone(p.inShape)
	src = slices.Clone(src)
	for _, ax := range p.axes {
		outer, inner := prodInts(cur[:ax.axis]), prodInts(cur[ax.axis+1:])
		dst := make([]T, outer*ax.out*inner)
		for o := 0; o < outer; o++ {
			for j := 0; j < ax.out; j++ {
				if ax.ext != nil && ax.ext[j] {
					continue // zero: extrapolation of a non-float tensor
				}
				copy(dst[(o*ax.out+j)*inner:][:inner], src[(o*ax.in+ax.idx[ax.off[j]])*inner:][:inner])
			}
		}
		src, cur[ax.axis] = dst, ax.out
	}
	return src
}

func prodInts(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
