package ops

import (
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

func TestGemmGradients(t *testing.T) {
	cases := []struct {
		name  string
		opset int64
		attrs []*graph.Attribute
		a, b  []int
		c     []int // nil: no C
	}{
		{name: "default", opset: 13, a: []int{3, 4}, b: []int{4, 5}, c: []int{3, 5}},
		{name: "transA", opset: 13, attrs: []*graph.Attribute{attrInt("transA", 1)}, a: []int{4, 3}, b: []int{4, 5}, c: []int{3, 5}},
		{name: "transB", opset: 13, attrs: []*graph.Attribute{attrInt("transB", 1)}, a: []int{3, 4}, b: []int{5, 4}, c: []int{5}},
		{name: "transA_transB", opset: 13, attrs: []*graph.Attribute{attrInt("transA", 1), attrInt("transB", 1)}, a: []int{4, 3}, b: []int{5, 4}, c: []int{3, 1}},
		{name: "alpha_beta", opset: 13, attrs: []*graph.Attribute{attrFloat("alpha", 0.5), attrFloat("beta", -2)}, a: []int{3, 4}, b: []int{4, 5}, c: []int{1, 5}},
		{name: "one_elem_C", opset: 13, a: []int{3, 4}, b: []int{4, 5}, c: []int{1}},
		{name: "no_C", opset: 13, attrs: []*graph.Attribute{attrInt("transB", 1)}, a: []int{2, 4}, b: []int{3, 4}},
		{name: "opset7_linear", opset: 7, attrs: []*graph.Attribute{attrInt("transB", 1)}, a: []int{2, 6}, b: []int{3, 6}, c: []int{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []arg{{Name: "a", Value: randF64(1, -1, 1, tc.a...)}, {Name: "b", Value: randF64(2, -1, 1, tc.b...)}}
			if tc.c != nil {
				args = append(args, arg{Name: "c", Value: randF64(3, -1, 1, tc.c...)})
			}
			gradCheck(t, "Gemm", tc.opset, tc.attrs, args...)
		})
	}
}

func TestMatMulGradients(t *testing.T) {
	cases := []struct {
		name string
		a, b []int
	}{
		{"2d", []int{3, 4}, []int{4, 5}},
		{"1d_1d", []int{4}, []int{4}},
		{"1d_2d", []int{4}, []int{4, 3}},
		{"2d_1d", []int{3, 4}, []int{4}},
		{"1d_3d", []int{4}, []int{2, 4, 3}},
		{"4d_1d", []int{2, 2, 3, 4}, []int{4}},
		{"3d_2d_linear", []int{2, 3, 4}, []int{4, 5}},
		{"2d_3d", []int{3, 4}, []int{2, 4, 5}},
		{"3d_3d", []int{2, 3, 4}, []int{2, 4, 5}},
		{"broadcast_batch", []int{2, 1, 3, 4}, []int{3, 4, 2}},
		{"broadcast_both", []int{1, 2, 3, 4}, []int{3, 1, 4, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, "MatMul", 13, nil,
				arg{Name: "a", Value: randF64(4, -1, 1, tc.a...)},
				arg{Name: "b", Value: randF64(5, -1, 1, tc.b...)})
		})
	}
}

// TestMatMulFloat32MatchesFloat64 checks the float32 BLAS path against the
// float64 one on the same (broadcast, batched) operands.
func TestMatMulFloat32MatchesFloat64(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []int
	}{{"linear", []int{4, 7, 16}, []int{16, 9}}, {"batched", []int{3, 1, 5, 8}, []int{2, 8, 6}}} {
		t.Run(tc.name, func(t *testing.T) {
			a64, b64 := randF64(6, -1, 1, tc.a...), randF64(7, -1, 1, tc.b...)
			want := run(t, "MatMul", 13, nil, 1, arg{Name: "a", Value: a64}, arg{Name: "b", Value: b64})[0]
			got := run(t, "MatMul", 13, nil, 1, arg{Name: "a", Value: toFloat32(a64)}, arg{Name: "b", Value: toFloat32(b64)})[0]
			if !sameInts(Shape(got), Shape(want)) {
				t.Fatalf("shape %v, float64 gives %v", Shape(got), Shape(want))
			}
			g, _ := Data[float32](got)
			w, _ := Data[float64](want)
			for i := range w {
				if d := float64(g[i]) - w[i]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("element %d: float32 %g, float64 %g", i, g[i], w[i])
				}
			}
		})
	}
}

func TestMatrixErrors(t *testing.T) {
	cases := []struct {
		name, op string
		opset    int64
		args     []arg
		want     string
	}{
		{"gemm_inner", "Gemm", 13, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 3)}, {Name: "b", Value: randF64(1, 0, 1, 4, 5)}}, "op(A) is 2x3"},
		{"gemm_rank", "Gemm", 13, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 3, 1)}, {Name: "b", Value: randF64(1, 0, 1, 3, 5)}}, "want 2 each"},
		{"gemm_C", "Gemm", 13, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 3)}, {Name: "b", Value: randF64(1, 0, 1, 3, 5)}, {Name: "c", Value: randF64(1, 0, 1, 2, 4)}}, "does not broadcast"},
		{"gemm_no_C_opset9", "Gemm", 9, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 3)}, {Name: "b", Value: randF64(1, 0, 1, 3, 5)}}, "required"},
		{"matmul_inner", "MatMul", 13, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 3)}, {Name: "b", Value: randF64(1, 0, 1, 4)}}, "inner dimensions"},
		{"matmul_batch", "MatMul", 13, []arg{{Name: "a", Value: randF64(1, 0, 1, 2, 2, 3)}, {Name: "b", Value: randF64(1, 0, 1, 3, 3, 4)}}, "batch dimensions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode(tc.op, tc.opset, nil, 1, tc.args...)
			_, err := Compile(m, shapes, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func toFloat32(t *tensor.Dense) *tensor.Dense {
	v, _ := Data[float64](t)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return Dense(Shape(t), out)
}

func BenchmarkMatMul_b8_t128_768x768(b *testing.B) {
	if testing.Short() {
		b.Skip("large")
	}
	r := rand.New(rand.NewSource(1))
	a := make([]float32, 8*128*768)
	w := make([]float32, 768*768)
	for i := range a {
		a[i] = r.Float32()
	}
	for i := range w {
		w[i] = r.Float32()
	}
	p, err := newMatmulPlan([]int{8, 128, 768}, []int{768, 768})
	if err != nil {
		b.Fatal(err)
	}
	in := []*tensor.Dense{Dense([]int{8, 128, 768}, a), Dense([]int{768, 768}, w)}
	fwd := p.forward()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := fwd(in); err != nil {
			b.Fatal(err)
		}
	}
}
