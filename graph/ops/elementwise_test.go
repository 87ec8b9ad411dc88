package ops

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func TestUnaryGradients(t *testing.T) {
	cases := []struct {
		op     string
		lo, hi float64
	}{
		{"Sqrt", 0.5, 2}, {"Exp", -1, 1}, {"Log", 0.5, 2}, {"Reciprocal", 0.5, 2},
		{"Neg", -1, 1}, {"Abs", -1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			gradCheck(t, tc.op, 13, nil, arg{Name: "x", Value: randF64(11, tc.lo, tc.hi, 3, 4)})
		})
	}
}

func TestPowGradients(t *testing.T) {
	cases := []struct {
		name string
		x, y *tensor.Dense
		yArg bool // y is a graph input (differentiated when float)
	}{
		{"same_shape", randF64(1, 0.5, 2, 2, 3), randF64(2, -2, 2, 2, 3), true},
		{"broadcast_exponent", randF64(1, 0.5, 2, 2, 3), randF64(2, -2, 2, 3), true},
		{"broadcast_base", randF64(1, 0.5, 2, 3), randF64(2, -2, 2, 2, 3), true},
		{"square", randF64(3, -2, 2, 2, 3), Dense([]int{}, []float64{2}), false},
		{"square_input", randF64(3, 0.5, 2, 2, 3), Dense([]int{1}, []float64{2}), true},
		{"int_exponent", randF64(3, -2, 2, 2, 3), Dense([]int{}, []int64{3}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, "Pow", 15, nil, arg{Name: "x", Value: tc.x}, arg{Name: "y", Value: tc.y, Const: !tc.yArg})
		})
	}
}

func TestVariadicGradients(t *testing.T) {
	for _, op := range []string{"Sum", "Mean", "Max", "Min"} {
		for _, tc := range []struct {
			name   string
			shapes [][]int
		}{
			{"one", [][]int{{2, 3}}},
			{"two_broadcast", [][]int{{2, 3}, {3}}},
			{"three_broadcast", [][]int{{2, 1}, {1, 3}, {2, 3}}},
		} {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				var args []arg
				for i, s := range tc.shapes {
					args = append(args, arg{Name: string(rune('a' + i)), Value: randF64(int64(20+i), -1, 1, s...)})
				}
				gradCheck(t, op, 13, nil, args...)
			})
		}
	}
}

// TestMaxMinTies checks the tie rule: the gradient is split evenly among the
// inputs that hold the extreme (PyTorch's maximum/minimum for two inputs).
func TestMaxMinTies(t *testing.T) {
	for _, op := range []string{"Max", "Min"} {
		t.Run(op, func(t *testing.T) {
			a := Dense([]int{4}, []float64{1, 2, 3, 4})
			b := Dense([]int{4}, []float64{1, 0, 5, 4})
			ga, gb := gradsOf(t, op, a, b)
			for i := range ga {
				va, _ := Data[float64](a)
				vb, _ := Data[float64](b)
				wins := func(x, y float64) bool { return x > y }
				if op == "Min" {
					wins = func(x, y float64) bool { return x < y }
				}
				switch {
				case va[i] == vb[i]:
					if ga[i] != gb[i] || ga[i] != 0.5 {
						t.Errorf("tie at %d: gradients %g and %g, want half each", i, ga[i], gb[i])
					}
				case wins(va[i], vb[i]):
					if ga[i] != 1 || gb[i] != 0 {
						t.Errorf("a wins at %d: gradients %g and %g", i, ga[i], gb[i])
					}
				default:
					if ga[i] != 0 || gb[i] != 1 {
						t.Errorf("b wins at %d: gradients %g and %g", i, ga[i], gb[i])
					}
				}
			}
		})
	}
}

// gradsOf returns d sum(op(a, b)) / da and / db.
func gradsOf(t *testing.T, op string, a, b *tensor.Dense) ([]float64, []float64) {
	t.Helper()
	m, shapes := oneNode(op, 13, nil, 1, arg{Name: "a", Value: a}, arg{Name: "b", Value: b})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	loss := G.Must(G.Sum(p.Outputs[0].Node))
	grads, err := G.Grad(loss, p.Inputs["a"], p.Inputs["b"])
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	G.Let(p.Inputs["a"], a)
	G.Let(p.Inputs["b"], b)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, g := range grads {
		v, _ := Data[float64](g.Value().(*tensor.Dense))
		out = append(out, append([]float64(nil), v...))
	}
	return out[0], out[1]
}

