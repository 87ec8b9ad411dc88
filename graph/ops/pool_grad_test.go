package ops

import (
	"fmt"
	"math"
	"testing"
)

// TestPoolMaxGradPlanes: MaxPool's gradient, a plane at a time, against
// the loop it replaced (one pass over every output, its plane found by a
// division), bit for bit: LeNet's pools, overlapping windows that add
// twice into an input element, padding, many planes split across the
// cores.
func TestPoolMaxGradPlanes(t *testing.T) {
	for _, tc := range []struct {
		planes, h, k, s, p int
	}{
		{384, 28, 2, 2, 0}, // LeNet's first pool (64 samples × 6 channels)
		{1024, 10, 2, 2, 0},
		{50, 9, 3, 1, 1}, // overlapping, padded
		{3, 7, 3, 2, 1},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			o := (tc.h+2*tc.p-tc.k)/tc.s + 1
			g := newConvGeom([]int{tc.h, tc.h}, []int{o, o}, []int{tc.k, tc.k}, []int{tc.s, tc.s}, []int{1, 1},
				[]int{tc.p, tc.p}, []int{tc.p, tc.p})
			x, _ := Data[float32](toF32(randF64(5, -1, 1, tc.planes, tc.h*tc.h)))
			dy, _ := Data[float32](toF32(randF64(6, -1, 1, tc.planes, o*o)))
			inN, P := g.inSize(), g.outSize()
			arg := make([]int, tc.planes*P)
			poolMax(x, tc.planes, &g, nil, arg)
			want := make([]float32, len(x))
			for i := range tc.planes * P {
				if a := arg[i]; a >= 0 {
					want[(i/P)*inN+a] += dy[i]
				}
			}
			got := make([]float32, len(x))
			for i := range got {
				got[i] = float32(math.NaN()) // every element is written
			}
			poolMaxGrad(dy, x, tc.planes, &g, got, arg)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("dx[%d] = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}
