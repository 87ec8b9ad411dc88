package ops

import (
	"fmt"
	"testing"
)

// groupedLayer is one grouped convolution of a real network, batch 16 at a
// 3x64x64 input: x (16, c, hw, hw), w (c*mult, c/group, k, k), pads k/2.
type groupedLayer struct {
	name                  string
	c, group, mult, hw, k int
	stride                int
}

// groupedLayers are MobileNetV2's depthwise 3x3 layers and EfficientNet-B0's
// 5x5 ones at 3x64x64, and small-group shapes (ResNeXt-like) for the rule
// that picks between the direct loops and a GEMM per group.
var groupedLayers = []groupedLayer{
	{"mbv2_c32_32px_s1", 32, 32, 1, 32, 3, 1},
	{"mbv2_c96_32px_s2", 96, 96, 1, 32, 3, 2},
	{"mbv2_c144_16px_s1", 144, 144, 1, 16, 3, 1},
	{"mbv2_c144_16px_s2", 144, 144, 1, 16, 3, 2},
	{"mbv2_c192_8px_s1", 192, 192, 1, 8, 3, 1},
	{"mbv2_c192_8px_s2", 192, 192, 1, 8, 3, 2},
	{"mbv2_c384_4px_s1", 384, 384, 1, 4, 3, 1},
	{"mbv2_c576_4px_s2", 576, 576, 1, 4, 3, 2},
	{"mbv2_c960_2px_s1", 960, 960, 1, 2, 3, 1},
	{"effb0_k5_c144_16px_s2", 144, 144, 1, 16, 5, 2},
	{"effb0_k5_c240_8px_s1", 240, 240, 1, 8, 5, 1},
	{"effb0_k5_c480_4px_s1", 480, 480, 1, 4, 5, 1},
	{"effb0_k5_c1152_2px_s1", 1152, 1152, 1, 2, 5, 1},
	{"mult2_c32_16px_s1", 32, 32, 2, 16, 3, 1},
	{"g32_cg2_c64_16px_s1", 64, 32, 1, 16, 3, 1},
	{"g32_cg4_c128_16px_s1", 128, 32, 1, 16, 3, 1},
	{"g16_cg8_c128_16px_s1", 128, 16, 1, 16, 3, 1},
	{"g8_cg16_c128_16px_s1", 128, 8, 1, 16, 3, 1},
	{"g4_cg32_c128_16px_s1", 128, 4, 1, 16, 3, 1},
	{"g32_cg4_c128_8px_s2", 128, 32, 1, 8, 3, 2},
	{"g8_cg16_c256_4px_s1", 256, 8, 1, 4, 3, 1},
}

func (l groupedLayer) dims(n int) *convDims {
	out := (l.hw+2*(l.k/2)-l.k)/l.stride + 1
	p := l.k / 2
	return &convDims{n: n, c: l.c, m: l.c * l.mult, group: l.group, g: newConvGeom([]int{l.hw, l.hw}, []int{out, out},
		[]int{l.k, l.k}, []int{l.stride, l.stride}, []int{1, 1}, []int{p, p}, []int{p, p})}
}

// withConvPath runs f with convPath set to path.
func withConvPath(path int, f func()) {
	old := convPath
	convPath = path
	defer func() { convPath = old }()
	f()
}

// BenchmarkConvGrouped times the forward pass (fwd) and the two gradients
// (bwd: input and weight) of each grouped layer in float32, batch 16, by
// the engine's choice (auto) and forced through each kernel family.
func BenchmarkConvGrouped(b *testing.B) {
	const n = 16
	for _, l := range groupedLayers {
		b.Run(l.name, func(b *testing.B) {
			cd := l.dims(n)
			xs, _ := Data[float32](toF32(randF64(1, -1, 1, n, cd.c, l.hw, l.hw)))
			ws, _ := Data[float32](toF32(randF64(2, -1, 1, cd.m, cd.c/cd.group, l.k, l.k)))
			P := cd.g.outSize()
			dy, _ := Data[float32](toF32(randF64(3, -1, 1, n, cd.m, P)))
			y, dx, dw := make([]float32, n*cd.m*P), make([]float32, len(xs)), make([]float32, len(ws))
			flops := 2 * float64(n*cd.m*P*(cd.c/cd.group)*cd.g.kSize())
			for _, path := range []struct {
				name string
				p    int
			}{{"auto", convPathAuto}, {"gemm", convPathGemm}, {"direct", convPathDirect}} {
				for _, pass := range []string{"fwd", "bwd"} {
					b.Run(fmt.Sprintf("%s/%s", pass, path.name), func(b *testing.B) {
						withConvPath(path.p, func() {
							b.ReportAllocs()
							b.ResetTimer()
							for range b.N {
								if pass == "fwd" {
									convForward(xs, ws, nil, cd, y)
									continue
								}
								convBackwardData(dy, ws, cd, dx)
								convBackwardWeight(dy, xs, cd, dw)
							}
							f := flops
							if pass == "bwd" {
								f *= 2
							}
							b.ReportMetric(f*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
						})
					})
				}
			}
		})
	}
}
