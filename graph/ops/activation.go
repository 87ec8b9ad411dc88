package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Elementwise activations (Relu is in math.go), Clip, Softmax,
// LogSoftmax and PRelu. Each is differentiable w.r.t. its float input; Clip also
// w.r.t. float min and max inputs, as PyTorch's clamp is.

// actLower lowers an activation whose functions depend on the node's
// attributes: build returns the float32 and float64 forms of y = f(x) and of
// dy/dx as a function of x and y.
func actLower(name string, build func(c *Ctx) (func(float32) float32, func(float64) float64,
	func(x, y float32) float32, func(x, y float64) float64, error)) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("%s: missing input", name)
		}
		f32, f64, d32, d64, err := build(c)
		if err != nil {
			return nil, err
		}
		return lowerUnary(name, f32, f64, d32, d64)(c, in)
	}
}

// actFixed is actLower for an activation without attributes.
func actFixed(name string, f32 func(float32) float32, f64 func(float64) float64,
	d32 func(x, y float32) float32, d64 func(x, y float64) float64) LowerFunc {
	return actLower(name, func(*Ctx) (func(float32) float32, func(float64) float64,
		func(x, y float32) float32, func(x, y float64) float64, error) {
		return f32, f64, d32, d64, nil
	})
}

func actSigmoid[T Float](x T) T { return T(1 / (1 + math.Exp(-float64(x)))) }

func actSigmoidGrad[T Float](_, y T) T { return y * (1 - y) }

func actTanh[T Float](x T) T { return T(math.Tanh(float64(x))) }

func actTanhGrad[T Float](_, y T) T { return 1 - y*y }

// actSoftplus is log(1 + e^x), computed without overflow.
func actSoftplus[T Float](x T) T {
	v := float64(x)
	return T(max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))))
}

func actSoftplusGrad[T Float](x, _ T) T { return actSigmoid(x) }

// actMish is Mish-18: x * tanh(softplus(x)), PyTorch's nn.Mish.
func actMish[T Float](x T) T {
	v := float64(x)
	return T(v * math.Tanh(float64(actSoftplus(v))))
}

// actMishGrad is tanh(sp) + x * (1 - tanh(sp)^2) * sigmoid(x), sp =
// softplus(x).
func actMishGrad[T Float](x, _ T) T {
	v := float64(x)
	t := math.Tanh(actSoftplus(v))
	return T(t + v*(1-t*t)*actSigmoid(v))
}

func actErf[T Float](x T) T { return T(math.Erf(float64(x))) }

func actErfGrad[T Float](x, _ T) T {
	v := float64(x)
	return T(2 / math.Sqrt(math.Pi) * math.Exp(-v*v))
}

// HardSwish is x * HardSigmoid(x) with alpha 1/6, beta 0.5; its derivative
// is PyTorch's: 0 below -3, x/3 + 0.5 up to 3, 1 above.
func actHardSwish[T Float](x T) T { return x * min(max(x/6+0.5, 0), 1) }

func actHardSwishGrad[T Float](x, _ T) T {
	switch {
	case x < -3:
		return 0
	case x <= 3:
		return x/3 + 0.5
	}
	return 1
}

// actHardSigmoid is max(0, min(1, alpha*x + beta)); the derivative is alpha
// strictly inside the linear part (PyTorch's hardsigmoid_backward).
func actHardSigmoid[T Float](alpha, beta T) (func(T) T, func(x, y T) T) {
	return func(x T) T { return min(max(alpha*x+beta, 0), 1) },
		func(x, _ T) T {
			if v := alpha*x + beta; v > 0 && v < 1 {
				return alpha
			}
			return 0
		}
}

// actElu is x for x > 0, else alpha*(e^x - 1).
func actElu[T Float](alpha T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			if x > 0 {
				return x
			}
			return alpha * T(math.Expm1(float64(x)))
		}, func(x, y T) T {
			if x > 0 {
				return 1
			}
			return alpha * T(math.Exp(float64(x)))
		}
}

// actSelu is gamma*x for x > 0, else gamma*alpha*(e^x - 1).
func actSelu[T Float](alpha, gamma T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			if x > 0 {
				return gamma * x
			}
			return gamma * alpha * T(math.Expm1(float64(x)))
		}, func(x, _ T) T {
			if x > 0 {
				return gamma
			}
			return gamma * alpha * T(math.Exp(float64(x)))
		}
}

