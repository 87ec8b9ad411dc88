package ops

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func padMode(mode string) *graph.Attribute {
	return &graph.Attribute{Name: "mode", Type: graph.AttrString, S: []byte(mode)}
}

func TestIndexGradients(t *testing.T) {
	x := func() arg { return arg{Name: "x", Value: randF64(1, -1, 1, 3, 4, 5)} }
	c := func(name string, v *tensor.Dense) arg { return arg{Name: name, Value: v, Const: true} }
	cases := []struct {
		name  string
		op    string
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}{
		{"Slice/attributes-opset9", "Slice", 9, []*graph.Attribute{attrInts("starts", 1, 0), attrInts("ends", 3, -1), attrInts("axes", 0, 2)}, []arg{x()}},
		{"Slice/default-axes", "Slice", 13, nil, []arg{x(), c("b", i64s(1, -3)), c("e", i64s(2, 100))}},
		{"Slice/steps", "Slice", 13, nil, []arg{x(), c("b", i64s(0, 1)), c("e", i64s(math.MaxInt64, 5)), c("a", i64s(-1, 1)), c("s", i64s(2, 2))}},
		{"Slice/negative-steps", "Slice", 13, nil, []arg{x(), c("b", i64s(-1, 10)), c("e", i64s(math.MinInt64, 0)), c("a", i64s(2, 1)), c("s", i64s(-2, -1))}},
		{"Concat/axis1", "Concat", 13, []*graph.Attribute{attrInt("axis", 1)},
			[]arg{x(), {Name: "y", Value: randF64(2, -1, 1, 3, 2, 5)}, {Name: "z", Value: randF64(3, -1, 1, 3, 1, 5)}}},
		{"Concat/axis-negative-with-constant", "Concat", 13, []*graph.Attribute{attrInt("axis", -1)},
			[]arg{x(), c("k", randF64(4, -1, 1, 3, 4, 2)), {Name: "y", Value: randF64(5, -1, 1, 3, 4, 1)}}},
		{"Gather/embedding", "Gather", 13, nil,
			[]arg{{Name: "w", Value: randF64(6, -1, 1, 5, 3)}, c("i", Dense([]int{2, 3}, []int64{0, 4, 4, 1, 0, 0}))}},
		{"Gather/indices-input", "Gather", 13, nil,
			[]arg{{Name: "w", Value: randF64(6, -1, 1, 5, 3)}, {Name: "i", Value: Dense([]int{4}, []int64{3, 3, -1, 0})}}},
		{"Gather/axis1-negative", "Gather", 13, []*graph.Attribute{attrInt("axis", 1)}, []arg{x(), c("i", i64s(-1, 1, -1))}},
		{"Gather/scalar-index", "Gather", 13, []*graph.Attribute{attrInt("axis", -1)}, []arg{x(), c("i", i64(2))}},
		{"Gather/int32-indices", "Gather", 13, nil, []arg{x(), c("i", Dense([]int{2}, []int32{2, 0}))}},
		{"Pad/constant", "Pad", 13, nil, []arg{x(), c("p", i64s(0, 1, 2, 1, 0, 1)), c("v", tensor.New(tensor.FromScalar(1.5)))}},
		{"Pad/constant-negative", "Pad", 13, nil, []arg{x(), c("p", i64s(-1, 1, 0, 0, 2, -2))}},
		{"Pad/reflect", "Pad", 13, []*graph.Attribute{padMode("reflect")}, []arg{x(), c("p", i64s(0, 3, 2, 0, 5, 1))}},
		{"Pad/edge", "Pad", 13, []*graph.Attribute{padMode("edge")}, []arg{x(), c("p", i64s(1, 0, 2, 2, 1, 3))}},
		{"Pad/wrap", "Pad", 19, []*graph.Attribute{padMode("wrap")}, []arg{x(), c("p", i64s(0, 2, 6, 0, 1, 1))}},
		{"Pad/axes-opset18", "Pad", 18, []*graph.Attribute{padMode("reflect")}, []arg{x(), c("p", i64s(1, 2, 2, 1)), {}, c("a", i64s(-1, 0))}},
		{"Pad/attributes-opset2", "Pad", 2, []*graph.Attribute{attrInts("pads", 0, 1, 1, 0, 1, 1), attrFloat("value", -2)}, []arg{x()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { gradCheck(t, tc.op, tc.opset, tc.attrs, tc.args...) })
	}
}

func TestSplitGradients(t *testing.T) {
	cases := []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
		split *tensor.Dense
		nOut  int
	}{
		{"input-opset13", 13, []*graph.Attribute{attrInt("axis", 1)}, i64s(1, 3), 2},
		{"attribute-opset11", 11, []*graph.Attribute{attrInt("axis", -1), attrInts("split", 2, 1, 2)}, nil, 3},
		{"equal-default", 13, nil, nil, 3},
		{"num-outputs-uneven-opset18", 18, []*graph.Attribute{attrInt("axis", 2), attrInt("num_outputs", 2)}, nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []arg{{Name: "x", Value: randF64(7, -1, 1, 3, 4, 5)}}
			n := &graph.Node{Name: "/Split", OpType: "Split", Inputs: []string{"x"}, Attrs: tc.attrs}
			if tc.split != nil {
				args = append(args, arg{Name: "split", Value: tc.split, Const: true})
				n.Inputs = append(n.Inputs, "split")
			}
			var outs []string
			for i := 0; i < tc.nOut; i++ {
				outs = append(outs, fmt.Sprint("out", i))
			}
			n.Outputs = outs
			m, shapes := chainModel(tc.opset, args, []*graph.Node{n}, outs...)
			gradCheckModel(t, m, shapes, args)
		})
	}
}

