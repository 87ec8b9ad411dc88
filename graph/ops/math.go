package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMath adds the broadcasting arithmetic (Add runs a following Relu
// itself for two same-shape float tensors) and Relu.
func registerMath(r *Registry) {
	// The Add after a MatMul holds a Linear's bias (see Gemm in matmul.go).
	r.add(OpInfo{Name: "Add", Differentiable: true, Lower: lowerBinary("Add", func(x, y float64) float64 { return x + y }),
		FusesRelu: true, Params: []graph.ParamSlot{
			{Input: 0, Suffix: "bias", Beside: "MatMul"}, {Input: 1, Suffix: "bias", Beside: "MatMul"},
		}})
	r.add(OpInfo{Name: "Sub", Differentiable: true, Lower: lowerBinary("Sub", func(x, y float64) float64 { return x - y })})
	r.add(OpInfo{Name: "Mul", Differentiable: true, Lower: lowerBinary("Mul", func(x, y float64) float64 { return x * y })})
	r.add(OpInfo{Name: "Div", Differentiable: true, Lower: lowerBinary("Div", func(x, y float64) float64 { return x / y })})
	r.add(OpInfo{Name: "Relu", Differentiable: true, Lower: lowerRelu})
}

// binaryKernel applies f elementwise with broadcasting, for every numeric
// element type (f computes in float64 for floats; integer types use the
// matching integer arithmetic).
func binaryKernel(name string, f func(x, y float64) float64) Kernel {
	run := dispatch(byType[Kernel]{
		Float32: binaryOn(func(x, y float32) float32 { return float32(f(float64(x), float64(y))) }),
		Float64: binaryOn(f),
		Int64:   binaryOn(intOp[int64](name)), Int32: binaryOn(intOp[int32](name)),
		Int16: binaryOn(intOp[int16](name)), Int8: binaryOn(intOp[int8](name)),
		Uint64: binaryOn(intOp[uint64](name)), Uint32: binaryOn(intOp[uint32](name)),
		Uint16: binaryOn(intOp[uint16](name)), Uint8: binaryOn(intOp[uint8](name)),
	})
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, b := in[0], in[1]
		if a.Dtype() != b.Dtype() {
			return nil, fmt.Errorf("%s of %v and %v", name, a.Dtype(), b.Dtype())
		}
		out, err := run(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
}

// binaryOn is the kernel of an element-wise binary function.
func binaryOn[T Number](f func(x, y T) T) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) { return binaryOf(in[0], in[1], f) }
}

func intOp[T Integer](name string) func(x, y T) T {
	switch name {
	case "Add":
		return func(x, y T) T { return x + y }
	case "Sub":
		return func(x, y T) T { return x - y }
	case "Mul":
		return func(x, y T) T { return x * y }
	}
	return func(x, y T) T {
		if y == 0 {
			return 0
		}
		return x / y
	}
}

// binaryOf applies f elementwise to a and b broadcast together (numbers,
// or bools for the logic ops).
func binaryOf[T any](a, b *tensor.Dense, f func(x, y T) T) (*tensor.Dense, error) {
	x, y, err := data2[T]([]*tensor.Dense{a, b})
	if err != nil {
		return nil, err
	}
	out, shape, err := zipBroadcast(x, y, Shape(a), Shape(b), f)
	if err != nil {
		return nil, err
	}
	return Dense(shape, out), nil
}