func actLeakyRelu[T Float](alpha T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			if x > 0 {
				return x
			}
			return alpha * x
		}, func(x, _ T) T {
			if x > 0 {
				return 1
			}
			return alpha
		}
}

// actGelu is x * Phi(x), exactly (erf) or with the tanh approximation.
func actGelu[T Float](approxTanh bool) (func(T) T, func(x, y T) T) {
	const (
		k = 0.7978845608028654 // sqrt(2/pi)
		c = 0.044715
	)
	if approxTanh {
		return func(x T) T {
				v := float64(x)
				return T(0.5 * v * (1 + math.Tanh(k*(v+c*v*v*v))))
			}, func(x, _ T) T {
				v := float64(x)
				t := math.Tanh(k * (v + c*v*v*v))
				return T(0.5*(1+t) + 0.5*v*(1-t*t)*k*(1+3*c*v*v))
			}
	}
	return func(x T) T {
			v := float64(x)
			return T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}, func(x, _ T) T {
			v := float64(x)
			return T(0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi))
		}
}

type actFuncs = func(c *Ctx) (func(float32) float32, func(float64) float64,
	func(x, y float32) float32, func(x, y float64) float64, error)

// actWith builds an activation's functions from a generic constructor and
// two float attributes (b unused when bName is "").
func actWith(aName string, aDef float32, bName string, bDef float32,
	mk32 func(a, b float32) (func(float32) float32, func(x, y float32) float32),
	mk64 func(a, b float64) (func(float64) float64, func(x, y float64) float64)) actFuncs {
	return func(c *Ctx) (func(float32) float32, func(float64) float64,
		func(x, y float32) float32, func(x, y float64) float64, error) {
		a := c.attrs().Float(aName, aDef)
		b := 0.0
		if bName != "" {
			b = c.attrs().Float(bName, bDef)
		}
		f32, d32 := mk32(float32(a), float32(b))
		f64, d64 := mk64(a, b)
		return f32, f64, d32, d64, nil
	}
}

func actGeluFuncs(c *Ctx) (func(float32) float32, func(float64) float64,
	func(x, y float32) float32, func(x, y float64) float64, error) {
	approx := c.attrs().String("approximate", "none")
	if approx != "none" && approx != "tanh" {
		return nil, nil, nil, nil, fmt.Errorf("approximate is %q, want \"none\" or \"tanh\"", approx)
	}
	f32, d32 := actGelu[float32](approx == "tanh")
	if approx == "none" {
		f32, d32 = gelu32, gelu32Grad // float32 arithmetic (fastmath.go)
	}
	f64, d64 := actGelu[float64](approx == "tanh")
	return f32, f64, d32, d64, nil
}

// lowerGelu lowers Gelu; the exact (erf) form of float32 tensors runs the
// vector loops of geluSlice32 and geluGradSlice32 (gelu32 and gelu32Grad
// bit for bit).
func lowerGelu(c *Ctx, in []*Value) ([]*Value, error) {
	const name = "Gelu"
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("%s: missing input", name)
	}
	f32, f64, d32, d64, err := actGeluFuncs(c)
	if err != nil {
		return nil, err
	}
	if c.attrs().String("approximate", "none") == "none" {
		return lowerUnaryVec(name, f32, f64, d32, d64, geluSlice32, geluGradSlice32)(c, in)
	}
	return lowerUnary(name, f32, f64, d32, d64)(c, in)
}