func TestWhereGradients(t *testing.T) {
	cond := func(shape ...int) *tensor.Dense {
		v, _ := Data[float64](randF64(30, -1, 1, shape...))
		c := make([]bool, len(v))
		for i, x := range v {
			c[i] = x > 0
		}
		return Dense(shape, c)
	}
	cases := []struct {
		name    string
		c, x, y *tensor.Dense
	}{
		{"same_shape", cond(2, 3), randF64(1, -1, 1, 2, 3), randF64(2, -1, 1, 2, 3)},
		{"broadcast_cond", cond(3), randF64(1, -1, 1, 2, 3), randF64(2, -1, 1, 2, 3)},
		{"broadcast_values", cond(2, 3), randF64(1, -1, 1, 2, 1), randF64(2, -1, 1, 3)},
		{"broadcast_all", cond(2, 1, 1), randF64(1, -1, 1, 1, 3, 1), randF64(2, -1, 1, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, "Where", 16, nil, arg{Name: "c", Value: tc.c}, arg{Name: "x", Value: tc.x}, arg{Name: "y", Value: tc.y})
		})
	}
}

// TestCastGradient: float64 -> float32 passes the gradient back, cast to
// float64 (finite differences through float32 would be too coarse).
func TestCastGradient(t *testing.T) {
	x := randF64(40, -1, 1, 2, 3)
	m, shapes := oneNode("Cast", 13, []*graph.Attribute{attrInt("to", int64(graph.Float32))}, 1, arg{Name: "x", Value: x})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := toFloat32(randF64(41, -1, 1, 2, 3))
	wn := G.NewTensor(p.Graph, tensor.Float32, 2, G.WithShape(2, 3), G.WithName("w"), G.WithValue(w))
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(p.Outputs[0].Node, wn))))
	grads, err := G.Grad(loss, p.Inputs["x"])
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	G.Let(p.Inputs["x"], x)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	g, err := Data[float64](grads[0].Value().(*tensor.Dense))
	if err != nil {
		t.Fatal(err)
	}
	wv, _ := Data[float32](w)
	for i := range wv {
		if g[i] != float64(wv[i]) {
			t.Fatalf("gradient %d is %g, want %g", i, g[i], wv[i])
		}
	}
}

// TestCastSemantics checks conversions against Go's: floats truncate toward
// zero, anything non-zero is true.
func TestCastSemantics(t *testing.T) {
	x := Dense([]int{6}, []float32{-2.7, -0.5, 0, 0.5, 2.7, float32(math.NaN())})
	xs, _ := Data[float32](x)
	t.Run("int64", func(t *testing.T) {
		out := run(t, "Cast", 13, []*graph.Attribute{attrInt("to", int64(graph.Int64))}, 1, arg{Name: "x", Value: x})[0]
		got, err := Data[int64](out)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range xs[:5] {
			if got[i] != int64(v) {
				t.Errorf("%g -> %d, want %d", v, got[i], int64(v))
			}
		}
	})
	t.Run("bool", func(t *testing.T) {
		out := run(t, "Cast", 13, []*graph.Attribute{attrInt("to", int64(graph.Bool))}, 1, arg{Name: "x", Value: x})[0]
		got, err := Data[bool](out)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range xs {
			if got[i] != (v != 0) {
				t.Errorf("%g -> %v", v, got[i])
			}
		}
	})
	t.Run("opset1_string_to", func(t *testing.T) {
		to := &graph.Attribute{Name: "to", Type: graph.AttrString, S: []byte("DOUBLE")}
		out := run(t, "Cast", 1, []*graph.Attribute{to}, 1, arg{Name: "x", Value: x})[0]
		if out.Dtype() != tensor.Float64 {
			t.Fatalf("type %v", out.Dtype())
		}
	})
	t.Run("castlike", func(t *testing.T) {
		out := run(t, "CastLike", 15, nil, 1, arg{Name: "x", Value: x}, arg{Name: "like", Value: Dense([]int{1}, []int32{0})})[0]
		if out.Dtype() != tensor.Int32 {
			t.Fatalf("type %v", out.Dtype())
		}
	})
}