func lowerBinary(name string, f func(x, y float64) float64) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		a, b := in[0], in[1]
		shape, err := BroadcastShape(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		s := Spec{Name: name, Shape: shape, DType: a.DType, Fwd: binaryKernel(name, f)}
		if a.DType.IsFloat() {
			s.Grad, s.WRT = binaryGrad(name), []bool{true, true}
		}
		float := a.DType == b.DType && (a.DType == graph.Float32 || a.DType == graph.Float64)
		if name == "Mul" && float && !sameInts(a.Shape, b.Shape) {
			// A block-wise scale (squeeze-excite): see mul_fast.go.
			for bigAt := range 2 {
				if outer, inner, ok := mulBlocks(in[bigAt].Shape, in[1-bigAt].Shape); ok && sameInts(in[bigAt].Shape, shape) {
					s = mulBlockSpec(a.DType, shape, bigAt, outer, inner)
					break
				}
			}
		}
		if float && !sameInts(a.Shape, b.Shape) && s.Name == name {
			// Broadcasting (a bias, a scalar): a loop into a kept buffer.
			s.Fwd, s.Into, s.Overwrites = nil, broadcastInto(binaryOpOf(name), a.Shape, b.Shape, shape), true
		}
		if sameInts(a.Shape, b.Shape) && float {
			// No broadcasting: a direct loop into a kept buffer (the
			// residual additions of a ResNet).
			s.Fwd, s.Into, s.Overwrites = nil, binaryInto(binaryOpOf(name)), true
			if name == "Mul" {
				s.Grad = mulSameGrad
			}
			if c.FuseRelu && name == "Add" {
				// Relu in the same pass (its gradient: reluThen).
				c.ReluFused = true
				s.Name, s.Grad = "AddRelu", reluThen(s.Grad)
				s.Into = binaryInto(opAddRelu)
			}
		}
		out, err := c.Apply(s, a, b)
		return []*Value{out}, err
	}
}

// binaryGrad gives the gradients of Add, Sub, Mul and Div, summed back over
// broadcast dimensions.
func binaryGrad(name string) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		a, b := inputs[0], inputs[1]
		key := output.Name()
		mk := func(label string, f Kernel, like *G.Node, args ...*G.Node) (*G.Node, error) {
			return NewNode(grad.Graph(), key+"/"+label, Spec{Name: name + label, Shape: ShapeOf(like), DType: DTypeOf(like), Fwd: f}, args...)
		}
		sa, sb, so := ShapeOf(a), ShapeOf(b), ShapeOf(output)
		// mkMul: SumTo(grad op other, like's shape) (mulSumKernel); an
		// input of the output's shape sums nothing: grad op other runs
		// into a kept buffer, as the forward's broadcasting.
		mkMul := func(label string, op elemOp, like, grad, other *G.Node) (*G.Node, error) {
			dt := DTypeOf(like)
			if !sameInts(ShapeOf(like), so) || (dt != graph.Float32 && dt != graph.Float64) || DTypeOf(other) != dt {
				return mk(label, mulSumKernel(ShapeOf(like), op == opDiv), like, grad, other)
			}
			return NewNode(grad.Graph(), key+"/"+label, Spec{Name: name + label, Shape: so, DType: dt,
				Into: broadcastInto(op, so, ShapeOf(other), so), Overwrites: true}, grad, other)
		}
		var ga, gb *G.Node
		var err error
		switch name {
		case "Add", "Sub":
			// An input of the output's shape gets the output's gradient
			// itself (negated for Sub's b): no node to run.
			if sameInts(sa, so) {
				ga = grad
			} else if ga, err = mk("GradA", sumToKernel(sa, 1), a, grad); err != nil {
				return nil, err
			}
			switch {
			case name == "Add" && sameInts(sb, so):
				gb = grad
			case sameInts(sb, so) && (DTypeOf(b) == graph.Float32 || DTypeOf(b) == graph.Float64):
				gb, err = NewNode(grad.Graph(), key+"/GradB", Spec{Name: name + "GradB", Shape: sb, DType: DTypeOf(b),
					Into: unaryInto(opNeg)}, grad)
			default:
				sign := 1.0
				if name == "Sub" {
					sign = -1
				}
				gb, err = mk("GradB", sumToKernel(sb, sign), b, grad)
			}
		case "Mul":
			if ga, err = mkMul("GradA", opMul, a, grad, b); err != nil {
				return nil, err
			}
			gb, err = mkMul("GradB", opMul, b, grad, a)
		case "Div":
			if ga, err = mkMul("GradA", opDiv, a, grad, b); err != nil {
				return nil, err
			}
			gb, err = mk("GradB", divGradBKernel(sb), b, grad, a, b)
		}
		return G.Nodes{ga, gb}, err
	}
}

// sumToKernel: scale * SumTo(grad, shape).
func sumToKernel(to []int, scale float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		if r, ok := sumRows(in[0], to, scale); ok {
			return r, nil
		}
		return floatMap(in[0], func(g []float64, sg []int) ([]float64, []int, error) {
			r := SumTo(g, sg, to)
			if scale != 1 {
				for i := range r {
					r[i] *= scale
				}
			}
			return r, to, nil
		})
	}
}

