package ops

import (
	"fmt"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"
)

// mbv2BN are the [N, C, plane] shapes of MobileNetV2's BatchNormalization
// layers at 3x64x64, batch 16.
var mbv2BN = [][3]int{{16, 32, 1024}, {16, 32, 1024}, {16, 16, 1024}, {16, 96, 1024}, {16, 96, 256}, {16, 24, 256},
	{16, 144, 256}, {16, 144, 256}, {16, 24, 256}, {16, 144, 256}, {16, 144, 64}, {16, 32, 64},
	{16, 192, 64}, {16, 192, 64}, {16, 32, 64}, {16, 192, 64}, {16, 192, 64}, {16, 32, 64},
	{16, 192, 64}, {16, 192, 16}, {16, 64, 16},
	{16, 384, 16}, {16, 384, 16}, {16, 64, 16}, {16, 384, 16}, {16, 384, 16}, {16, 64, 16}, {16, 384, 16}, {16, 384, 16}, {16, 64, 16},
	{16, 384, 16}, {16, 384, 16}, {16, 96, 16}, {16, 576, 16}, {16, 576, 16}, {16, 96, 16}, {16, 576, 16}, {16, 576, 16}, {16, 96, 16},
	{16, 576, 16}, {16, 576, 4}, {16, 160, 4}, {16, 960, 4}, {16, 960, 4}, {16, 160, 4}, {16, 960, 4}, {16, 960, 4}, {16, 160, 4},
	{16, 960, 4}, {16, 960, 4}, {16, 320, 4}, {16, 1280, 4}}

// BenchmarkBatchNormPlanes_mobilenetv2 times the four float32 kernels of
// BatchNormalization in training (statistics, the affine pass, the
// gradient sums, the gradient of x) over MobileNetV2's layers, grouped by
// plane size: b.SetBytes is one pass over the group's values, so MB/s
// compares the plane sizes (the small planes take the plane loops of
// norm_planes.go).
func BenchmarkBatchNormPlanes_mobilenetv2(b *testing.B) {
	for _, s := range []int{1024, 256, 64, 16, 4} {
		for _, k := range []string{"stats", "affine", "sums", "gradx"} {
			b.Run(fmt.Sprint(k, s), func(b *testing.B) {
				var xs [][]float32
				var ls []bnLayout
				for _, sh := range mbv2BN {
					if sh[2] != s {
						continue
					}
					x := make([]float32, sh[0]*sh[1]*sh[2])
					for i := range x {
						x[i] = rand.Float32()
					}
					xs = append(xs, x)
					ls = append(ls, bnLayout{n: sh[0], c: sh[1], s: sh[2]})
				}
				el := 0
				for _, x := range xs {
					el += len(x)
				}
				b.SetBytes(int64(el * 4))
				b.ResetTimer()
				for range b.N {
					for i, x := range xs {
						l := ls[i]
						switch k {
						case "stats":
							if _, err := bnStats[float32](l)(denseArgs(x, l)); err != nil {
								b.Fatal(err)
							}
						case "affine":
							bnTrain[float32](l, 1e-5)([][]float32{x, ones[:l.c], ones[:l.c], ones[:2*l.c]}, benchOut[:len(x)])
						case "sums":
							if _, err := bnSums[float32](l, 1e-5, true)([]*tensor.Dense{Dense([]int{len(x)}, x), Dense([]int{len(x)}, x), Dense([]int{2 * l.c}, ones[:2*l.c])}); err != nil {
								b.Fatal(err)
							}
						case "gradx":
							bnTrainGradX[float32](l, 1e-5)([][]float32{x, x, ones[:l.c], ones[:2*l.c], ones[:2*l.c]}, benchOut[:len(x)])
						}
					}
				}
			})
		}
	}
}

// ones are the scales, biases and statistics of the benchmark.
var ones = func() []float32 {
	o := make([]float32, 4096)
	for i := range o {
		o[i] = 1
	}
	return o
}()

// benchOut receives the benchmark's outputs.
var benchOut = make([]float32, 1<<21)

func denseArgs(x []float32, l bnLayout) []*tensor.Dense {
	return []*tensor.Dense{Dense([]int{l.n, l.c, l.s}, x)}
}
