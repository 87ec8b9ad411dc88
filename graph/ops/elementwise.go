package ops

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func registerElementwise(r *Registry) {
	r.add(OpInfo{Name: "Pow", Differentiable: true, Lower: lowerPow})
	r.add(OpInfo{Name: "Sqrt", Differentiable: true, Lower: lowerUnary("Sqrt",
		func(x float32) float32 { return float32(math.Sqrt(float64(x))) }, math.Sqrt,
		func(_, y float32) float32 { return 0.5 / y }, func(_, y float64) float64 { return 0.5 / y })})
	r.add(OpInfo{Name: "Exp", Differentiable: true, Lower: lowerUnary("Exp",
		func(x float32) float32 { return float32(math.Exp(float64(x))) }, math.Exp,
		func(_, y float32) float32 { return y }, func(_, y float64) float64 { return y })})
	r.add(OpInfo{Name: "Log", Differentiable: true, Lower: lowerUnary("Log",
		func(x float32) float32 { return float32(math.Log(float64(x))) }, math.Log,
		func(x, _ float32) float32 { return 1 / x }, func(x, _ float64) float64 { return 1 / x })})
	r.add(OpInfo{Name: "Reciprocal", Differentiable: true, Lower: lowerUnary("Reciprocal",
		func(x float32) float32 { return 1 / x }, func(x float64) float64 { return 1 / x },
		func(_, y float32) float32 { return -y * y }, func(_, y float64) float64 { return -y * y })})
	r.add(OpInfo{Name: "Neg", Differentiable: true, Lower: lowerSignedUnary("Neg", lowerUnary("Neg",
		func(x float32) float32 { return -x }, func(x float64) float64 { return -x },
		func(_, _ float32) float32 { return -1 }, func(_, _ float64) float64 { return -1 }))})
	// Abs: the gradient is sign(x), 0 at 0 (PyTorch's sgn).
	r.add(OpInfo{Name: "Abs", Differentiable: true, Lower: lowerSignedUnary("Abs", lowerUnary("Abs",
		func(x float32) float32 { return float32(math.Abs(float64(x))) }, math.Abs,
		func(x, _ float32) float32 { return signOf(x) }, func(x, _ float64) float64 { return signOf(x) }))})
	r.add(OpInfo{Name: "Floor", Lower: lowerRounding("Floor", math.Floor)})
	r.add(OpInfo{Name: "Ceil", Lower: lowerRounding("Ceil", math.Ceil)})
	for _, name := range []string{"Sum", "Mean", "Max", "Min"} {
		r.add(OpInfo{Name: name, Differentiable: true, Lower: lowerVariadic(name)})
	}
	for _, name := range []string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		r.add(OpInfo{Name: name, Lower: lowerCompare(name)})
	}
	r.add(OpInfo{Name: "Not", Lower: lowerNot})
	for _, name := range []string{"And", "Or", "Xor"} {
		r.add(OpInfo{Name: name, Lower: lowerLogical(name)})
	}
	r.add(OpInfo{Name: "Mod", Lower: lowerMod})
	r.add(OpInfo{Name: "Where", Differentiable: true, Lower: lowerWhere})
	r.add(OpInfo{Name: "Cast", Differentiable: true, Lower: lowerCast})
	r.add(OpInfo{Name: "CastLike", Differentiable: true, Lower: lowerCastLike})
}

func signOf[T Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// zipBroadcast applies f to the elements of a and b broadcast together (numpy
// rules), for any element types: comparisons, logic, Pow's mixed types.
func zipBroadcast[A, B, R any](a []A, b []B, sa, sb []int, f func(x A, y B) R) ([]R, []int, error) {
	out, err := BroadcastShape(sa, sb)
	if err != nil {
		return nil, nil, err
	}
	n := sizeOf(out)
	res := make([]R, n)
	if sameInts(sa, sb) {
		for i := range res {
			res[i] = f(a[i], b[i])
		}
		return res, out, nil
	}
	if len(b) == 1 && sameInts(sa, out) {
		y := b[0]
		for i := range res {
			res[i] = f(a[i], y)
		}
		return res, out, nil
	}
	zipStrided(res, a, b, sa, sb, out, f)
	return res, out, nil
}

// zipStrided sets res[i] = f(a[ia], b[ib]) over out's elements in order, a
// and b (of shapes sa and sb) broadcast to out.
func zipStrided[A, B, R any](res []R, a []A, b []B, sa, sb, out []int, f func(x A, y B) R) {
	stA, stB := bstrides(sa, out), bstrides(sb, out)
	idx := make([]int, len(out))
	ia, ib := 0, 0
	for i := range res {
		res[i] = f(a[ia], b[ib])
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			ia += stA[d]
			ib += stB[d]
			if idx[d] < out[d] {
				break
			}
			ia -= stA[d] * out[d]
			ib -= stB[d] * out[d]
			idx[d] = 0
		}
	}
}

