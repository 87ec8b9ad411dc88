package ops

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestGemmPackedMatchesGemm checks Gemm with its B packed at compile time
// against the kernel it replaces, bit for bit: A and B plain and
// transposed, with C (full, a row, a scalar) and without, alpha and beta
// not 1, k past one block, a classifier's shape; B packed as the
// product's B (gemmPackedRun) and as the A of the transposed product
// (gemmPackedTRun), each against the unpacked product.
func TestGemmPackedMatchesGemm(t *testing.T) {
	for _, sz := range [][3]int{{16, 1000, 1280}, {3, 10, 7}, {33, 17, 300}, {1, 1, 1}, {32, 200, 300}, {16, 64, 5}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, cShape := range [][]int{nil, {m, n}, {n}, {1}} {
					t.Run(fmt.Sprintf("%dx%dx%d_tA%v_tB%v_C%v", m, n, k, tA, tB, cShape), func(t *testing.T) {
						aShape, bShape := []int{m, k}, []int{k, n}
						if tA {
							aShape = []int{k, m}
						}
						if tB {
							bShape = []int{n, k}
						}
						in := []*tensor.Dense{toF32(randF64(1, -1, 1, aShape...)), toF32(randF64(2, -1, 1, bShape...))}
						alpha, beta := float32(1), float32(1)
						if cShape != nil {
							in = append(in, toF32(randF64(3, -1, 1, cShape...)))
							alpha, beta = 0.75, -1.5
						}
						want, err := gemmRun(tA, tB, m, n, k, alpha, beta, cShape)(in)
						if err != nil {
							t.Fatal(err)
						}
						bd := must(Data[float32](in[1]))
						for _, v := range []struct {
							name string
							run  Kernel
						}{
							{"packed B", gemmPackedRun(packGemmB(bd, tB, k, n), tA, m, n, k, alpha, beta, cShape)},
							{"packed A, transposed", gemmPackedTRun(packGemmBT(bd, tB, k, n), tA, m, n, k, alpha, beta, cShape)},
						} {
							got, err := v.run(in)
							if err != nil {
								t.Fatal(err)
							}
							if !slices.Equal(got.Shape(), want.Shape()) {
								t.Fatalf("%s: shape %v, want %v", v.name, got.Shape(), want.Shape())
							}
							w, g := must(Data[float32](want)), must(Data[float32](got))
							for i := range w {
								if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
									t.Fatalf("%s: element %d is %v, the unpacked product gives %v", v.name, i, g[i], w[i])
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestGemmPackedOrientation checks which orientation gemmPacked takes: the
// transposed product where the batch makes whole column tiles but not
// whole row tiles (16 rows with AVX2's 6×16 tiles), else the packed B
// (16 rows with AVX-512's 8×32).
func TestGemmPackedOrientation(t *testing.T) {
	mr, nr := gemm.Tiles()
	for _, c := range []struct{ m, n int }{{16, 1000}, {32, 1000}, {nr, 1000}, {nr, 2 * nr}, {3, 1000}, {mr * nr, 10000}} {
		want := c.m%nr == 0 && c.m%mr != 0 && c.m <= 4*nr && c.n >= 4*c.m
		got := gemmPackedTransposes(c.m, c.n)
		if got != want {
			t.Errorf("m %d, n %d, tiles %dx%d: transposed %v, want %v", c.m, c.n, mr, nr, got, want)
		}
	}
	if name, _ := gemm.Kernel(); name == "avx2" && !gemmPackedTransposes(16, 1000) {
		t.Error("AVX2: a classifier at batch 16 not transposed")
	}
	if name, _ := gemm.Kernel(); name == "avx512" && gemmPackedTransposes(16, 1000) {
		t.Error("AVX-512: a classifier at batch 16 transposed")
	}
}
