package ops

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestConvWeightSplit: the weight gradient in chunks of samples against the
// one product it replaces (convBackwardWeightGather) and the im2col path in
// float64. The partials are added in another order than one product's
// sum, so the values are compared within float32 rounding of the float64
// sum; they must be the same bits at 1, 2 and 3 cores. It also checks
// which convolutions take the split.
func TestConvWeightSplit(t *testing.T) {
	for _, tc := range []struct {
		n, c, m, h, w, k, d, p int
		split                  bool
	}{
		{64, 1, 6, 28, 28, 5, 1, 2, true},   // LeNet's first convolution
		{7, 2, 4, 64, 40, 3, 2, 1, true},    // odd batch: chunks of 2 and 1, dilated
		{9, 1, 3, 48, 48, 5, 1, 0, false},   // chunks of 3, 3, 3 and 0: one product
		{64, 6, 16, 14, 14, 5, 1, 0, false}, // LeNet's second: dw of 2400
		{3, 1, 6, 28, 28, 5, 1, 2, false},   // fewer samples than chunks
		{4, 1, 6, 28, 28, 5, 1, 2, false},   // a short sum
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			oh, ow := tc.h+2*tc.p-tc.d*(tc.k-1), tc.w+2*tc.p-tc.d*(tc.k-1)
			cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1,
				g: newConvGeom([]int{tc.h, tc.w}, []int{oh, ow}, []int{tc.k, tc.k}, []int{1, 1},
					[]int{tc.d, tc.d}, []int{tc.p, tc.p}, []int{tc.p, tc.p})}
			wg := convWeightGather(cd)
			if wg == nil {
				t.Fatal("no gather")
			}
			ws := newConvWeightSplit(cd)
			if (ws != nil) != tc.split {
				t.Fatalf("newConvWeightSplit: %v, want %v", ws != nil, tc.split)
			}
			if ws == nil {
				return
			}
			K, P := tc.k*tc.k, oh*ow
			dy, _ := Data[float32](toF32(randF64(1, -1, 1, tc.n, tc.m, P)))
			x, _ := Data[float32](toF32(randF64(2, -1, 1, tc.n, tc.c, tc.h*tc.w)))
			dy64, x64 := make([]float64, len(dy)), make([]float64, len(x))
			for i, v := range dy {
				dy64[i] = float64(v)
			}
			for i, v := range x {
				x64[i] = float64(v)
			}
			want := make([]float64, tc.m*tc.c*K)
			convBackwardWeight(dy64, x64, cd, want)
			old := make([]float32, len(want))
			convBackwardWeightGather(dy, x, cd, wg, old)
			var first []float32
			for _, procs := range []int{1, 2, 3} {
				prev := runtime.GOMAXPROCS(procs)
				got := make([]float32, len(want))
				for i := range got {
					got[i] = float32(math.NaN()) // every element is written
				}
				convBackwardWeightSplit(dy, x, cd, ws, got)
				runtime.GOMAXPROCS(prev)
				tol := 1e-6 * float64(tc.n*P)
				for i := range want {
					if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
						t.Fatalf("%d cores: dw[%d] = %v, want %v (one product: %v)", procs, i, got[i], want[i], old[i])
					}
					if d := math.Abs(float64(got[i]) - float64(old[i])); !(d <= tol) {
						t.Fatalf("%d cores: dw[%d] = %v, one product %v", procs, i, got[i], old[i])
					}
				}
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%d cores: dw[%d] = %v, at 1 core %v", procs, i, got[i], first[i])
					}
				}
			}
		})
	}
}