// ---- Neg, Abs on integers; Floor, Ceil ----

// lowerSignedUnary uses flt for float inputs and an integer kernel (no
// gradient) otherwise: Neg and Abs appear in index arithmetic.
func lowerSignedUnary(name string, flt LowerFunc) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if x.DType.IsFloat() {
			return flt(c, in)
		}
		out, err := c.Apply(Spec{Name: name, Shape: x.Shape, DType: x.DType, Fwd: intUnaryKernel(name)}, x)
		return []*Value{out}, err
	}
}

func intUnaryKernel(name string) Kernel {
	return dispatch(byType[Kernel]{
		Int64: intUnaryRun[int64](name), Int32: intUnaryRun[int32](name),
		Int16: intUnaryRun[int16](name), Int8: intUnaryRun[int8](name),
		Uint64: intUnaryRun[uint64](name), Uint32: intUnaryRun[uint32](name),
		Uint16: intUnaryRun[uint16](name), Uint8: intUnaryRun[uint8](name),
	})
}

func intUnaryRun[T Integer](name string) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]T, len(x))
		for i, v := range x {
			if name == "Neg" || v < 0 {
				v = -v
			}
			out[i] = v
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// lowerRounding lowers Floor and Ceil: float only, no gradient (PyTorch's is
// zero almost everywhere).
func lowerRounding(name string, f func(float64) float64) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input is %s, want a float tensor", x.DType)
		}
		fwd := unary(func(v float32) float32 { return float32(f(float64(v))) }, f)
		out, err := c.Apply(Spec{Name: name, Shape: x.Shape, DType: x.DType, Fwd: fwd}, x)
		return []*Value{out}, err
	}
}

// ---- Pow ----

// lowerPow: X^Y with broadcasting; Y may have another numeric type than X
// (opset 12+), the result has X's type. Gradients as PyTorch: for the base
// Y*X^(Y-1), 0 where Y == 0; for the exponent X^Y*ln(X), 0 where X == 0 and
// Y >= 0.
func lowerPow(c *Ctx, in []*Value) ([]*Value, error) {
	x, y := in[0], in[1]
	shape, err := BroadcastShape(x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	s := Spec{Name: "Pow", Shape: shape, DType: x.DType, Fwd: powKernel}
	if x.DType.IsFloat() {
		s.WRT = []bool{true, y.DType.IsFloat()}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			sx, sy := ShapeOf(inputs[0]), ShapeOf(inputs[1])
			gx, err := NewNode(grad.Graph(), output.Name()+"/GradBase", Spec{Name: "PowGradBase", Shape: sx,
				DType: DTypeOf(inputs[0]), Fwd: powGradKernel(true, shape, sx, DTypeOf(inputs[0]))}, grad, inputs[0], inputs[1])
			if err != nil {
				return nil, err
			}
			grads := G.Nodes{gx, nil}
			if DTypeOf(inputs[1]).IsFloat() {
				grads[1], err = NewNode(grad.Graph(), output.Name()+"/GradExponent", Spec{Name: "PowGradExponent", Shape: sy,
					DType: DTypeOf(inputs[1]), Fwd: powGradKernel(false, shape, sy, DTypeOf(inputs[1]))}, grad, inputs[0], inputs[1])
			}
			return grads, err
		}
	}
	out, err := c.Apply(s, x, y)
	return []*Value{out}, err
}