// TestComparisonsAndLogic checks the comparison and logic ops, with
// broadcasting, against Go's operators.
func TestComparisonsAndLogic(t *testing.T) {
	a := Dense([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := Dense([]int{3}, []float32{2, 2, 7})
	av, _ := Data[float32](a)
	bv, _ := Data[float32](b)
	cmp := map[string]func(x, y float32) bool{
		"Equal": func(x, y float32) bool { return x == y }, "Less": func(x, y float32) bool { return x < y },
		"Greater": func(x, y float32) bool { return x > y }, "LessOrEqual": func(x, y float32) bool { return x <= y },
		"GreaterOrEqual": func(x, y float32) bool { return x >= y },
	}
	for op, f := range cmp {
		t.Run(op, func(t *testing.T) {
			out := run(t, op, 16, nil, 1, arg{Name: "a", Value: a}, arg{Name: "b", Value: b})[0]
			got, err := Data[bool](out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if want := f(av[i], bv[i%3]); got[i] != want {
					t.Errorf("element %d: %v, want %v", i, got[i], want)
				}
			}
		})
	}
	p := Dense([]int{2, 2}, []bool{true, true, false, false})
	q := Dense([]int{2}, []bool{true, false})
	pv, _ := Data[bool](p)
	qv, _ := Data[bool](q)
	logic := map[string]func(x, y bool) bool{
		"And": func(x, y bool) bool { return x && y }, "Or": func(x, y bool) bool { return x || y },
		"Xor": func(x, y bool) bool { return x != y }, "Equal": func(x, y bool) bool { return x == y },
	}
	for op, f := range logic {
		t.Run(op+"_bool", func(t *testing.T) {
			out := run(t, op, 16, nil, 1, arg{Name: "p", Value: p}, arg{Name: "q", Value: q})[0]
			got, _ := Data[bool](out)
			for i := range got {
				if want := f(pv[i], qv[i%2]); got[i] != want {
					t.Errorf("element %d: %v, want %v", i, got[i], want)
				}
			}
		})
	}
	t.Run("Not", func(t *testing.T) {
		out := run(t, "Not", 1, nil, 1, arg{Name: "p", Value: p})[0]
		got, _ := Data[bool](out)
		for i := range got {
			if got[i] == pv[i] {
				t.Errorf("element %d: %v", i, got[i])
			}
		}
	})
}

// TestIntShapeArithmeticFolds: the int64 ops of transformer shape subgraphs
// fold to constants when their inputs are constants.
func TestIntShapeArithmeticFolds(t *testing.T) {
	shape := Dense([]int{3}, []int64{2, 7, 64})
	minus1 := Dense([]int{3}, []int64{-1, -1, -1})
	sv, _ := Data[int64](shape)
	for _, tc := range []struct {
		op    string
		args  []arg
		check func(i int, got any) bool
	}{
		{"Equal", []arg{{Name: "s", Value: shape, Const: true}, {Name: "m", Value: Dense([]int{}, []int64{7}), Const: true}},
			func(i int, got any) bool { return got.(bool) == (sv[i] == 7) }},
		{"Where", []arg{{Name: "c", Value: Dense([]int{3}, []bool{true, false, true}), Const: true}, {Name: "s", Value: shape, Const: true}, {Name: "m", Value: minus1, Const: true}},
			func(i int, got any) bool { return got.(int64) == map[bool]int64{true: sv[i], false: -1}[i != 1] }},
		{"Mul", []arg{{Name: "s", Value: shape, Const: true}, {Name: "m", Value: minus1, Const: true}},
			func(i int, got any) bool { return got.(int64) == -sv[i] }},
		{"Add", []arg{{Name: "s", Value: shape, Const: true}, {Name: "m", Value: minus1, Const: true}},
			func(i int, got any) bool { return got.(int64) == sv[i]-1 }},
		{"Cast", []arg{{Name: "s", Value: shape, Const: true}},
			func(i int, got any) bool { return got.(float32) == float32(sv[i]) }},
	} {
		t.Run(tc.op, func(t *testing.T) {
			var attrs []*graph.Attribute
			if tc.op == "Cast" {
				attrs = append(attrs, attrInt("to", int64(graph.Float32)))
			}
			m, shapes := oneNode(tc.op, 16, attrs, 1, tc.args...)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out := p.Outputs[0]
			if !out.IsConst() {
				t.Fatal("not folded")
			}
			for i := 0; i < out.Size(); i++ {
				if got := out.Const.Get(i); !tc.check(i, got) {
					t.Errorf("element %d: %v", i, got)
				}
			}
		})
	}
}

func TestIntUnaryAndPow(t *testing.T) {
	x := Dense([]int{4}, []int64{-3, -1, 0, 5})
	xv, _ := Data[int64](x)
	for _, op := range []string{"Neg", "Abs"} {
		t.Run(op, func(t *testing.T) {
			got, _ := Data[int64](run(t, op, 13, nil, 1, arg{Name: "x", Value: x})[0])
			for i, v := range xv {
				want := -v
				if op == "Abs" && v >= 0 {
					want = v
				}
				if got[i] != want {
					t.Errorf("%s(%d) = %d, want %d", op, v, got[i], want)
				}
			}
		})
	}
	t.Run("Pow_int", func(t *testing.T) {
		got, _ := Data[int64](run(t, "Pow", 15, nil, 1, arg{Name: "x", Value: x}, arg{Name: "y", Value: Dense([]int{}, []int64{3})})[0])
		for i, v := range xv {
			if got[i] != v*v*v {
				t.Errorf("%d^3 = %d", v, got[i])
			}
		}
	})
}

// TestMaskedFillGradient differentiates the masked-fill pattern of attention
// exports: Where(Equal(mask, 0), -1e4, scores) with scores = Mul(x, y),
// with the comparison outside the gradient path.
func TestMaskedFillGradient(t *testing.T) {
	n := func(op string, in []string, out string) *graph.Node {
		return &graph.Node{Name: "/" + out, OpType: op, Inputs: in, Outputs: []string{out}}
	}
	nodes := []*graph.Node{
		n("Mul", []string{"x", "y"}, "s"),
		n("Less", []string{"x", "zero"}, "neg"),
		n("Equal", []string{"mask", "izero"}, "masked"),
		n("Where", []string{"masked", "fill", "s"}, "f"),
		n("Where", []string{"neg", "f", "x"}, "out"),
	}
	args := []arg{
		{Name: "x", Value: randF64(70, -1, 1, 2, 3)},
		{Name: "y", Value: randF64(71, -1, 1, 3)},
		{Name: "mask", Value: Dense([]int{3}, []int64{1, 0, 1})},
		{Name: "zero", Value: Dense([]int{}, []float64{0}), Const: true},
		{Name: "izero", Value: Dense([]int{}, []int64{0}), Const: true},
		{Name: "fill", Value: Dense([]int{}, []float64{-1e4}), Const: true},
	}
	m, shapes := chainModel(16, args, nodes, "out")
	gradCheckModel(t, m, shapes, args)
}

// TestMod compares Mod with numpy's mod (fmod=0) and fmod (fmod=1), from
// testdata/mod.json (make_mod.py).
func TestMod(t *testing.T) {
	b, err := os.ReadFile("testdata/mod.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		A, B, Int64Mod, Int64Fmod, Int32Mod []int64
		Af, Bf, Float32Fmod                 []float64
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for k, dst := range map[string]any{"a": &ref.A, "b": &ref.B, "int64_mod": &ref.Int64Mod, "int64_fmod": &ref.Int64Fmod,
		"int32_mod": &ref.Int32Mod, "af": &ref.Af, "bf": &ref.Bf, "float32_fmod": &ref.Float32Fmod} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			t.Fatal(k, err)
		}
	}
	n := len(ref.A)
	fmod := []*graph.Attribute{{Name: "fmod", Type: graph.AttrInt, I: 1}}
	got64, _ := Data[int64](run(t, "Mod", 13, nil, 1, arg{Name: "a", Value: Dense([]int{n}, ref.A)}, arg{Name: "b", Value: Dense([]int{n}, ref.B)})[0])
	gotF, _ := Data[int64](run(t, "Mod", 13, fmod, 1, arg{Name: "a", Value: Dense([]int{n}, ref.A)}, arg{Name: "b", Value: Dense([]int{n}, ref.B)})[0])
	a32, b32 := make([]int32, n), make([]int32, n)
	af, bf := make([]float32, n), make([]float32, n)
	for i := range a32 {
		a32[i], b32[i] = int32(ref.A[i]), int32(ref.B[i])
		af[i], bf[i] = float32(ref.Af[i]), float32(ref.Bf[i])
	}
	got32, _ := Data[int32](run(t, "Mod", 13, nil, 1, arg{Name: "a", Value: Dense([]int{n}, a32)}, arg{Name: "b", Value: Dense([]int{n}, b32)})[0])
	gotf, _ := Data[float32](run(t, "Mod", 13, fmod, 1, arg{Name: "a", Value: Dense([]int{n}, af)}, arg{Name: "b", Value: Dense([]int{n}, bf)})[0])
	for i := 0; i < n; i++ {
		if got64[i] != ref.Int64Mod[i] || gotF[i] != ref.Int64Fmod[i] || int64(got32[i]) != ref.Int32Mod[i] || float64(gotf[i]) != ref.Float32Fmod[i] {
			t.Errorf("Mod(%d, %d): %d fmod %d int32 %d, want %d %d %d; float fmod(%g, %g) = %g, want %g", ref.A[i], ref.B[i],
				got64[i], gotF[i], got32[i], ref.Int64Mod[i], ref.Int64Fmod[i], ref.Int32Mod[i], ref.Af[i], ref.Bf[i], gotf[i], ref.Float32Fmod[i])
		}
	}
	m, shapes := oneNode("Mod", 13, nil, 1, arg{Name: "a", Value: Dense([]int{n}, af)}, arg{Name: "b", Value: Dense([]int{n}, bf)})
	if _, err := Compile(m, shapes, Options{}); err == nil {
		t.Error("float Mod with fmod=0 compiled")
	}
}
