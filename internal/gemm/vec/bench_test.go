package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkVec times each loop at every vector level on the sizes of
// ResNet-18 at 3x64x64 batch 16: whole activations for ReLU and SGD
// (65536 floats: layer1's 16x64x... per sample block, and a 3x3x64x64
// weight is 36864), one BatchNorm channel block of layer1 (16x16 = 256)
// and of the stem (32x32 = 1024).
func BenchmarkVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	names := []string{"generic", "avx2", "avx512"}
	for lv, ok := range []bool{true, hasAVX2, hasAVX512} {
		if !ok {
			continue
		}
		run := func(name string, n int, f func()) {
			b.Run(fmt.Sprintf("%s_n%d/%s", name, n, names[lv]), func(b *testing.B) {
				defer func(old int) { forced = old }(forced)
				forced = lv
				b.ReportAllocs()
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					f()
				}
			})
		}
		for _, n := range []int{256, 1024, 65536} {
			x, dy, out, p := randVec(rng, n, false), randVec(rng, n, false), make([]float32, n), randVec(rng, n, false)
			run("ReluMask", n, func() { ReluMask(out, dy, x) })
			run("ScaleShiftRelu", n, func() { ScaleShift(out, x, 1.5, -0.25, true) })
			run("Affine2", n, func() { Affine2(out, dy, x, 1.5, -0.25, 0.125) })
			run("SGDMomentum", n, func() { SGDMomentum(p, dy, out, 1e-4, 0.9, 1, 1e-3) })
			run("Sum", n, func() { Sum(x) })
			run("SqDev", n, func() { SqDev(x, 0.5) })
			run("DotDev", n, func() { DotDev(dy, x, 0.5) })
		}
	}
}