// TestPadFillFromGraph: a constant_value the graph computes is read when the
// machine runs, and gives the same result as the same value as a constant.
func TestPadFillFromGraph(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, -1, 1, 2, 3)}
	p := arg{Name: "p", Value: i64s(1, 0, 0, 2), Const: true}
	v := tensor.New(tensor.FromScalar(0.25))
	got := run(t, "Pad", 13, nil, 1, x, p, arg{Name: "v", Value: v})
	want := run(t, "Pad", 13, nil, 1, x, p, arg{Name: "v", Value: v, Const: true})
	a, _ := Data[float64](got[0])
	b, _ := Data[float64](want[0])
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("Pad with a computed value gives %v, with a constant %v", a, b)
	}
}

// TestViewFloat32 runs the float32 kernels (the gradient checks use
// float64) against the float64 ones on the same values.
func TestViewFloat32(t *testing.T) {
	x64 := randF64(8, -1, 1, 2, 3, 4)
	d, _ := Data[float64](x64)
	f := make([]float32, len(d))
	for i, v := range d {
		f[i] = float32(v)
	}
	x32 := Dense([]int{2, 3, 4}, f)
	for _, op := range []struct {
		name  string
		attrs []*graph.Attribute
		extra []arg
	}{
		{"Transpose", []*graph.Attribute{attrInts("perm", 2, 0, 1)}, nil},
		{"Pad", []*graph.Attribute{padMode("reflect")}, []arg{{Name: "p", Value: i64s(0, 1, 2, 1, 0, 3), Const: true}}},
		{"Gather", []*graph.Attribute{attrInt("axis", 1)}, []arg{{Name: "i", Value: i64s(2, -1), Const: true}}},
		{"Tile", nil, []arg{{Name: "r", Value: i64s(2, 1, 2), Const: true}}},
	} {
		t.Run(op.name, func(t *testing.T) {
			a := run(t, op.name, 19, op.attrs, 1, append([]arg{{Name: "x", Value: x32}}, op.extra...)...)
			b := run(t, op.name, 19, op.attrs, 1, append([]arg{{Name: "x", Value: x64}}, op.extra...)...)
			ga, _ := Data[float32](a[0])
			gb, _ := Data[float64](b[0])
			if len(ga) != len(gb) {
				t.Fatalf("%d float32 elements, %d float64", len(ga), len(gb))
			}
			for i := range ga {
				if float64(ga[i]) != float64(float32(gb[i])) {
					t.Fatalf("element %d: float32 %g, float64 %g", i, ga[i], gb[i])
				}
			}
		})
	}
}