func powKernel(in []*tensor.Dense) (*tensor.Dense, error) {
	x, y := in[0], in[1]
	switch {
	case x.Dtype() == tensor.Float32 && y.Dtype() == tensor.Float32:
		return powSame[float32](x, y)
	case x.Dtype() == tensor.Float64 && y.Dtype() == tensor.Float64:
		return powSame[float64](x, y)
	}
	xd, err := fromTensorDtype(x.Dtype())
	if err != nil {
		return nil, err
	}
	yd, err := fromTensorDtype(y.Dtype())
	if err != nil {
		return nil, err
	}
	if xd == graph.Bool || yd == graph.Bool {
		return nil, fmt.Errorf("element types %s and %s are not supported", xd, yd)
	}
	if !xd.IsFloat() && !yd.IsFloat() {
		// Integers: exact, wrapping like numpy.
		xs, err := castKernel(graph.Int64)([]*tensor.Dense{x})
		if err != nil {
			return nil, err
		}
		ys, err := castKernel(graph.Int64)([]*tensor.Dense{y})
		if err != nil {
			return nil, err
		}
		a, _ := Data[int64](xs)
		b, _ := Data[int64](ys)
		r, shape, err := Binary(a, b, Shape(x), Shape(y), intPow)
		if err != nil {
			return nil, err
		}
		return castKernel(xd)([]*tensor.Dense{Dense(shape, r)})
	}
	if (xd == graph.Float32 || xd == graph.Float64) && !yd.IsFloat() {
		// A float base and an integer exponent: the exponent is converted
		// to the base's type, and the power computed natively.
		ys, err := castKernel(xd)([]*tensor.Dense{y})
		if err != nil {
			return nil, err
		}
		if xd == graph.Float32 {
			return powSame[float32](x, ys)
		}
		return powSame[float64](x, ys)
	}
	xs, err := castKernel(graph.Float64)([]*tensor.Dense{x})
	if err != nil {
		return nil, err
	}
	ys, err := castKernel(graph.Float64)([]*tensor.Dense{y})
	if err != nil {
		return nil, err
	}
	r, err := powSame[float64](xs, ys)
	if err != nil {
		return nil, err
	}
	return castKernel(xd)([]*tensor.Dense{r})
}

func intPow(x, y int64) int64 {
	if y < 0 {
		switch x {
		case 1:
			return 1
		case -1:
			if y%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r := int64(1)
	for y > 0 {
		if y&1 == 1 {
			r *= x
		}
		x *= x
		y >>= 1
	}
	return r
}

// powSame computes X^Y in X's own precision; a scalar exponent 2 (the
// variance in LayerNorm subgraphs) is a product.
func powSame[T Float](x, y *tensor.Dense) (*tensor.Dense, error) {
	a, err := Data[T](x)
	if err != nil {
		return nil, err
	}
	b, err := Data[T](y)
	if err != nil {
		return nil, err
	}
	f := func(u, v T) T { return T(math.Pow(float64(u), float64(v))) }
	if len(b) == 1 {
		switch b[0] {
		case 1:
			f = func(u, _ T) T { return u }
		case 2:
			f = func(u, _ T) T { return u * u }
		}
	}
	r, shape, err := Binary(a, b, Shape(x), Shape(y), f)
	if err != nil {
		return nil, err
	}
	return Dense(shape, r), nil
}

// powGradKernel: inputs (dY, X, Y); the gradient of the base (base) or of
// the exponent, summed to shape to and given as type dt.
func powGradKernel(base bool, out, to []int, dt graph.DType) Kernel {
	return floats(powGradRun[float32](base, out, to, dt), powGradRun[float64](base, out, to, dt))
}

func powGradRun[T Float](base bool, out, to []int, dt graph.DType) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		var zero T
		tt := dtypeOfSlice([]T(nil))
		dy, x, err := data2[T](in)
		if err != nil {
			return nil, err
		}
		yt := in[2]
		if yt.Dtype() != in[0].Dtype() {
			if yt, err = castKernel(tt)([]*tensor.Dense{yt}); err != nil {
				return nil, err
			}
		}
		y, _ := Data[T](yt)
		var f func(u, v T) T
		switch {
		case base && len(y) == 1 && y[0] == 2:
			f = func(u, _ T) T { return 2 * u }
		case base:
			f = func(u, v T) T {
				if v == 0 {
					return zero
				}
				return v * T(math.Pow(float64(u), float64(v-1)))
			}
		default:
			f = func(u, v T) T {
				if u == 0 && v >= 0 {
					return zero
				}
				return T(math.Pow(float64(u), float64(v)) * math.Log(float64(u)))
			}
		}
		d, _, err := Binary(x, y, Shape(in[1]), Shape(yt), f)
		if err != nil {
			return nil, err
		}
		for i := range d {
			d[i] *= dy[i]
		}
		r := Dense(to, SumTo(d, out, to))
		if dt != tt {
			return castKernel(dt)([]*tensor.Dense{r})
		}
		return r, nil
	}
}