func registerActivations(r *Registry) {
	r.add(OpInfo{Name: "Sigmoid", Differentiable: true, Lower: lowerSigmoid})
	r.add(OpInfo{Name: "Tanh", Differentiable: true, Lower: actFixed("Tanh", actTanh[float32], actTanh[float64], actTanhGrad[float32], actTanhGrad[float64])})
	r.add(OpInfo{Name: "Softplus", Differentiable: true, Lower: actFixed("Softplus", actSoftplus[float32], actSoftplus[float64], actSoftplusGrad[float32], actSoftplusGrad[float64])})
	r.add(OpInfo{Name: "Mish", Differentiable: true, Lower: actFixed("Mish", actMish[float32], actMish[float64], actMishGrad[float32], actMishGrad[float64])})
	r.add(OpInfo{Name: "Erf", Differentiable: true, Lower: actFixed("Erf", actErf[float32], actErf[float64], actErfGrad[float32], actErfGrad[float64])})
	r.add(OpInfo{Name: "HardSwish", Differentiable: true, Lower: actFixed("HardSwish", actHardSwish[float32], actHardSwish[float64], actHardSwishGrad[float32], actHardSwishGrad[float64])})
	r.add(OpInfo{Name: "HardSigmoid", Differentiable: true, Lower: actLower("HardSigmoid", actWith("alpha", 0.2, "beta", 0.5, actHardSigmoid[float32], actHardSigmoid[float64]))})
	r.add(OpInfo{Name: "Elu", Differentiable: true, Lower: actLower("Elu", actWith("alpha", 1, "", 0,
		func(a, _ float32) (func(float32) float32, func(x, y float32) float32) { return actElu(a) },
		func(a, _ float64) (func(float64) float64, func(x, y float64) float64) { return actElu(a) }))})
	r.add(OpInfo{Name: "Selu", Differentiable: true, Lower: actLower("Selu", actWith("alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875,
		actSelu[float32], actSelu[float64]))})
	r.add(OpInfo{Name: "LeakyRelu", Differentiable: true, Lower: actLower("LeakyRelu", actWith("alpha", 0.01, "", 0,
		func(a, _ float32) (func(float32) float32, func(x, y float32) float32) { return actLeakyRelu(a) },
		func(a, _ float64) (func(float64) float64, func(x, y float64) float64) { return actLeakyRelu(a) }))})
	r.add(OpInfo{Name: "Gelu", Differentiable: true, Lower: lowerGelu})
	r.add(OpInfo{Name: "Clip", Differentiable: true, Lower: lowerClip})
	r.add(OpInfo{Name: "Softmax", Differentiable: true, Lower: lowerSoftmax(false)})
	r.add(OpInfo{Name: "LogSoftmax", Differentiable: true, Lower: lowerSoftmax(true)})
	// PRelu's slope is PyTorch's nn.PReLU weight.
	r.add(OpInfo{Name: "PRelu", Differentiable: true, Lower: lowerPRelu,
		Params: []graph.ParamSlot{{Input: 1, Suffix: "weight"}}})
}

// lowerPRelu: y = x where x >= 0, slope * x elsewhere, the slope broadcast
// unidirectionally to x (PRelu-9+; PyTorch exports nn.PReLU's [C] weight
// reshaped to [C, 1, 1]). Differentiable w.r.t. x and slope.
func lowerPRelu(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("PRelu: want inputs X and slope")
	}
	x, slope := in[0], in[1]
	if x.DType != slope.DType {
		return nil, fmt.Errorf("PRelu: X is %s, slope is %s", x.DType, slope.DType)
	}
	if c.Opset < 7 && len(slope.Shape) == 1 && len(x.Shape) > 2 && slope.Shape[0] == x.Shape[1] && slope.Shape[0] > 1 {
		// Before opset 7 a slope of one value per channel applies to
		// axis 1 (PyTorch 0.3's nn.PReLU(C)), not by numpy's rules.
		shape := make([]int, len(x.Shape)-1)
		for i := range shape {
			shape[i] = 1
		}
		shape[0] = slope.Shape[0]
		var err error
		if slope, err = applyReshape(c, "PRelu slope", slope, shape); err != nil {
			return nil, err
		}
	}
	if shape, err := BroadcastShape(x.Shape, slope.Shape); err != nil || !sameInts(shape, x.Shape) {
		return nil, fmt.Errorf("PRelu: slope %v does not broadcast to X %v", slope.Shape, x.Shape)
	}
	s := Spec{Name: "PRelu", Shape: x.Shape, DType: x.DType, Fwd: dispatch(byType[Kernel]{
		Float32: binaryOn(prelu[float32]), Float64: binaryOn(prelu[float64]),
		Int32: binaryOn(prelu[int32]), Int64: binaryOn(prelu[int64]),
	})}
	if x.DType.IsFloat() {
		s.Grad, s.WRT = preluGrad, []bool{true, true}
	}
	out, err := c.Apply(s, x, slope)
	return []*Value{out}, err
}

func prelu[T Number](x, slope T) T {
	if x < 0 {
		return slope * x
	}
	return x
}