// mulSumKernel: SumTo(grad * other, shape), or grad / other with div.
func mulSumKernel(to []int, div bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		g, o := in[0], in[1]
		f := func(x, y float64) float64 { return x * y }
		if div {
			f = func(x, y float64) float64 { return x / y }
		}
		p, err := binaryKernel("Mul", f)([]*tensor.Dense{g, o})
		if err != nil {
			return nil, err
		}
		if r, ok := sumRows(p, to, 1); ok {
			return r, nil
		}
		return floatMap(p, func(v []float64, sv []int) ([]float64, []int, error) { return SumTo(v, sv, to), to, nil })
	}
}

// sumRows is scale * SumTo(t, to) for float32 and float64 t when to is,
// but for leading 1s, a suffix of t's shape (a bias's gradient: sums over
// the leading axes): in t's own type with float64 sums, without turning
// the whole of t into float64. ok is false for other shapes.
func sumRows(t *tensor.Dense, to []int, scale float64) (*tensor.Dense, bool) {
	switch d := t.Data().(type) {
	case []float32:
		r, ok := sumRowsOf(d, Shape(t), to, scale)
		return r, ok
	case []float64:
		r, ok := sumRowsOf(d, Shape(t), to, scale)
		return r, ok
	}
	return nil, false
}

func sumRowsOf[T Float](g []T, from, to []int, scale float64) (*tensor.Dense, bool) {
	tail := to
	for len(tail) > 0 && tail[0] == 1 {
		tail = tail[1:]
	}
	if len(tail) > len(from) || !sameInts(tail, from[len(from)-len(tail):]) {
		return nil, false
	}
	cols := sizeOf(tail)
	out := make([]T, cols)
	if cols == 0 || len(g) == 0 {
		return Dense(to, out), true
	}
	acc := make([]float64, cols)
	// Columns split across the cores, each summed over the rows in order.
	rows := len(g) / cols
	parallelRange(cols, rows, func(j0, j1 int) {
		a := acc[j0:j1]
		for r := 0; r < rows; r++ {
			for j, x := range g[r*cols+j0 : r*cols+j1] {
				a[j] += float64(x)
			}
		}
	})
	for j, v := range acc {
		out[j] = T(scale * v)
	}
	return Dense(to, out), true
}

// divGradBKernel: SumTo(-grad * a / b^2, shape of b).
func divGradBKernel(to []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		g, a, b := in[0], in[1], in[2]
		q, err := binaryKernel("Div", func(x, y float64) float64 { return x / (y * y) })([]*tensor.Dense{a, b})
		if err != nil {
			return nil, err
		}
		p, err := binaryKernel("Mul", func(x, y float64) float64 { return -x * y })([]*tensor.Dense{g, q})
		if err != nil {
			return nil, err
		}
		return floatMap(p, func(v []float64, sv []int) ([]float64, []int, error) { return SumTo(v, sv, to), to, nil })
	}
}

// floatMap runs f on a float tensor's values converted to float64 and
// converts the result back to the tensor's type. Kernels on hot paths work
// on the native type instead.
func floatMap(t *tensor.Dense, f func(v []float64, shape []int) ([]float64, []int, error)) (*tensor.Dense, error) {
	switch d := t.Data().(type) {
	case []float64:
		r, s, err := f(d, Shape(t))
		if err != nil {
			return nil, err
		}
		return Dense(s, r), nil
	case float64:
		r, s, err := f([]float64{d}, nil)
		if err != nil {
			return nil, err
		}
		return Dense(s, r), nil
	case []float32, float32:
		v, _ := Data[float32](t)
		w := make([]float64, len(v))
		for i, x := range v {
			w[i] = float64(x)
		}
		r, s, err := f(w, Shape(t))
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(r))
		for i, x := range r {
			out[i] = float32(x)
		}
		return Dense(s, out), nil
	}
	return nil, fmt.Errorf("want a float tensor, have %v", t.Dtype())
}