// dtypeOfSlice is the element type of a float slice type.
func dtypeOfSlice[T Float](_ []T) graph.DType {
	var z T
	if _, ok := any(z).(float32); ok {
		return graph.Float32
	}
	return graph.Float64
}

// ---- Sum, Mean, Max, Min ----

// lowerVariadic lowers Sum, Mean, Max and Min of any number of inputs with
// broadcasting. Max and Min send the gradient to the input that wins; on a
// tie it is split evenly between the inputs that hold the extreme, as
// PyTorch's maximum/minimum do for two inputs.
func lowerVariadic(name string) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		var args []*Value
		for _, v := range in {
			if v != nil {
				args = append(args, v)
			}
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("want at least one input")
		}
		shape := args[0].Shape
		for _, v := range args[1:] {
			if v.DType != args[0].DType {
				return nil, fmt.Errorf("inputs of types %s and %s: want one type", args[0].DType, v.DType)
			}
			var err error
			if shape, err = BroadcastShape(shape, v.Shape); err != nil {
				return nil, err
			}
		}
		dt := args[0].DType
		if (name == "Sum" || name == "Mean") && !dt.IsFloat() && dt != graph.Int64 && dt != graph.Int32 {
			return nil, fmt.Errorf("element type %s is not supported", dt)
		}
		s := Spec{Name: name, Shape: shape, DType: dt, Fwd: variadicKernel(name)}
		if dt.IsFloat() {
			s.WRT = make([]bool, len(args))
			for i := range s.WRT {
				s.WRT[i] = true
			}
			s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				grads := make(G.Nodes, len(inputs))
				for i, x := range inputs {
					args := G.Nodes{grad}
					if name == "Max" || name == "Min" {
						args = append(G.Nodes{grad, output}, inputs...)
					}
					var err error
					grads[i], err = NewNode(grad.Graph(), fmt.Sprintf("%s/Grad%d", output.Name(), i), Spec{Name: name + "Grad",
						Shape: ShapeOf(x), DType: DTypeOf(x), Fwd: variadicGradKernel(name, i, len(inputs), shape, ShapeOf(x))}, args...)
					if err != nil {
						return nil, err
					}
				}
				return grads, nil
			}
		}
		out, err := c.Apply(s, args...)
		return []*Value{out}, err
	}
}

func variadicKernel(name string) Kernel {
	return dispatch(byType[Kernel]{
		Float32: variadicRun[float32](name), Float64: variadicRun[float64](name),
		Int64: variadicRun[int64](name), Int32: variadicRun[int32](name),
		Int16: variadicRun[int16](name), Int8: variadicRun[int8](name),
		Uint64: variadicRun[uint64](name), Uint32: variadicRun[uint32](name),
		Uint16: variadicRun[uint16](name), Uint8: variadicRun[uint8](name),
	})
}

func variadicRun[T Number](name string) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		acc, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		shape := Shape(in[0])
		if len(in) == 1 {
			acc = append([]T(nil), acc...)
		}
		var f func(x, y T) T
		switch name {
		case "Max":
			f = func(x, y T) T { return max(x, y) }
		case "Min":
			f = func(x, y T) T { return min(x, y) }
		default:
			f = func(x, y T) T { return x + y }
		}
		for _, t := range in[1:] {
			x, err := Data[T](t)
			if err != nil {
				return nil, err
			}
			if acc, shape, err = Binary(acc, x, shape, Shape(t), f); err != nil {
				return nil, err
			}
		}
		if name == "Mean" {
			n := T(len(in))
			for i := range acc {
				acc[i] /= n
			}
		}
		return Dense(shape, acc), nil
	}
}