// preluGrad follows PyTorch's prelu backward: x gets dy where x > 0 and
// slope * dy elsewhere (x = 0 included); the slope gets x * dy where
// x <= 0, summed back to its shape.
func preluGrad(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, slope := inputs[0], inputs[1]
	key := output.Name()
	gx, err := NewNode(grad.Graph(), key+"/gradX", Spec{Name: "PReluGradX", Shape: ShapeOf(x), DType: DTypeOf(x),
		Fwd: floats(preluGradOf[float32](nil), preluGradOf[float64](nil))}, grad, x, slope)
	if err != nil {
		return nil, err
	}
	to := ShapeOf(slope)
	gs, err := NewNode(grad.Graph(), key+"/gradSlope", Spec{Name: "PReluGradSlope", Shape: to, DType: DTypeOf(slope),
		Fwd: floats(preluGradOf[float32](to), preluGradOf[float64](to))}, grad, x, slope)
	return G.Nodes{gx, gs}, err
}

// preluGradOf gets (dy, x, slope) and returns x's gradient (to == nil) or
// the slope's, of shape to.
func preluGradOf[T Float](to []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy, x := d[0], d[1]
		sx := Shape(in[1])
		// The slope at every position of x.
		sb, _, err := Binary(x, d[2], sx, Shape(in[2]), func(_, s T) T { return s })
		if err != nil {
			return nil, err
		}
		out := make([]T, len(x))
		for i, v := range x {
			switch {
			case to == nil && v > 0:
				out[i] = dy[i]
			case to == nil:
				out[i] = sb[i] * dy[i]
			case v <= 0:
				out[i] = v * dy[i]
			}
		}
		if to == nil {
			return Dense(sx, out), nil
		}
		return Dense(to, SumTo(out, sx, to)), nil
	}
}

// lowerClip handles Clip-6 (min and max attributes) and Clip-11+ (optional
// min and max inputs, scalars, possibly computed by the graph).
func lowerClip(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("missing input")
	}
	x := in[0]
	var lo, hi *Value
	if c.Opset < 11 {
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input of type %s: before opset 11 Clip wants a float type", x.DType)
		}
		bound := func(name string, def float32) (*Value, error) {
			v := c.attrs().Float(name, def)
			if x.DType == graph.Float64 {
				return ConstValue(tensor.New(tensor.FromScalar(v)))
			}
			return ConstValue(tensor.New(tensor.FromScalar(float32(v))))
		}
		var err error
		if lo, err = bound("min", -math.MaxFloat32); err != nil {
			return nil, err
		}
		if hi, err = bound("max", math.MaxFloat32); err != nil {
			return nil, err
		}
	} else {
		lo, hi = input(in, 1), input(in, 2)
	}
	cs := clipSpec{lo: lo != nil, hi: hi != nil}
	args := []*Value{x}
	for i, b := range []*Value{lo, hi} {
		if b == nil {
			continue
		}
		if b.Size() != 1 {
			return nil, fmt.Errorf("%s has shape %v, want a scalar", [2]string{"min", "max"}[i], b.Shape)
		}
		if b.DType != x.DType {
			return nil, fmt.Errorf("%s is %s, input is %s", [2]string{"min", "max"}[i], b.DType, x.DType)
		}
		if b.IsConst() {
			// Known bounds (PyTorch's exports) live in the kernel.
			if i == 0 {
				cs.loC = b.Const
			} else {
				cs.hiC = b.Const
			}
			continue
		}
		args = append(args, b)
	}
	s := Spec{Name: "Clip", Shape: x.Shape, DType: x.DType, Fwd: clipKernel(cs)}
	if x.DType.IsFloat() {
		s.WRT = make([]bool, len(args))
		for i := range s.WRT {
			s.WRT[i] = true
		}
		s.Grad = clipGrad(cs)
	}
	out, err := c.Apply(s, args...)
	return []*Value{out}, err
}

// clipSpec says where Clip's bounds come from: absent, a constant known at
// compile time, or a graph value that follows x among the kernel's inputs
// (min first).
type clipSpec struct {
	lo, hi   bool          // present
	loC, hiC *tensor.Dense // constant value, or nil when an input
}

