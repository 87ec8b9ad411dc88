package ops

import (
	"fmt"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// BenchmarkResNetConvs times the forward pass, the data gradient and the
// weight gradient of each distinct 3×3 (and the stem's 7×7) convolution of
// ResNet-18 at 64×64, batch 16, by the paths training takes, and reports
// GFLOP/s: where the step's time goes outside the micro-kernel.
func BenchmarkResNetConvs(b *testing.B) {
	if !gemm.GatherFast() {
		b.Skip("no implicit GEMM at this kernel level")
	}
	for _, tc := range []struct {
		name          string
		c, m, h, k, s int
	}{
		{"stem", 3, 64, 64, 7, 2}, {"l1", 64, 64, 16, 3, 1}, {"l2s2", 64, 128, 16, 3, 2}, {"l2", 128, 128, 8, 3, 1},
		{"l3s2", 128, 256, 8, 3, 2}, {"l3", 256, 256, 4, 3, 1}, {"l4s2", 256, 512, 4, 3, 2}, {"l4", 512, 512, 2, 3, 1},
	} {
		const n = 16
		p := tc.k / 2
		o := (tc.h+2*p-tc.k)/tc.s + 1
		cd := &convDims{n: n, c: tc.c, m: tc.m, group: 1,
			g: newConvGeom([]int{tc.h, tc.h}, []int{o, o}, []int{tc.k, tc.k}, []int{tc.s, tc.s},
				[]int{1, 1}, []int{p, p}, []int{p, p})}
		cd.gather = convGather(cd, cd.forwardChunk(tc.c*tc.k*tc.k))
		cd.adjoint = convDataAdjoint(cd)
		wg := convWeightGather(cd)
		x, _ := Data[float32](toF32(randF64(1, -1, 1, n, tc.c, tc.h*tc.h)))
		dy, _ := Data[float32](toF32(randF64(2, -1, 1, n, tc.m, o*o)))
		w, _ := Data[float32](toF32(randF64(3, -1, 1, tc.m, tc.c, tc.k*tc.k)))
		y, dx, dw := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
		flops := 2 * float64(n*tc.m*o*o*tc.c*tc.k*tc.k)
		run := func(name string, f func()) {
			b.Run(tc.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					f()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		run("forward", func() { convForward(x, w, nil, cd, y) })
		run(fmt.Sprintf("data(adjoint=%v)", cd.adjoint != nil), func() {
			if cd.adjoint != nil {
				convBackwardDataAdjoint(dy, w, cd, cd.adjoint, dx)
				return
			}
			convBackwardData(dy, w, cd, dx)
		})
		run("weight", func() { convBackwardWeightGather(dy, x, cd, wg, dw) })
	}
}
