package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShapes are the products of the engine's convolutions and linear
// layers: ResNet-18 and MobileNetV2 at 3×64×64 batch 16 (convolutions as
// GEMM: M output channels, N batch·output pixels, K input channels·kernel
// area), LeNet on MNIST batch 64, and their backward passes (tA for data
// gradients, tB for weight gradients).
var benchShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
}{
	{"square1024", false, false, 1024, 1024, 1024},
	{"resnet_conv1", false, false, 64, 16384, 147},
	{"resnet_l1", false, false, 64, 4096, 576},
	{"resnet_l2a", false, false, 128, 1024, 576},
	{"resnet_l2", false, false, 128, 1024, 1152},
	{"resnet_l3a", false, false, 256, 256, 1152},
	{"resnet_l3", false, false, 256, 256, 2304},
	{"resnet_l4a", false, false, 512, 64, 2304},
	{"resnet_l4", false, false, 512, 64, 4608},
	{"resnet_1x1", false, false, 128, 1024, 64},
	{"resnet_l1_dX_tA", true, false, 576, 4096, 64},
	{"resnet_l1_dW_tB", false, true, 64, 576, 4096},
	{"resnet_l3_dW_tB", false, true, 256, 2304, 256},
	{"resnet_fc_tB", false, true, 16, 1000, 512},
	{"resnet_fc_dX", false, false, 16, 512, 1000},
	{"resnet_fc_dW_tA", true, false, 1000, 512, 16},
	{"mbv2_conv1", false, false, 32, 16384, 27},
	{"mbv2_expand16", false, false, 144, 4096, 24},
	{"mbv2_project16", false, false, 24, 4096, 144},
	{"mbv2_expand8", false, false, 192, 1024, 32},
	{"mbv2_project4", false, false, 96, 256, 576},
	{"mbv2_expand2", false, false, 960, 64, 160},
	{"mbv2_last", false, false, 1280, 64, 320},
	{"lenet_conv1", false, false, 6, 36864, 25},
	{"lenet_conv2", false, false, 16, 4096, 150},
	{"lenet_fc1_tB", false, true, 64, 120, 256},
	{"small_33", false, false, 33, 33, 33},
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		if testing.Short() && s.m*s.n*s.k > 1<<24 {
			continue
		}
		rng := rand.New(rand.NewPCG(1, 1))
		p := newProblem(rng, s.tA, s.tB, s.m, s.n, s.k, 1, 0, 0)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		name := fmt.Sprintf("%s_%dx%dx%d", s.name, s.m, s.n, s.k)
		for _, kn := range available() {
			b.Run(name+"/"+kn.name, func(b *testing.B) {
				defer func(old *kernel) { forced = old }(forced)
				forced = kn
				b.ReportAllocs()
				fastest := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
					fastest = min(fastest, time.Since(t0))
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				// The machines are shared: the fastest call is the rate
				// least touched by other tenants.
				b.ReportMetric(flops/fastest.Seconds()/1e9, "best-GFLOP/s")
			})
		}
		b.Run(name+"/gonum", func(b *testing.B) {
			tA, tB := blas.NoTrans, blas.NoTrans
			if p.tA {
				tA = blas.Trans
			}
			if p.tB {
				tB = blas.Trans
			}
			var impl gonum.Implementation
			b.ReportAllocs()
			for b.Loop() {
				impl.Sgemm(tA, tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKernel measures each micro-kernel alone on L1-resident panels,
// which bounds what the blocked product can reach on one core.
func BenchmarkKernel(b *testing.B) {
	for _, kn := range available() {
		k := kn.kcMax
		rng := rand.New(rand.NewPCG(1, 1))
		pa, pb := randSlice(rng, k*kn.mr), randSlice(rng, k*kn.nr)
		c := make([]float32, kn.mr*kn.nr)
		flops := 2 * float64(kn.mr*kn.nr*k)
		b.Run(fmt.Sprintf("%s_%dx%d", kn.name, kn.mr, kn.nr), func(b *testing.B) {
			b.ReportAllocs()
			// The fastest of the runs of 64 calls (a call is too short
			// to time alone).
			fastest := time.Duration(math.MaxInt64)
			i, t0 := 0, time.Now()
			for b.Loop() {
				kn.micro(k, pa, pb, c, kn.nr, 1, 1)
				if i++; i%64 == 0 {
					fastest = min(fastest, time.Since(t0)/64)
					t0 = time.Now()
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flops/fastest.Seconds()/1e9, "best-GFLOP/s")
		})
	}
}