// clipKernel clamps in[0] to [min, max] (each bound present or not); when
// min > max every element becomes max, as ONNX says.
func clipKernel(cs clipSpec) Kernel {
	return dispatch(byType[Kernel]{
		Float32: clipOf[float32](cs), Float64: clipOf[float64](cs), Int64: clipOf[int64](cs),
		Int32: clipOf[int32](cs), Int8: clipOf[int8](cs), Uint8: clipOf[uint8](cs),
	})
}

// clipBounds reads the bounds: constants, or the inputs after in[0].
func clipBounds[T Number](in []*tensor.Dense, cs clipSpec) (lo, hi T, err error) {
	k := 1
	read := func(c *tensor.Dense) (T, error) {
		if c == nil {
			if k >= len(in) {
				var zero T
				return zero, fmt.Errorf("bound input %d is missing", k)
			}
			c = in[k]
			k++
		}
		v, err := Data[T](c)
		if err != nil {
			var zero T
			return zero, err
		}
		return v[0], nil
	}
	if cs.lo {
		if lo, err = read(cs.loC); err != nil {
			return lo, hi, err
		}
	}
	if cs.hi {
		hi, err = read(cs.hiC)
	}
	return lo, hi, err
}

func clipOf[T Number](cs clipSpec) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		lo, hi, err := clipBounds[T](in, cs)
		if err != nil {
			return nil, err
		}
		out := make([]T, len(x))
		switch {
		case cs.lo && cs.hi:
			for i, v := range x {
				out[i] = min(max(v, lo), hi)
			}
		case cs.lo:
			for i, v := range x {
				out[i] = max(v, lo)
			}
		case cs.hi:
			for i, v := range x {
				out[i] = min(v, hi)
			}
		default:
			copy(out, x)
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// clipGrad follows PyTorch's clamp: x gets the gradient where
// min <= x <= max, min where x < min, max where x > max (max gets all of it
// when min > max, since the output is then max everywhere). Inputs are x and
// the bounds that are graph values.
func clipGrad(cs clipSpec) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		key := output.Name()
		args := append(G.Nodes{grad}, inputs...)
		out := make(G.Nodes, len(inputs))
		var err error
		if out[0], err = NewNode(grad.Graph(), key+"/gradX", Spec{Name: "ClipGrad", Shape: ShapeOf(inputs[0]),
			DType: DTypeOf(inputs[0]), Fwd: clipGradKernel(cs, 0, nil)}, args...); err != nil {
			return nil, err
		}
		k := 1
		for part, fromInput := range []bool{cs.lo && cs.loC == nil, cs.hi && cs.hiC == nil} {
			if !fromInput {
				continue
			}
			shape := ShapeOf(inputs[k])
			if out[k], err = NewNode(grad.Graph(), fmt.Sprintf("%s/gradBound%d", key, part), Spec{Name: "ClipGradBound",
				Shape: shape, DType: DTypeOf(inputs[k]), Fwd: clipGradKernel(cs, part+1, shape)}, args...); err != nil {
				return nil, err
			}
			k++
		}
		return out, nil
	}
}

// clipGradKernel gets (dy, x, bound inputs...) and returns the gradient of
// x (part 0), of min (1) or of max (2, of the given shape).
func clipGradKernel(cs clipSpec, part int, shape []int) Kernel {
	return floats(clipGradOf[float32](cs, part, shape), clipGradOf[float64](cs, part, shape))
}

func clipGradOf[T Float](cs clipSpec, part int, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, x, err := data2[T](in)
		if err != nil {
			return nil, err
		}
		lo, hi, err := clipBounds[T](in[1:], cs)
		if err != nil {
			return nil, err
		}
		if !cs.lo {
			lo = T(math.Inf(-1))
		}
		if !cs.hi {
			hi = T(math.Inf(1))
		}
		crossed := lo > hi
		if part == 0 {
			out := make([]T, len(x))
			if !crossed {
				for i, v := range x {
					if v >= lo && v <= hi {
						out[i] = dy[i]
					}
				}
			}
			return Dense(Shape(in[1]), out), nil
		}
		var s T
		for i, v := range x {
			switch {
			case part == 2 && crossed:
				s += dy[i]
			case crossed:
			case part == 1 && v < lo, part == 2 && v > hi:
				s += dy[i]
			}
		}
		return Dense(shape, []T{s}), nil
	}
}