// variadicGradKernel: the gradient of input i of n. Inputs (dY) for Sum and
// Mean, (dY, Y, X_0..X_n-1) for Max and Min.
func variadicGradKernel(name string, i, n int, out, to []int) Kernel {
	return floats(variadicGradRun[float32](name, i, n, out, to), variadicGradRun[float64](name, i, n, out, to))
}

func variadicGradRun[T Float](name string, i, n int, out, to []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		switch name {
		case "Sum":
			return Dense(to, SumTo(dy, out, to)), nil
		case "Mean":
			r := SumTo(dy, out, to)
			for j := range r {
				r[j] /= T(n)
			}
			return Dense(to, r), nil
		}
		y, err := Data[T](in[1])
		if err != nil {
			return nil, err
		}
		eq := func(a, b T) T {
			if a == b {
				return 1
			}
			return 0
		}
		count := make([]T, len(y))
		var mine []T
		for j, t := range in[2:] {
			x, err := Data[T](t)
			if err != nil {
				return nil, err
			}
			m, _, err := Binary(y, x, out, Shape(t), eq)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				count[k] += v
			}
			if j == i {
				mine = m
			}
		}
		g := make([]T, len(dy))
		for k := range g {
			if mine[k] != 0 {
				g[k] = dy[k] / count[k]
			}
		}
		return Dense(to, SumTo(g, out, to)), nil
	}
}

// ---- comparisons and logic ----

func lowerCompare(name string) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		a, b := in[0], in[1]
		if a.DType != b.DType {
			return nil, fmt.Errorf("inputs of types %s and %s: want one type", a.DType, b.DType)
		}
		if a.DType == graph.Bool && name != "Equal" {
			return nil, fmt.Errorf("bool inputs are not supported")
		}
		shape, err := BroadcastShape(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		out, err := c.Apply(Spec{Name: name, Shape: shape, DType: graph.Bool, Fwd: compareKernel(name)}, a, b)
		return []*Value{out}, err
	}
}

func compareKernel(name string) Kernel {
	ks := byType[Kernel]{
		Float32: compareOf[float32](name), Float64: compareOf[float64](name),
		Int64: compareOf[int64](name), Int32: compareOf[int32](name),
		Int16: compareOf[int16](name), Int8: compareOf[int8](name),
		Uint64: compareOf[uint64](name), Uint32: compareOf[uint32](name),
		Uint16: compareOf[uint16](name), Uint8: compareOf[uint8](name),
	}
	if name == "Equal" {
		ks.Bool = func(in []*tensor.Dense) (*tensor.Dense, error) {
			return binaryOf(in[0], in[1], func(x, y bool) bool { return x == y })
		}
	}
	run := dispatch(ks)
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		if a, b := in[0], in[1]; a.Dtype() != b.Dtype() {
			return nil, fmt.Errorf("inputs of types %v and %v: want one type", a.Dtype(), b.Dtype())
		}
		return run(in)
	}
}

func compareOf[T Number](name string) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) { return compareRun[T](in[0], in[1], name) }
}

func compareRun[T Number](a, b *tensor.Dense, name string) (*tensor.Dense, error) {
	x, err := Data[T](a)
	if err != nil {
		return nil, err
	}
	y, err := Data[T](b)
	if err != nil {
		return nil, err
	}
	var f func(u, v T) bool
	switch name {
	case "Equal":
		f = func(u, v T) bool { return u == v }
	case "Less":
		f = func(u, v T) bool { return u < v }
	case "Greater":
		f = func(u, v T) bool { return u > v }
	case "LessOrEqual":
		f = func(u, v T) bool { return u <= v }
	case "GreaterOrEqual":
		f = func(u, v T) bool { return u >= v }
	default:
		return nil, fmt.Errorf("unknown comparison %s", name)
	}
	r, shape, err := zipBroadcast(x, y, Shape(a), Shape(b), f)
	if err != nil {
		return nil, err
	}
	return Dense(shape, r), nil
}

func lowerLogical(name string) LowerFunc {
	var f func(x, y bool) bool
	switch name {
	case "And":
		f = func(x, y bool) bool { return x && y }
	case "Or":
		f = func(x, y bool) bool { return x || y }
	default:
		f = func(x, y bool) bool { return x != y }
	}
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		a, b := in[0], in[1]
		if a.DType != graph.Bool || b.DType != graph.Bool {
			return nil, fmt.Errorf("inputs of types %s and %s: want bool", a.DType, b.DType)
		}
		shape, err := BroadcastShape(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		fwd := func(in []*tensor.Dense) (*tensor.Dense, error) { return binaryOf(in[0], in[1], f) }
		out, err := c.Apply(Spec{Name: name, Shape: shape, DType: graph.Bool, Fwd: fwd}, a, b)
		return []*Value{out}, err
	}
}

