package ops

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// siluChain is EfficientNet's pattern: x -> Conv -> Sigmoid/Mul (SiLU) ->
// squeeze-excite (GlobalAveragePool, Conv, Sigmoid, Mul by the gate
// [N, C, 1, 1]) -> Mul by a tensor of the same shape. exposed makes both
// Sigmoid outputs graph outputs, which keeps them nodes of their own.
func siluChain(exposed bool, dt tensor.Dtype) (*graph.Model, map[string][]int, []arg) {
	args := []arg{
		{Name: "x", Value: randF64(1, -2, 2, 2, 3, 5, 5)},
		{Name: "other", Value: randF64(2, -1, 1, 2, 4, 5, 5)},
		{Name: "w", Value: randF64(3, -1, 1, 4, 3, 3, 3)},
		{Name: "w2", Value: randF64(4, -1, 1, 4, 4, 1, 1)},
		{Name: "b2", Value: randF64(5, -1, 1, 4)},
	}
	if dt == tensor.Float32 {
		for i := range args {
			args[i].Value = clipF32(args[i].Value)
		}
	}
	nodes := []*graph.Node{
		{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
			Attrs: []*graph.Attribute{attrInts("pads", 1, 1, 1, 1)}},
		{Name: "sig", OpType: "Sigmoid", Inputs: []string{"y"}, Outputs: []string{"s"}},
		{Name: "silu", OpType: "Mul", Inputs: []string{"y", "s"}, Outputs: []string{"a"}},
		{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"a"}, Outputs: []string{"p"}},
		{Name: "se", OpType: "Conv", Inputs: []string{"p", "w2", "b2"}, Outputs: []string{"q"}},
		{Name: "gate", OpType: "Sigmoid", Inputs: []string{"q"}, Outputs: []string{"g"}},
		{Name: "scale", OpType: "Mul", Inputs: []string{"g", "a"}, Outputs: []string{"z"}},
		{Name: "mul", OpType: "Mul", Inputs: []string{"z", "other"}, Outputs: []string{"out"}},
	}
	outs := []string{"out"}
	if exposed {
		outs = append(outs, "s", "g")
	}
	m, shapes := chainModel(13, args, nodes, outs...)
	return m, shapes, args
}

// TestSiLUFusion: Sigmoid then Mul of its input and output runs as one
// SiLU kernel with the same outputs and gradients, bit for bit, as the two
// ops, in float32 and float64; the block-wise and same-shape Muls run
// their direct loops; finite differences agree.
func TestSiLUFusion(t *testing.T) {
	fm, _, _ := siluChain(false, tensor.Float64)
	if f := siluFusions(fm.Graph); len(f) != 2 {
		t.Errorf("siluFusions found %d nodes, want 2 (the first Sigmoid and its Mul; the gate is not a SiLU)", len(f))
	}
	um, _, _ := siluChain(true, tensor.Float64)
	if f := siluFusions(um.Graph); len(f) != 0 {
		t.Errorf("siluFusions fused %d nodes whose Sigmoid output is a graph output", len(f))
	}
	for _, train := range []bool{false, true} {
		name := map[bool]string{false: "inference", true: "training"}[train]
		t.Run(name+"/float64", func(t *testing.T) { siluSame[float64](t, tensor.Float64, train) })
		t.Run(name+"/float32", func(t *testing.T) { siluSame[float32](t, tensor.Float32, train) })
	}
	m, shapes, args := siluChain(false, tensor.Float64)
	gradCheckModel(t, m, shapes, args)
}

func siluSame[T Float](t *testing.T, dt tensor.Dtype, train bool) {
	fm, shapes, args := siluChain(false, dt)
	um, _, _ := siluChain(true, dt)
	fy, fg, fl := chainRunGrads[T](t, fm, shapes, args, train)
	uy, ug, ul := chainRunGrads[T](t, um, shapes, args, train)
	if fl["SiLU"] != 1 || fl["SiLUGrad"] != 1 || fl["Sigmoid"] != 1 || fl["MulScale"] != 1 || fl["MulScaleGradSum"] != 1 {
		t.Errorf("fused program's kernels: %v", fl)
	}
	if ul["SiLU"] != 0 || ul["Sigmoid"] != 2 {
		t.Errorf("unfused program's kernels: %v", ul)
	}
	for i := range fy {
		if fy[i] != uy[i] {
			t.Fatalf("output %d: fused %v, unfused %v", i, fy[i], uy[i])
		}
	}
	for k := range fg {
		for i := range fg[k] {
			if fg[k][i] != ug[k][i] {
				t.Fatalf("gradient of input %d, element %d: fused %v, unfused %v", k, i, fg[k][i], ug[k][i])
			}
		}
	}
}

