package ops

import (
	"fmt"
	"math"
	"testing"
)

// TestConvDataAdjoint: the data gradient as a forward convolution of dy
// with the flipped weights (an implicit GEMM) against the GEMM and col2im
// it replaces. The sums run in another order, so the test compares both
// with the col2im path in float64, within float32 rounding, with chunks as
// the engine makes them and smaller ones; it also checks which
// convolutions take the new path.
func TestConvDataAdjoint(t *testing.T) {
	for _, tc := range []struct {
		n, c, m, h, w, kh, kw, s, d int
		pb, pe                      [2]int
		want                        bool // convDataAdjoint applies
	}{
		{3, 8, 16, 16, 16, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true},  // layer1
		{5, 16, 24, 8, 8, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true},   // layer2: chunks
		{6, 32, 16, 4, 4, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true},   // layer3
		{3, 4, 8, 11, 9, 3, 5, 1, 2, [2]int{2, 1}, [2]int{0, 3}, true},    // dilated, not square, uneven padding
		{3, 4, 8, 1, 40, 1, 5, 1, 1, [2]int{0, 2}, [2]int{0, 1}, true},    // 1-D
		{2, 5, 7, 9, 9, 3, 3, 1, 1, [2]int{0, 0}, [2]int{0, 0}, true},     // no padding
		{4, 8, 16, 16, 16, 3, 3, 2, 1, [2]int{1, 1}, [2]int{1, 1}, false}, // stride 2
		{2, 8, 8, 8, 8, 3, 3, 1, 1, [2]int{3, 1}, [2]int{1, 1}, false},    // padding past the window
		{2, 8, 600, 2, 2, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}, false},  // weights larger than dcol
		{4, 8, 16, 16, 16, 1, 1, 1, 1, [2]int{0, 0}, [2]int{0, 0}, false}, // 1x1
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			oh := (tc.h+tc.pb[0]+tc.pe[0]-tc.d*(tc.kh-1)-1)/tc.s + 1
			ow := (tc.w+tc.pb[1]+tc.pe[1]-tc.d*(tc.kw-1)-1)/tc.s + 1
			cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1,
				g: newConvGeom([]int{tc.h, tc.w}, []int{oh, ow}, []int{tc.kh, tc.kw}, []int{tc.s, tc.s},
					[]int{tc.d, tc.d}, tc.pb[:], tc.pe[:])}
			adj := convDataAdjoint(cd)
			if (adj != nil) != tc.want {
				t.Fatalf("convDataAdjoint: %v, want %v", adj != nil, tc.want)
			}
			if adj == nil {
				return
			}
			K := tc.kh * tc.kw
			P := oh * ow
			dy, _ := Data[float32](toF32(randF64(1, -1, 1, tc.n, tc.m, P)))
			w, _ := Data[float32](toF32(randF64(2, -1, 1, tc.m, tc.c*K)))
			dy64, w64 := make([]float64, len(dy)), make([]float64, len(w))
			for i, v := range dy {
				dy64[i] = float64(v)
			}
			for i, v := range w {
				w64[i] = float64(v)
			}
			inN := tc.h * tc.w
			want := make([]float64, tc.n*tc.c*inN)
			convBackwardData(dy64, w64, cd, want)
			old := make([]float32, len(want))
			convBackwardData(dy, w, cd, old)
			for _, limit := range []int{convColLimit, 2 * tc.m * K * P} {
				withColLimit(limit, func() {
					got := make([]float32, len(want))
					for i := range got {
						got[i] = float32(math.NaN()) // every element is written
					}
					convBackwardDataAdjoint(dy, w, cd, adj, got)
					tol := 1e-6 * float64(tc.m*K)
					for i := range want {
						if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
							t.Fatalf("limit %d: dx[%d] = %v, want %v (col2im in float32: %v)", limit, i, got[i], want[i], old[i])
						}
					}
				})
			}
		})
	}
}