func lowerNot(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if x.DType != graph.Bool {
		return nil, fmt.Errorf("input is %s, want bool", x.DType)
	}
	fwd := func(in []*tensor.Dense) (*tensor.Dense, error) {
		v, err := Data[bool](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]bool, len(v))
		for i, b := range v {
			out[i] = !b
		}
		return Dense(Shape(in[0]), out), nil
	}
	out, err := c.Apply(Spec{Name: "Not", Shape: x.Shape, DType: graph.Bool, Fwd: fwd}, x)
	return []*Value{out}, err
}

// ---- Where ----

// lowerWhere: cond ? X : Y with three-way broadcasting, differentiable with
// respect to X and Y.
func lowerWhere(c *Ctx, in []*Value) ([]*Value, error) {
	cond, x, y := in[0], in[1], in[2]
	if cond.DType != graph.Bool {
		return nil, fmt.Errorf("condition is %s, want bool", cond.DType)
	}
	if x.DType != y.DType {
		return nil, fmt.Errorf("inputs X (%s) and Y (%s): want one type", x.DType, y.DType)
	}
	shape, err := BroadcastShape(cond.Shape, x.Shape)
	if err == nil {
		shape, err = BroadcastShape(shape, y.Shape)
	}
	if err != nil {
		return nil, fmt.Errorf("shapes %v, %v and %v do not broadcast", cond.Shape, x.Shape, y.Shape)
	}
	s := Spec{Name: "Where", Shape: shape, DType: x.DType, Fwd: whereKernel(shape)}
	if x.DType.IsFloat() {
		s.WRT = []bool{false, true, true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			grads := G.Nodes{nil, nil, nil}
			for i, label := range []string{"GradX", "GradY"} {
				v := inputs[i+1]
				var err error
				grads[i+1], err = NewNode(grad.Graph(), output.Name()+"/"+label, Spec{Name: "Where" + label,
					Shape: ShapeOf(v), DType: DTypeOf(v), Fwd: whereGradKernel(i == 0, shape, ShapeOf(v))}, grad, inputs[0])
				if err != nil {
					return nil, err
				}
			}
			return grads, nil
		}
	}
	out, err := c.Apply(s, cond, x, y)
	return []*Value{out}, err
}

func whereKernel(shape []int) Kernel {
	ks := byType[Kernel]{
		Float32: whereOf[float32](shape), Float64: whereOf[float64](shape),
		Int64: whereOf[int64](shape), Int32: whereOf[int32](shape),
		Int16: whereOf[int16](shape), Int8: whereOf[int8](shape),
		Uint64: whereOf[uint64](shape), Uint32: whereOf[uint32](shape),
		Uint16: whereOf[uint16](shape), Uint8: whereOf[uint8](shape), Bool: whereOf[bool](shape),
	}
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, y := in[1], in[2]
		if x.Dtype() != y.Dtype() {
			return nil, fmt.Errorf("inputs X (%v) and Y (%v): want one type", x.Dtype(), y.Dtype())
		}
		run, err := pick(ks, x.Dtype())
		if err != nil {
			return nil, err
		}
		return run(in)
	}
}

// whereOf gets (cond, X, Y).
func whereOf[T any](shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		cond, err := Data[bool](in[0])
		if err != nil {
			return nil, err
		}
		return whereRun[T](cond, in[1], in[2], Shape(in[0]), Shape(in[1]), Shape(in[2]), shape)
	}
}