// unary returns a kernel applying f elementwise to a float tensor, in the
// tensor's own precision.
func unary(f32 func(float32) float32, f64 func(float64) float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		switch d := in[0].Data().(type) {
		case []float32:
			out := make([]float32, len(d))
			for i, x := range d {
				out[i] = f32(x)
			}
			return Dense(Shape(in[0]), out), nil
		case []float64:
			out := make([]float64, len(d))
			for i, x := range d {
				out[i] = f64(x)
			}
			return Dense(Shape(in[0]), out), nil
		case float32:
			return tensor.New(tensor.FromScalar(f32(d))), nil
		case float64:
			return tensor.New(tensor.FromScalar(f64(d))), nil
		}
		return nil, fmt.Errorf("want a float tensor, have %v", in[0].Dtype())
	}
}

// unaryGradKernel returns dx = dy * f'(x, y) for (dy, x, y) inputs.
func unaryGradKernel(d32 func(x, y float32) float32, d64 func(x, y float64) float64) Kernel {
	return floats(unaryGradRun(d32), unaryGradRun(d64))
}

func unaryGradRun[T Float](d func(x, y T) T) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		dy, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		x, _ := Data[T](in[1])
		y, _ := Data[T](in[2])
		out := make([]T, len(dy))
		for i := range out {
			out[i] = dy[i] * d(x[i], y[i])
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// mapInto is y = f(x) elementwise, split across the cores.
func mapInto[T Float](f func(T) T) func(in [][]T, y []T) {
	return func(in [][]T, y []T) {
		x := in[0][:len(y)]
		parallelRange(len(y), 32, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y[i] = f(x[i])
			}
		})
	}
}

// mapGradInto is dx = dy * d(x, y) elementwise for (dy, x, y), split
// across the cores.
func mapGradInto[T Float](d func(x, y T) T) func(in [][]T, dx []T) {
	return func(in [][]T, dx []T) {
		dy, x, y := in[0][:len(dx)], in[1][:len(dx)], in[2][:len(dx)]
		parallelRange(len(dx), 32, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dx[i] = dy[i] * d(x[i], y[i])
			}
		})
	}
}

// lowerUnary lowers a float elementwise op whose derivative is a function of
// the input x and output y.
func lowerUnary(name string, f32 func(float32) float32, f64 func(float64) float64,
	d32 func(x, y float32) float32, d64 func(x, y float64) float64) LowerFunc {
	return lowerUnaryVec(name, f32, f64, d32, d64, nil, nil)
}

// lowerUnaryVec is lowerUnary with float32 loops over slices for tensors:
// vec32(y, x) computes f32 of every element, vecGrad32(dx, dy, x, y) sets
// dx = dy·d32(x, y); nil for the loops over f32 and d32.
func lowerUnaryVec(name string, f32 func(float32) float32, f64 func(float64) float64,
	d32 func(x, y float32) float32, d64 func(x, y float64) float64,
	vec32 func(y, x []float32), vecGrad32 func(dx, dy, x, y []float32)) LowerFunc {
	fwd32, grad32 := mapInto(f32), mapGradInto(d32)
	if vec32 != nil {
		fwd32 = func(in [][]float32, y []float32) {
			x := in[0][:len(y)]
			parallelRange(len(y), 32, func(lo, hi int) { vec32(y[lo:hi], x[lo:hi]) })
		}
	}
	if vecGrad32 != nil {
		grad32 = func(in [][]float32, dx []float32) {
			dy, x, y := in[0][:len(dx)], in[1][:len(dx)], in[2][:len(dx)]
			parallelRange(len(dx), 32, func(lo, hi int) { vecGrad32(dx[lo:hi], dy[lo:hi], x[lo:hi], y[lo:hi]) })
		}
	}
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("%s of %s", name, x.DType)
		}
		// Fwd for scalars and folding; Into (kept buffers, split across
		// the cores) for tensors.
		s := Spec{Name: name, Shape: x.Shape, DType: x.DType, Fwd: unary(f32, f64), WRT: []bool{true},
			Into: bodiesInto(fwd32, mapInto(f64)), Overwrites: true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Fwd: unaryGradKernel(d32, d64),
				Into: bodiesInto(grad32, mapGradInto(d64)), Overwrites: true}, grad, inputs[0], output)
			return G.Nodes{n}, err
		}
		out, err := c.Apply(s, x)
		return []*Value{out}, err
	}
}