// TestConvWeightGather: the weight gradient as one implicit GEMM over the
// batch against the im2col and GEMM it replaces. With the batch in one
// im2col chunk the packed panels and sums are the same, so the values are
// equal (the old path adds into a cleared dw: a zero's sign may differ);
// in smaller chunks the old path sums chunk by chunk, so both are compared
// with float64 within float32 rounding.
func TestConvWeightGather(t *testing.T) {
	for _, tc := range []struct {
		n, c, m, h, w, kh, kw, s, d int
		pb, pe                      [2]int
	}{
		{3, 8, 16, 16, 16, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}}, // layer1
		{5, 16, 24, 8, 8, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}},  // layer2
		{6, 32, 16, 4, 4, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}},  // layer3
		{7, 16, 8, 2, 2, 3, 3, 1, 1, [2]int{1, 1}, [2]int{1, 1}},   // layer4
		{2, 3, 16, 32, 32, 7, 7, 2, 1, [2]int{3, 3}, [2]int{3, 3}}, // the stem
		{4, 8, 16, 16, 16, 3, 3, 2, 1, [2]int{1, 1}, [2]int{1, 1}}, // stride 2
		{4, 8, 16, 16, 16, 1, 1, 2, 1, [2]int{0, 0}, [2]int{0, 0}}, // the downsampling 1x1
		{3, 4, 8, 11, 9, 3, 5, 1, 2, [2]int{2, 1}, [2]int{0, 3}},   // dilated, not square, uneven padding
		{3, 4, 8, 1, 40, 1, 5, 3, 1, [2]int{0, 2}, [2]int{0, 2}},   // 1-D, stride 3
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			oh := (tc.h+tc.pb[0]+tc.pe[0]-tc.d*(tc.kh-1)-1)/tc.s + 1
			ow := (tc.w+tc.pb[1]+tc.pe[1]-tc.d*(tc.kw-1)-1)/tc.s + 1
			cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1,
				g: newConvGeom([]int{tc.h, tc.w}, []int{oh, ow}, []int{tc.kh, tc.kw}, []int{tc.s, tc.s},
					[]int{tc.d, tc.d}, tc.pb[:], tc.pe[:])}
			wg := convWeightGather(cd)
			if wg == nil {
				t.Fatal("no gather")
			}
			K, P := tc.kh*tc.kw, oh*ow
			dy, _ := Data[float32](toF32(randF64(1, -1, 1, tc.n, tc.m, P)))
			x, _ := Data[float32](toF32(randF64(2, -1, 1, tc.n, tc.c, tc.h*tc.w)))
			x[3] = float32(math.Inf(1)) // read only where the window covers it
			dy64, x64 := make([]float64, len(dy)), make([]float64, len(x))
			for i, v := range dy {
				dy64[i] = float64(v)
			}
			for i, v := range x {
				x64[i] = float64(v)
			}
			want := make([]float64, tc.m*tc.c*K)
			convBackwardWeight(dy64, x64, cd, want)
			got := make([]float32, len(want))
			for i := range got {
				got[i] = float32(math.NaN()) // every element is written
			}
			convBackwardWeightGather(dy, x, cd, wg, got)
			for _, limit := range []int{convColLimit, 2 * tc.c * K * P} {
				withColLimit(limit, func() {
					old := make([]float32, len(want))
					convBackwardWeight(dy, x, cd, old)
					oneChunk := cd.convChunk(tc.c*K) >= tc.n
					tol := 1e-6 * float64(tc.n*P)
					for i := range want {
						if oneChunk && got[i] != old[i] || !oneChunk && !(float64(got[i]) == want[i] || math.Abs(float64(got[i])-want[i]) <= tol) {
							t.Fatalf("limit %d: dw[%d] = %v, with im2col %v (float64 %v)", limit, i, got[i], old[i], want[i])
						}
					}
				})
			}
		})
	}
}

// TestConvAdjointSlower: the shapes where the data gradient keeps the GEMM
// and col2im although the adjoint applies (LeNet's second convolution), and
// neighbours that keep the adjoint. The col2im path's numbers are the ones
// TestConvDataAdjoint compares the adjoint with.
func TestConvAdjointSlower(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, c, m, h, k, p int
		adjoint          bool
	}{
		{"lenet conv2", 64, 6, 16, 14, 5, 0, false},
		{"3x3, 32 outputs", 8, 6, 32, 14, 3, 0, false},
		{"16 inputs", 64, 16, 16, 14, 5, 0, true},
		{"8 outputs", 64, 6, 8, 14, 5, 0, true},
		{"same padding", 64, 6, 16, 14, 5, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.h + 2*tc.p - tc.k + 1
			cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1,
				g: newConvGeom([]int{tc.h, tc.h}, []int{o, o}, []int{tc.k, tc.k}, []int{1, 1},
					[]int{1, 1}, []int{tc.p, tc.p}, []int{tc.p, tc.p})}
			if convAdjointOf(cd) == nil {
				t.Fatal("no adjoint at all")
			}
			if got := convDataAdjoint(cd) != nil; got != tc.adjoint {
				t.Fatalf("convDataAdjoint: %v, want %v", got, tc.adjoint)
			}
		})
	}
}