// lowerSoftmax lowers Softmax or LogSoftmax. Before opset 13 the input is
// seen as 2-D, [prod(shape[:axis]), prod(shape[axis:])], axis default 1;
// from 13 the op runs along one axis, default -1.
func lowerSoftmax(logOf bool) LowerFunc {
	name := "Softmax"
	if logOf {
		name = "LogSoftmax"
	}
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("%s: missing input", name)
		}
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("%s of %s", name, x.DType)
		}
		r := x.Rank()
		legacy := c.Opset < 13
		def := int64(-1)
		if legacy {
			def = 1
		}
		axis := int(c.attrs().Int("axis", def))
		hiAxis := r - 1
		if legacy {
			hiAxis = r
		}
		if axis < -r || axis > hiAxis {
			return nil, fmt.Errorf("%s: axis %d out of range for rank %d", name, axis, r)
		}
		if axis < 0 {
			axis += r
		}
		outer, n, inner := sizeOf(x.Shape[:axis]), 1, 1
		if legacy {
			n = sizeOf(x.Shape[axis:])
		} else {
			n, inner = x.Shape[axis], sizeOf(x.Shape[axis+1:])
		}
		lay := smxLayout{outer: outer, n: n, inner: inner}
		s := Spec{Name: name, Shape: x.Shape, DType: x.DType, Into: smxInto(lay, logOf), Overwrites: true, WRT: []bool{true}}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			g, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Into: smxGradInto(lay, logOf), Overwrites: true}, grad, output)
			return G.Nodes{g}, err
		}
		out, err := c.Apply(s, x)
		return []*Value{out}, err
	}
}

// smxLayout views a tensor as [outer, n, inner]; the op runs along n.
type smxLayout struct{ outer, n, inner int }

// smxInto computes Softmax or LogSoftmax into a kept buffer.
func smxInto(l smxLayout, logOf bool) IntoKernel {
	return bodiesInto(smxOf[float32](l, logOf), smxOf[float64](l, logOf))
}

// smxOf computes a numerically stable softmax or log-softmax: the maximum
// is subtracted before exponentiating.
func smxOf[T Float](l smxLayout, logOf bool) func(in [][]T, out []T) {
	return func(in [][]T, out []T) {
		x := in[0]
		// Rows (o, j) are independent: split across the cores, each
		// computed as the serial loop did.
		parallelRange(l.outer*l.inner, 16*l.n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				o, j := r/l.inner, r%l.inner
				base := o*l.n*l.inner + j
				m := x[base]
				for k := 1; k < l.n; k++ {
					m = max(m, x[base+k*l.inner])
				}
				sum := 0.0
				for k := 0; k < l.n; k++ {
					i := base + k*l.inner
					e := math.Exp(float64(x[i] - m))
					if !logOf {
						out[i] = T(e)
					}
					sum += e
				}
				if logOf {
					ls := T(math.Log(sum))
					for k := 0; k < l.n; k++ {
						i := base + k*l.inner
						out[i] = x[i] - m - ls
					}
				} else {
					inv := T(1 / sum)
					for k := 0; k < l.n; k++ {
						out[base+k*l.inner] *= inv
					}
				}
			}
		})
	}
}

// smxGradInto gets (dy, y): softmax dx = y*(dy - sum(dy*y)); log-softmax
// dx = dy - exp(y)*sum(dy).
func smxGradInto(l smxLayout, logOf bool) IntoKernel {
	return bodiesInto(smxGradOf[float32](l, logOf), smxGradOf[float64](l, logOf))
}

func smxGradOf[T Float](l smxLayout, logOf bool) func(in [][]T, out []T) {
	return func(in [][]T, out []T) {
		dy, y := in[0], in[1]
		parallelRange(l.outer*l.inner, 4*l.n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				o, j := r/l.inner, r%l.inner
				base := o*l.n*l.inner + j
				var s T
				for k := 0; k < l.n; k++ {
					i := base + k*l.inner
					if logOf {
						s += dy[i]
					} else {
						s += dy[i] * y[i]
					}
				}
				for k := 0; k < l.n; k++ {
					i := base + k*l.inner
					if logOf {
						out[i] = dy[i] - T(math.Exp(float64(y[i])))*s
					} else {
						out[i] = y[i] * (dy[i] - s)
					}
				}
			}
		})
	}
}
