package ops

import (
	"fmt"
	"testing"
)

// BenchmarkConvDataGrad times a convolution's data gradient both ways, the
// forward convolution of dy (adjoint) and the GEMM with col2im, at LeNet's
// second convolution (6 -> m channels, 14x14 -> 10x10, 5x5, batch 64) and
// at a ResNet layer, to place adjointDcolCost.
func BenchmarkConvDataGrad(b *testing.B) {
	for _, tc := range []struct {
		n, c, m, h, k, p, d int
	}{
		{64, 6, 8, 14, 5, 0, 1}, {64, 6, 16, 14, 5, 0, 1}, {64, 6, 32, 14, 5, 0, 1},
		{64, 16, 16, 14, 5, 0, 1}, {64, 6, 16, 14, 3, 0, 1}, {16, 64, 64, 16, 3, 1, 1},
		{64, 4, 8, 11, 3, 1, 2}, {64, 5, 7, 9, 3, 0, 1}, {64, 4, 8, 14, 5, 0, 1},
	} {
		o := tc.h + 2*tc.p - tc.d*(tc.k-1)
		cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1,
			g: newConvGeom([]int{tc.h, tc.h}, []int{o, o}, []int{tc.k, tc.k}, []int{1, 1},
				[]int{tc.d, tc.d}, []int{tc.p, tc.p}, []int{tc.p, tc.p})}
		cd.gather = convGather(cd, cd.forwardChunk(tc.c*tc.k*tc.k))
		if cd.gather == nil {
			b.Skip("no implicit GEMM at this kernel level")
		}
		adj := convAdjointOf(cd)
		dy, _ := Data[float32](toF32(randF64(1, -1, 1, tc.n, tc.m, o*o)))
		w, _ := Data[float32](toF32(randF64(2, -1, 1, tc.m, tc.c, tc.k*tc.k)))
		dx := make([]float32, tc.n*tc.c*tc.h*tc.h)
		name := fmt.Sprintf("c%d_m%d_%dx%d_k%d_p%d_d%d", tc.c, tc.m, tc.h, tc.h, tc.k, tc.p, tc.d)
		b.Run(name+"/adjoint", func(b *testing.B) {
			for b.Loop() {
				convBackwardDataAdjoint(dy, w, cd, adj, dx)
			}
		})
		b.Run(name+"/col2im", func(b *testing.B) {
			for b.Loop() {
				convBackwardData(dy, w, cd, dx)
			}
		})
	}
}

// BenchmarkConvWeightGrad times LeNet's first convolution's weight gradient
// (1 -> 6 channels, 28x28, 5x5 padded by 2, batch 64): one implicit GEMM
// with M = 6, N = 25 and K = 64·784.
func BenchmarkConvWeightGrad(b *testing.B) {
	cd := &convDims{n: 64, c: 1, m: 6, group: 1,
		g: newConvGeom([]int{28, 28}, []int{28, 28}, []int{5, 5}, []int{1, 1}, []int{1, 1}, []int{2, 2}, []int{2, 2})}
	wg := convWeightGather(cd)
	dy, _ := Data[float32](toF32(randF64(1, -1, 1, 64, 6, 784)))
	x, _ := Data[float32](toF32(randF64(2, -1, 1, 64, 1, 784)))
	dw := make([]float32, 6*25)
	for b.Loop() {
		convBackwardWeightGather(dy, x, cd, wg, dw)
	}
}
