package ops

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// garbage is a tensor of the shape and type whose elements are all NaN, as
// a shared buffer an earlier value left behind.
func garbage(shape []int, dt tensor.Dtype) *tensor.Dense {
	d := tensor.New(tensor.WithShape(shape...), tensor.Of(dt))
	switch v := d.Data().(type) {
	case []float32:
		for i := range v {
			v[i] = float32(math.NaN())
		}
	case []float64:
		for i := range v {
			v[i] = math.NaN()
		}
	}
	return d
}

// sameBits reports the first element where a and b differ in their bits.
func sameBits(a, b *tensor.Dense) error {
	if !sameInts(Shape(a), Shape(b)) {
		return fmt.Errorf("shape %v, want %v", Shape(a), Shape(b))
	}
	switch x := a.Data().(type) {
	case []float32:
		y, _ := Data[float32](b)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return fmt.Errorf("[%d] %v, want %v", i, x[i], y[i])
			}
		}
	case []float64:
		y, _ := Data[float64](b)
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return fmt.Errorf("[%d] %v, want %v", i, x[i], y[i])
			}
		}
	default:
		return fmt.Errorf("type %T", x)
	}
	return nil
}

// TestBroadcastIntoMatchesBinaryKernel: Add, Sub, Mul and Div with
// broadcasting into a kept (dirty) buffer give binaryKernel's result bit
// for bit, in float32 (binaryKernel computes in float64 and rounds) and
// float64: a bias either side, a scalar either side, and general
// broadcasting.
func TestBroadcastIntoMatchesBinaryKernel(t *testing.T) {
	fs := map[string]func(x, y float64) float64{
		"Add": func(x, y float64) float64 { return x + y },
		"Sub": func(x, y float64) float64 { return x - y },
		"Mul": func(x, y float64) float64 { return x * y },
		"Div": func(x, y float64) float64 { return x / y },
	}
	shapes := [][2][]int{
		{{2, 3, 40}, {40}}, {{40}, {2, 3, 40}}, {{2, 3, 40}, {1, 3, 40}}, {{2, 3, 40}, {}},
		{{}, {2, 3, 40}}, {{2, 3, 40}, {1}}, {{2, 1, 4}, {3, 1}}, {{2, 3, 4}, {3, 1}}, {{5, 1}, {1, 6}},
	}
	for _, name := range []string{"Add", "Sub", "Mul", "Div"} {
		for i, s := range shapes {
			for _, wide := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v_%v/f64=%v", name, s[0], s[1], wide), func(t *testing.T) {
					a, b := randF64(int64(i), -2, 2, s[0]...), randF64(int64(i+50), 0.5, 2, s[1]...)
					if !wide {
						a, b = f32(a), f32(b)
					}
					want, err := binaryKernel(name, fs[name])([]*tensor.Dense{a, b})
					if err != nil {
						t.Fatal(err)
					}
					out, _ := BroadcastShape(s[0], s[1])
					dst := garbage(out, a.Dtype())
					if err := broadcastInto(binaryOpOf(name), s[0], s[1], out)([]*tensor.Dense{a, b}, dst); err != nil {
						t.Fatal(err)
					}
					if err := sameBits(dst, want); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// TestMulGradIntoMatchesSumKernel: the gradient of Mul's or Div's input of
// the output's shape, now grad op other into a kept buffer, is
// mulSumKernel's bit for bit.
func TestMulGradIntoMatchesSumKernel(t *testing.T) {
	for _, div := range []bool{false, true} {
		for _, sb := range [][]int{{}, {40}, {2, 1, 40}, {2, 3, 40}} {
			so := []int{2, 3, 40}
			g, b := f32(randF64(1, -2, 2, so...)), f32(randF64(2, 0.5, 2, sb...))
			want, err := mulSumKernel(so, div)([]*tensor.Dense{g, b})
			if err != nil {
				t.Fatal(err)
			}
			op := opMul
			if div {
				op = opDiv
			}
			dst := garbage(so, tensor.Float32)
			if err := broadcastInto(op, so, sb, so)([]*tensor.Dense{g, b}, dst); err != nil {
				t.Fatal(err)
			}
			if err := sameBits(dst, want); err != nil {
				t.Errorf("div %v, other %v: %v", div, sb, err)
			}
		}
	}
}

// TestIntoKernelsOverwriteTheirBuffer: the kernels that now compute into a
// kept buffer (Softmax, LogSoftmax and their gradients, LayerNormalization
// and its input gradient, Reshape's copy, GatherGrad, GradSum) give, into
// a buffer an earlier value left dirty, what they give into a new one
// (the output their Kernel form allocated), bit for bit.
func TestIntoKernelsOverwriteTheirBuffer(t *testing.T) {
	x := f32(randF64(1, -3, 3, 4, 5, 6))
	dy := f32(randF64(2, -1, 1, 4, 5, 6))
	sc, bias := f32(randF64(3, 0.5, 1.5, 6)), f32(randF64(4, -1, 1, 6))
	ids := Dense([]int{2, 3}, []int64{1, 4, 1, 0, -1, 4})
	gy := f32(randF64(5, -1, 1, 2, 3, 6))
	lay := smxLayout{outer: 4, n: 5, inner: 6}
	ln := lnLayout{outer: 20, inner: 6, norm: []int{6}, scale: []int{6}, bias: []int{6}}
	pad := embeddingHint{padding: 4, scaleByFreq: true}
	cases := []struct {
		name  string
		k     IntoKernel
		in    []*tensor.Dense
		shape []int
	}{
		{"Softmax", smxInto(lay, false), []*tensor.Dense{x}, []int{4, 5, 6}},
		{"LogSoftmax", smxInto(lay, true), []*tensor.Dense{x}, []int{4, 5, 6}},
		{"SoftmaxGrad", smxGradInto(lay, false), []*tensor.Dense{dy, x}, []int{4, 5, 6}},
		{"LogSoftmaxGrad", smxGradInto(lay, true), []*tensor.Dense{dy, x}, []int{4, 5, 6}},
		{"LayerNormalization", normInto("LayerNormalization", lnForward[float32](ln, 1e-5), lnForward[float64](ln, 1e-5)), []*tensor.Dense{x, sc, bias}, []int{4, 5, 6}},
		{"LayerNormalizationGradX", normInto("LayerNormalizationGradX", lnGradX[float32](ln, 1e-5), lnGradX[float64](ln, 1e-5)), []*tensor.Dense{dy, x, sc}, []int{4, 5, 6}},
		{"Reshape", copyInto, []*tensor.Dense{x}, []int{20, 6}},
		{"GatherGrad", gatherGradInto(0, []int{5, 6}, noEmbeddingHint), []*tensor.Dense{gy, ids}, []int{5, 6}},
		{"GatherGrad/embedding", gatherGradInto(0, []int{5, 6}, pad), []*tensor.Dense{gy, ids}, []int{5, 6}},
		{"GradSum", bodiesInto(sumInto[float32], sumInto[float64]), []*tensor.Dense{x, dy, x}, []int{4, 5, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fresh := tensor.New(tensor.WithShape(c.shape...), tensor.Of(tensor.Float32))
			if err := c.k(c.in, fresh); err != nil {
				t.Fatal(err)
			}
			dst := garbage(c.shape, tensor.Float32)
			if err := c.k(c.in, dst); err != nil {
				t.Fatal(err)
			}
			if err := sameBits(dst, fresh); err != nil {
				t.Fatal(err)
			}
			again := garbage(c.shape, tensor.Float32)
			if err := c.k(c.in, again); err != nil || sameBits(again, fresh) != nil {
				t.Fatalf("a second run differs: %v", err)
			}
		})
	}
}