// TestMulFastPaths: the block-wise and same-shape Mul loops give what the
// general broadcasting kernels give, forward and gradients, both operand
// orders.
func TestMulFastPaths(t *testing.T) {
	for _, c := range []struct{ big, small []int }{
		{[]int{2, 3, 4, 5}, []int{2, 3, 1, 1}},
		{[]int{2, 3, 4, 5}, []int{2, 1, 1, 1}},
		{[]int{2, 3, 4, 5}, []int{1, 1, 1, 1}},
		{[]int{2, 3, 4, 5}, []int{2, 3, 4, 5}},
	} {
		for _, swap := range []bool{false, true} {
			big, small := clipF32(randF64(1, -2, 2, c.big...)), clipF32(randF64(2, -2, 2, c.small...))
			a, b := big, small
			if swap {
				a, b = small, big
			}
			m, shapes := oneNode("Mul", 13, nil, 1, arg{Name: "a", Value: a}, arg{Name: "b", Value: b})
			y, g, labels := chainRunGrads[float32](t, m, shapes, []arg{{Name: "a", Value: a}, {Name: "b", Value: b}}, true)
			want, err := binaryKernel("Mul", func(x, y float64) float64 { return x * y })([]*tensor.Dense{a, b})
			if err != nil {
				t.Fatal(err)
			}
			wy, _ := Data[float32](want)
			same(t, c.small, "forward", y, wy)
			if labels["MulScale"]+labels["Mul"] != 1 || (sameInts(c.big, c.small) != (labels["Mul"] == 1)) {
				t.Errorf("%v x %v: kernels %v", c.big, c.small, labels)
			}
			// The loss's gradient is w (seed 99), as chainRunGrads makes it.
			dy := chainLossWeights[float32](len(wy))
			dyt := Dense(c.big, dy)
			for k, other := range []*tensor.Dense{b, a} {
				to := Shape([]*tensor.Dense{a, b}[k])
				wg, err := mulSumKernel(to, false)([]*tensor.Dense{dyt, other})
				if err != nil {
					t.Fatal(err)
				}
				wgd, _ := Data[float32](wg)
				same(t, c.small, "gradient", g[k], wgd)
			}
		}
	}
}

func same(t *testing.T, shape []int, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%v %s: %d elements, want %d", shape, what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%v %s %d: %v, want %v", shape, what, i, got[i], want[i])
		}
	}
}

// TestSigmoidSlice32: the float32 Sigmoid loop (AVX2 where the CPU has it)
// against the float64 formula rounded once: within one ulp everywhere on a
// fine grid of [-110, 110] and on the special values, equal almost
// everywhere, any length (the tail goes through the same loop).
func TestSigmoidSlice32(t *testing.T) {
	var x []float32
	for i := -1100000; i <= 1100000; i++ {
		x = append(x, float32(i)/10000)
	}
	x = append(x, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 1e-30, -1e-30, 200, -200,
		math.MaxFloat32, -math.MaxFloat32, 88.7, -88.7, 103.9, -103.9)
	s := make([]float32, len(x))
	sigmoidSlice32(s, x)
	differ := 0
	for i, v := range x {
		want := actSigmoid(v)
		if s[i] == want {
			continue
		}
		differ++
		if d := int64(math.Float32bits(s[i])) - int64(math.Float32bits(want)); d > 1 || d < -1 {
			t.Fatalf("sigmoid(%v) = %v, want %v", v, s[i], want)
		}
	}
	if differ > len(x)/10000 {
		t.Errorf("%d of %d values differ by an ulp", differ, len(x))
	}
	for n := range 9 {
		got := make([]float32, n)
		sigmoidSlice32(got, []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8}[:n])
		for i := range got {
			if i == 0 && got[0] == got[0] {
				t.Errorf("sigmoid(NaN) = %v", got[0])
			}
			if i > 0 && got[i] != actSigmoid(float32(i)) {
				t.Errorf("length %d: sigmoid(%d) = %v, want %v", n, i, got[i], actSigmoid(float32(i)))
			}
		}
	}
}
