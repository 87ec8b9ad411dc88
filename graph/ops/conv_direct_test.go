package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// directCase is a grouped convolution over 1-3 spatial dimensions with
// explicit pads.
type directCase struct {
	name                string
	n, c, m, group      int
	in, k, s, d, pb, pe []int
}

func (dc directCase) dims() *convDims {
	out := make([]int, len(dc.in))
	for i := range out {
		out[i] = (dc.in[i]+dc.pb[i]+dc.pe[i]-(dc.k[i]-1)*dc.d[i]-1)/dc.s[i] + 1
	}
	return &convDims{n: dc.n, c: dc.c, m: dc.m, group: dc.group,
		g: newConvGeom(dc.in, out, dc.k, dc.s, dc.d, dc.pb, dc.pe)}
}

func two(a, b int) []int { return []int{a, b} }

var directCases = []directCase{
	{"dw3x3_s1_odd", 1, 5, 5, 5, two(7, 9), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"dw3x3_s1_b3", 3, 4, 4, 4, two(6, 6), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"dw3x3_s2", 3, 3, 3, 3, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
	{"dw3x3_s2_odd", 1, 3, 3, 3, two(9, 7), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
	{"dw5x5_s2_asym_pads", 3, 2, 2, 2, two(11, 10), two(5, 5), two(2, 2), two(1, 1), two(2, 1), two(1, 2)},
	{"dw5x5_s1_wide", 1, 2, 2, 2, two(3, 45), two(5, 5), two(1, 1), two(1, 1), two(2, 2), two(2, 2)},
	{"dw3x3_s1_wide_41", 3, 2, 2, 2, two(4, 41), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"dw3x3_dilated", 3, 3, 3, 3, two(9, 9), two(3, 3), two(1, 1), two(2, 2), two(2, 2), two(2, 2)},
	{"dw3x3_s2_dilated_2_3", 1, 2, 2, 2, two(12, 13), two(3, 3), two(2, 2), two(2, 3), two(1, 3), two(2, 0)},
	{"dw3x3_s3", 3, 2, 2, 2, two(10, 11), two(3, 3), two(3, 3), two(1, 1), two(1, 1), two(1, 1)},
	{"dw2x4_s1_2", 1, 3, 3, 3, two(6, 9), two(2, 4), two(1, 2), two(1, 1), two(0, 2), two(1, 1)},
	{"dw_no_pad", 3, 2, 2, 2, two(5, 6), two(3, 3), two(1, 1), two(1, 1), two(0, 0), two(0, 0)},
	{"dw_pad_past_kernel", 1, 2, 2, 2, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(3, 3), two(3, 3)},
	{"dw_1x1_s2", 3, 4, 4, 4, two(5, 5), two(1, 1), two(2, 2), two(1, 1), two(0, 0), two(0, 0)},
	{"dw_2px", 3, 6, 6, 6, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"multiplier2", 3, 3, 6, 3, two(7, 7), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"multiplier3_s2_dilated", 1, 2, 6, 2, two(9, 8), two(3, 3), two(2, 2), two(2, 1), two(2, 1), two(1, 1)},
	{"groups2_cg3_mg2", 3, 6, 4, 2, two(7, 6), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"groups4_cg2_s1_2_d1_3", 1, 8, 8, 4, two(7, 11), two(2, 3), two(1, 2), two(1, 3), two(1, 2), two(0, 1)},
	{"groups3_cg4_s2", 3, 12, 6, 3, two(9, 9), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
	{"dw_1d", 3, 3, 3, 3, []int{17}, []int{3}, []int{2}, []int{1}, []int{1}, []int{2}},
	{"dw_3d", 3, 2, 4, 2, []int{4, 5, 6}, []int{3, 3, 3}, []int{1, 2, 2}, []int{1, 1, 2}, []int{1, 1, 2}, []int{1, 0, 1}},
	// Large enough to split across the cores.
	{"dw3x3_split", 4, 16, 16, 16, two(20, 21), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	{"groups8_cg2_s2_split", 3, 16, 16, 8, two(22, 20), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
}

// TestConvDirectMatchesGemm checks the direct loops for grouped
// convolutions against im2col and a GEMM per group (the path the ONNX
// Runtime and PyTorch parity tests verify): forward with bias and with the
// fused Relu, input gradient, weight gradient, in float64 and float32.
func TestConvDirectMatchesGemm(t *testing.T) {
	for _, dc := range directCases {
		t.Run(dc.name, func(t *testing.T) {
			cd := dc.dims()
			if !cd.convDirectFits() {
				t.Fatal("the direct loops do not take this case")
			}
			K := cd.g.kSize()
			shapeX := append([]int{dc.n, dc.c}, dc.in...)
			x, _ := Data[float64](randF64(1, -1, 1, shapeX...))
			w, _ := Data[float64](randF64(2, -1, 1, dc.m, dc.c/dc.group*K))
			b, _ := Data[float64](randF64(3, -1, 1, dc.m))
			dy, _ := Data[float64](randF64(4, -1, 1, dc.n*dc.m*cd.g.outSize()))
			directCompare(t, cd, x, w, b, dy, 1e-12)
			directCompare(t, cd, to32(x), to32(w), to32(b), to32(dy), 2e-5)
		})
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// directCompare runs both kernel families and compares their results
// (relative to the largest magnitude of the reference).
func directCompare[T Float](t *testing.T, cd *convDims, x, w, b, dy []T, tol float64) {
	t.Helper()
	type results struct{ y, yRelu, dx, dw []T }
	runAll := func(path int) results {
		var r results
		withConvPath(path, func() {
			if !cd.directGroups(false) && path == convPathDirect {
				t.Fatal("convPathDirect does not select the direct loops")
			}
			r.y = make([]T, len(dy))
			convForward(x, w, b, cd, r.y)
			relu := *cd
			relu.relu = true
			r.yRelu = make([]T, len(dy))
			for i := range r.yRelu {
				r.yRelu[i] = T(math.NaN()) // every element must be written
			}
			convForward(x, w, b, &relu, r.yRelu)
			r.dx = make([]T, len(x))
			for i := range r.dx {
				r.dx[i] = T(math.NaN())
			}
			convBackwardData(dy, w, cd, r.dx)
			r.dw = make([]T, len(w))
			for i := range r.dw {
				r.dw[i] = T(math.NaN())
			}
			convBackwardWeight(dy, x, cd, r.dw)
		})
		return r
	}
	want, got := runAll(convPathGemm), runAll(convPathDirect)
	for _, c := range []struct {
		what      string
		got, want []T
	}{{"forward", got.y, want.y}, {"forward with Relu", got.yRelu, want.yRelu},
		{"input gradient", got.dx, want.dx}, {"weight gradient", got.dw, want.dw}} {
		scale := 1.0
		for _, v := range c.want {
			scale = max(scale, math.Abs(float64(v)))
		}
		for i := range c.want {
			if d := math.Abs(float64(c.got[i] - c.want[i])); !(d <= tol*scale) {
				t.Fatalf("%T %s: element %d is %v, the GEMM path gives %v", x, c.what, i, c.got[i], c.want[i])
			}
		}
	}
}

// TestConvDirectGradients runs the finite-difference gradient checks and
// the definition's loop on the grouped cases of convCases with the direct
// loops forced (small groups, which the engine may give the GEMM), and
// ConvTranspose's grouped case likewise.
func TestConvDirectGradients(t *testing.T) {
	for _, c := range convCases {
		if a := attrOf(c.attrs, "group"); a == nil || a.I == 1 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			withConvPath(convPathDirect, func() {
				gradCheck(t, "Conv", 13, c.attrs, convArgs(c)...)
				args := convArgs(c)
				got, _ := Data[float64](run(t, "Conv", 13, c.attrs, 1, args...)[0])
				convCompare(t, "float64", got, naiveConv(t, c, args), 1e-12)
			})
		})
	}
	t.Run("transpose_grouped", func(t *testing.T) {
		withConvPath(convPathDirect, func() {
			gradCheck(t, "ConvTranspose", 13, []*graph.Attribute{attrInt("group", 2), attrInts("strides", 2, 2)},
				arg{Name: "x", Value: randF64(4, -1, 1, 2, 4, 3, 3)}, arg{Name: "w", Value: randF64(5, -1, 1, 4, 2, 2, 2)},
				arg{Name: "b", Value: randF64(6, -1, 1, 4)})
		})
	})
}

// TestConvTapKernels checks the tap kernels (the assembly where the CPU
// has it) against their Go loops on every run length up to 70, blocks of
// 1 and 3 rows and a few tap counts.
func TestConvTapKernels(t *testing.T) {
	base, _ := Data[float32](toF32(randF64(7, -1, 1, 600)))
	wts, _ := Data[float32](toF32(randF64(8, -1, 1, 25)))
	dy, _ := Data[float32](toF32(randF64(9, -1, 1, 3*80)))
	for n := 1; n <= 70; n++ {
		for _, rows := range []int{1, 3} {
			for _, taps := range []int{1, 2, 3, 9, 25} {
				off := make([]int32, taps)
				for i := range off {
					off[i] = int32((i * 37) % (len(base) - n - 2*75))
				}
				convTapCheck(n+2*75, len(base), off)
				got, want := make([]float32, 3*80), make([]float32, 3*80)
				convTapRows(got, n, rows, 80, 0.5, base, 75, off, wts[:taps])
				convTapRowsGo(want, n, rows, 80, 0.5, base, 75, off, wts[:taps])
				what := fmt.Sprintf("n=%d rows=%d taps=%d", n, rows, taps)
				tapClose(t, "rows "+what, got, want)
				gotAcc, wantAcc := make([]float32, taps), make([]float32, taps)
				for i := range gotAcc {
					gotAcc[i], wantAcc[i] = float32(i), float32(i)
				}
				convTapDots(gotAcc, dy, n, rows, 80, base, 75, off)
				convTapDotsGo(wantAcc, dy, n, rows, 80, base, 75, off)
				tapClose(t, "dots "+what, gotAcc, wantAcc)
			}
		}
	}
}

func tapClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*max(1, math.Abs(float64(want[i])))) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestGather2 checks the stride-2 gather of the phased copies (AVX2 blocks
// of 8 and the Go tail) against a loop, at lengths around the block size
// and with src just long enough or longer.
func TestGather2(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 16, 17, 33} {
		for _, extra := range []int{0, 1, 5} {
			src := make([]float32, 2*n-1+extra)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			dst := make([]float32, n)
			gather2(dst, src)
			for j, v := range dst {
				if v != src[2*j] {
					t.Fatalf("n %d, src of %d: dst[%d] = %v, want %v", n, len(src), j, v, src[2*j])
				}
			}
		}
	}
}