// lowerRelu lowers Relu with direct loops into kept buffers: it is the
// most frequent activation, run on every feature map of a CNN.
func lowerRelu(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("relu of %s", x.DType)
	}
	s := Spec{Name: "Relu", Shape: x.Shape, DType: x.DType, WRT: []bool{true}}
	if x.DType == graph.Float32 || x.DType == graph.Float64 {
		s.Into = unaryInto(opRelu)
	} else {
		s.Fwd = unary(reluF[float32], reluF[float64])
	}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		// PyTorch's threshold_backward: 0 where x <= 0, else the gradient.
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "ReluGrad", Shape: ShapeOf(inputs[0]),
			DType: DTypeOf(inputs[0]), Into: binaryInto(opReluGrad)}, grad, inputs[0])
		return G.Nodes{n}, err
	}
	out, err := c.Apply(s, x)
	return []*Value{out}, err
}

// reluThen is the gradient of an op with a fused Relu: the Relu's
// gradient (from the fused output, which is positive exactly where the
// unfused one is), then the op's own.
func reluThen(inner GradFunc) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, err := NewNode(grad.Graph(), output.Name()+"/reluGrad", Spec{Name: "ReluGrad", Shape: ShapeOf(output),
			DType: DTypeOf(output), Into: binaryInto(opReluGrad)}, grad, output)
		if err != nil {
			return nil, err
		}
		return inner(inputs, output, g)
	}
}

// reluF is max(x, 0) with NaN kept (as PyTorch's relu).
func reluF[T Float](x T) T {
	if x > 0 || x != x {
		return x
	}
	return 0
}

// elemOp names the elementwise loops that run into kept buffers. Each is a
// plain loop over float32 or float64 slices (no call per element).
type elemOp int

const (
	opRelu     elemOp = iota // relu(a)
	opNeg                    // -a
	opAdd                    // a + b
	opSub                    // a - b
	opMul                    // a * b
	opDiv                    // a / b
	opAddRelu                // relu(a + b)
	opReluGrad               // b <= 0 ? 0 : a (a the gradient, b the Relu's input or output)
)

// unaryInto runs a one-input elementwise loop, in parallel over chunks.
func unaryInto(op elemOp) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		// Data, not dst.Data(): a 0-d output's element aliased as a slice.
		if y, err := Data[float32](dst); err == nil {
			return elemRun(op, in, y)
		}
		if y, err := Data[float64](dst); err == nil {
			return elemRun(op, in, y)
		}
		return fmt.Errorf("want a float tensor, have %v", dst.Dtype())
	}
}

// binaryInto runs a two-input elementwise loop on inputs of the output's
// shape, in parallel over chunks.
func binaryInto(op elemOp) IntoKernel { return unaryInto(op) }

func elemRun[T Float](op elemOp, in []*tensor.Dense, y []T) error {
	xs := make([][]T, len(in))
	for i, t := range in {
		d, err := Data[T](t)
		if err != nil {
			return err
		}
		if len(d) != len(y) {
			return fmt.Errorf("input %d has %d elements for an output of %d", i, len(d), len(y))
		}
		xs[i] = d
	}
	parallelRange(len(y), 1, func(lo, hi int) {
		a, out := xs[0][lo:hi], y[lo:hi]
		var b []T
		if len(xs) > 1 {
			b = xs[1][lo:hi]
			b = b[:len(a)]
		}
		out = out[:len(a)]
		switch op {
		case opRelu:
			copy(out, a)
			reluSlice(out)
		case opNeg:
			for i, v := range a {
				out[i] = -v
			}
		case opAdd:
			for i, v := range a {
				out[i] = v + b[i]
			}
		case opSub:
			for i, v := range a {
				out[i] = v - b[i]
			}
		case opMul:
			for i, v := range a {
				out[i] = v * b[i]
			}
		case opDiv:
			for i, v := range a {
				out[i] = v / b[i]
			}
		case opAddRelu:
			for i, v := range a {
				out[i] = v + b[i]
			}
			reluSlice(out)
		case opReluGrad:
			reluGradSlice(out, a, b)
		}
	})
	return nil
}

// binaryOpOf is the loop of Add, Sub, Mul or Div.
func binaryOpOf(name string) elemOp {
	switch name {
	case "Add":
		return opAdd
	case "Sub":
		return opSub
	case "Mul":
		return opMul
	}
	return opDiv
}

var _ = graph.Float32