// BenchmarkTransposeKernel_8x64x56x56 moves channels last, as attention
// heads and NCHW/NHWC swaps do.
func BenchmarkTransposeKernel_8x64x56x56(b *testing.B) {
	in := []int{8, 64, 56, 56}
	perm := []int{0, 2, 3, 1}
	st := rowStrides(in)
	out := make([]int, 4)
	off := make([][]int, 4)
	for i, p := range perm {
		out[i] = in[p]
		off[i] = stepTable(out[i], 0, st[p])
	}
	k := viewKernel(newViewMap(in, out, off), 0)
	x := []*tensor.Dense{Dense(in, make([]float32, sizeOf(in)))}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReshapeKernel_8x64x56x56(b *testing.B) {
	in := []int{8, 64, 56, 56}
	k := reshapeKernel([]int{8, 64 * 56 * 56})
	x := []*tensor.Dense{Dense(in, make([]float32, sizeOf(in)))}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k(x); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSliceExtremeRanges: starts, ends and steps at the ends of int64 are
// clamped as ONNX says, with no overflow in the count.
func TestSliceExtremeRanges(t *testing.T) {
	const lo, hi = math.MinInt64, math.MaxInt64
	for _, tc := range []struct {
		start, end, step, dim int
		first, count          int
	}{
		{lo, hi, lo, 2, 0, 0},
		{hi, lo, lo, 2, 1, 1},
		{0, hi, hi, 5, 0, 1},
		{lo, hi, hi, 5, 0, 1},
		{lo, hi, 1, 5, 0, 5},
		{hi, lo, -1, 5, 4, 5},
		{-1, lo, -2, 5, 4, 3},
		{3, hi, 2, 5, 3, 1},
		{hi, hi, 1, 5, 5, 0},
	} {
		first, count := sliceRange(tc.start, tc.end, tc.step, tc.dim)
		if count != tc.count || count > 0 && first != tc.first {
			t.Errorf("sliceRange(%d, %d, %d, %d) = %d, %d; want %d, %d", tc.start, tc.end, tc.step, tc.dim, first, count, tc.first, tc.count)
		}
	}
	// In a model, forward and backward (the tester's file: a Slice with
	// INT64_MIN start and step whose empty output is summed).
	i64 := func(name string, v int64) arg {
		return arg{Name: name, Value: Dense([]int{1}, []int64{v}), Const: true}
	}
	for _, c := range [][3]int64{{lo, hi, lo}, {hi, lo, lo}, {0, hi, hi}} {
		args := []arg{{Name: "x", Value: randF64(1, -1, 1, 2)}, i64("st", c[0]), i64("en", c[1]), i64("ax", 0), i64("stp", c[2])}
		nodes := []*graph.Node{
			{Name: "slice", OpType: "Slice", Inputs: []string{"x", "st", "en", "ax", "stp"}, Outputs: []string{"y"}},
			{Name: "sum", OpType: "ReduceSum", Inputs: []string{"y"}, Outputs: []string{"s"}, Attrs: []*graph.Attribute{attrInt("keepdims", 0)}},
			{Name: "mul", OpType: "Mul", Inputs: []string{"x", "s"}, Outputs: []string{"z"}},
		}
		m, shapes := chainModel(13, args, nodes, "z")
		gradCheckModel(t, m, shapes, args)
	}
}
