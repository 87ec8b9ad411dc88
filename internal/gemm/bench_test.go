package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShapes are the products of the engine's convolutions and linear
// layers: ResNet-18 at 64×64 batch 16, LeNet on MNIST batch 64, and their
// backward passes (tA for data gradients, tB for weight gradients).
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
		b.Run(name+"/gemm", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
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

// BenchmarkKernel measures the micro-kernel alone on L1-resident panels,
// which bounds what the blocked product can reach on one core.
func BenchmarkKernel(b *testing.B) {
	const k = kcMax
	rng := rand.New(rand.NewPCG(1, 1))
	pa, pb := randSlice(rng, k*mr), randSlice(rng, k*nr)
	c := make([]float32, mr*nr)
	flops := 2 * float64(mr*nr*k)
	b.Run("asm", func(b *testing.B) {
		if !hasAsm {
			b.Skip("no assembly kernel")
		}
		b.ReportAllocs()
		for b.Loop() {
			asmKernel(k, &pa[0], &pb[0], &c[0], nr, 1, 1)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			kernelGo(k, pa, pb, c, nr, 1, 1)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