func whereRun[T any](cond []bool, xt, yt *tensor.Dense, sc, sx, sy, out []int) (*tensor.Dense, error) {
	x, err := Data[T](xt)
	if err != nil {
		return nil, err
	}
	y, err := Data[T](yt)
	if err != nil {
		return nil, err
	}
	n := sizeOf(out)
	res := make([]T, n)
	if sameInts(sc, out) && sameInts(sx, out) && sameInts(sy, out) {
		for i := range res {
			if cond[i] {
				res[i] = x[i]
			} else {
				res[i] = y[i]
			}
		}
		return Dense(out, res), nil
	}
	stC, stX, stY := bstrides(sc, out), bstrides(sx, out), bstrides(sy, out)
	idx := make([]int, len(out))
	ic, ix, iy := 0, 0, 0
	for i := 0; i < n; i++ {
		if cond[ic] {
			res[i] = x[ix]
		} else {
			res[i] = y[iy]
		}
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			ic += stC[d]
			ix += stX[d]
			iy += stY[d]
			if idx[d] < out[d] {
				break
			}
			ic -= stC[d] * out[d]
			ix -= stX[d] * out[d]
			iy -= stY[d] * out[d]
			idx[d] = 0
		}
	}
	return Dense(out, res), nil
}

// whereGradKernel: inputs (dY, cond); dY where cond holds (onX) or where it
// does not, summed to shape to.
func whereGradKernel(onX bool, out, to []int) Kernel {
	return floats(whereGradRun[float32](onX, out, to), whereGradRun[float64](onX, out, to))
}

func whereGradRun[T Float](onX bool, out, to []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		cond, err := Data[bool](in[1])
		if err != nil {
			return nil, err
		}
		g, _, err := zipBroadcast(dy, cond, out, Shape(in[1]), func(d T, c bool) T {
			if c == onX {
				return d
			}
			return 0
		})
		if err != nil {
			return nil, err
		}
		return Dense(to, SumTo(g, out, to)), nil
	}
}

// ---- Cast ----

// castNames maps the type names Cast's `to` attribute held before opset 6.
var castNames = map[string]graph.DType{
	"FLOAT": graph.Float32, "DOUBLE": graph.Float64, "INT64": graph.Int64, "INT32": graph.Int32,
	"INT16": graph.Int16, "INT8": graph.Int8, "UINT64": graph.Uint64, "UINT32": graph.Uint32,
	"UINT16": graph.Uint16, "UINT8": graph.Uint8, "BOOL": graph.Bool, "FLOAT16": graph.Float16,
	"STRING": graph.String,
}

// castTarget reads Cast's `to`: an int (a TensorProto data type), or
// before opset 6 a type name.
func castTarget(r *attrReader) (graph.DType, error) {
	if !r.Has("to") {
		return 0, fmt.Errorf("attribute to is missing")
	}
	if r.n.Attr("to").Type == graph.AttrString {
		s := r.String("to", "")
		dt, ok := castNames[strings.ToUpper(s)]
		if !ok {
			return 0, fmt.Errorf("attribute to names an unknown type %q", s)
		}
		return dt, nil
	}
	dt := graph.DType(r.Int("to", 0))
	return dt, r.Err()
}

// lowerCast converts between the engine's element types: float to integer
// truncates toward zero, to bool tests for non-zero. Float to float is
// differentiable (the gradient is cast back).
func lowerCast(c *Ctx, in []*Value) ([]*Value, error) {
	to, err := castTarget(c.attrs())
	if err != nil {
		return nil, err
	}
	return castValue(c, in[0], to)
}

// lowerCastLike casts its first input to the element type of its second
// (opset 15; ONNX function bodies use it).
func lowerCastLike(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) < 2 || in[1] == nil {
		return nil, fmt.Errorf("want inputs input and target_type")
	}
	return castValue(c, in[0], in[1].DType)
}

func castValue(c *Ctx, x *Value, to graph.DType) ([]*Value, error) {
	to = computeType(to) // a half type: rounded after the lowering (half.go)
	if _, err := tensorDtype(to); err != nil {
		return nil, fmt.Errorf("to %s: %w", to, err)
	}
	if to == x.DType {
		return []*Value{x}, nil
	}
	s := Spec{Name: "Cast", Shape: x.Shape, DType: to, Fwd: castKernel(to)}
	if x.DType.IsFloat() && to.IsFloat() {
		s.WRT = []bool{true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dt := DTypeOf(inputs[0])
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "CastGrad", Shape: ShapeOf(inputs[0]),
				DType: dt, Fwd: castKernel(dt)}, grad)
			return G.Nodes{n}, err
		}
	}
	out, err := c.Apply(s, x)
	return []*Value{out}, err
}

// castKernel converts its input to element type to.
func castKernel(to graph.DType) Kernel {
	run, ok := casts.For(to)
	if !ok {
		return func([]*tensor.Dense) (*tensor.Dense, error) {
			return nil, fmt.Errorf("element type %s is not supported", to)
		}
	}
	return run
}

var casts = byType[Kernel]{
	Float32: castTo[float32], Float64: castTo[float64], Int64: castTo[int64], Int32: castTo[int32],
	Int16: castTo[int16], Int8: castTo[int8], Uint64: castTo[uint64], Uint32: castTo[uint32],
	Uint16: castTo[uint16], Uint8: castTo[uint8], Bool: castToBool,
}

func castToBool(in []*tensor.Dense) (*tensor.Dense, error) {
	t := in[0]
	if t.Dtype() == tensor.Bool {
		return t.Clone().(*tensor.Dense), nil
	}
	b, err := castTo[float64](in)
	if err != nil {
		return nil, err
	}
	v, _ := Data[float64](b)
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x != 0
	}
	return Dense(Shape(t), out), nil
}

func castTo[D Number](in []*tensor.Dense) (*tensor.Dense, error) {
	t := in[0]
	conv, err := pick(byType[func(*tensor.Dense) ([]D, error)]{
		Float32: castSlice[float32, D], Float64: castSlice[float64, D],
		Int64: castSlice[int64, D], Int32: castSlice[int32, D],
		Int16: castSlice[int16, D], Int8: castSlice[int8, D],
		Uint64: castSlice[uint64, D], Uint32: castSlice[uint32, D],
		Uint16: castSlice[uint16, D], Uint8: castSlice[uint8, D], Bool: boolSlice[D],
	}, t.Dtype())
	if err != nil {
		return nil, err
	}
	out, err := conv(t)
	if err != nil {
		return nil, err
	}
	return Dense(Shape(t), out), nil
}

// boolSlice converts booleans to 0 and 1.
func boolSlice[D Number](t *tensor.Dense) ([]D, error) {
	v, err := Data[bool](t)
	if err != nil {
		return nil, err
	}
	out := make([]D, len(v))
	for i, b := range v {
		if b {
			out[i] = 1
		}
	}
	return out, nil
}

// castSlice converts element by element (Go's conversions: floats truncate
// toward zero, integers wrap).
func castSlice[S, D Number](t *tensor.Dense) ([]D, error) {
	v, err := Data[S](t)
	if err != nil {
		return nil, err
	}
	return graph.Convert[S, D](v), nil
}

// lowerMod: Mod-10/13. fmod=0 (integers only) takes the sign of the
// divisor, as Python's % and PyTorch's remainder do; fmod=1 takes the
// dividend's, as C's fmod and torch.fmod do (required for floats). An
// integer divided by 0 gives 0.
func lowerMod(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("want inputs A and B")
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, fmt.Errorf("inputs of types %s and %s: want one type", a.DType, b.DType)
	}
	fmod := c.attrs().Int("fmod", 0) == 1
	if a.DType.IsFloat() && !fmod {
		return nil, fmt.Errorf("fmod must be 1 for %s inputs", a.DType)
	}
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	k := dispatch(byType[Kernel]{
		Float32: binaryOn(func(x, y float32) float32 { return float32(math.Mod(float64(x), float64(y))) }),
		Float64: binaryOn(math.Mod),
		Int64:   binaryOn(modOf[int64](fmod)), Int32: binaryOn(modOf[int32](fmod)),
		Int16: binaryOn(modOf[int16](fmod)), Int8: binaryOn(modOf[int8](fmod)),
		Uint64: binaryOn(modOf[uint64](fmod)), Uint32: binaryOn(modOf[uint32](fmod)),
		Uint16: binaryOn(modOf[uint16](fmod)), Uint8: binaryOn(modOf[uint8](fmod)),
	})
	out, err := c.Apply(Spec{Name: "Mod", Shape: shape, DType: a.DType, Fwd: k}, a, b)
	return []*Value{out}, err
}

func modOf[T Integer](fmod bool) func(x, y T) T {
	return func(x, y T) T {
		if y == 0 {
			return 0
		}
		r := x % y
		if !fmod && r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	}
}
