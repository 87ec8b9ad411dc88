package ops

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestGemmPackedMatchesGemm checks Gemm with its B packed at compile time
// against the kernel it replaces, bit for bit: A and B plain and
// transposed, with C (full, a row, a scalar) and without, alpha and beta
// not 1, k past one block, a classifier's shape.
func TestGemmPackedMatchesGemm(t *testing.T) {
	for _, sz := range [][3]int{{16, 1000, 1280}, {3, 10, 7}, {33, 17, 300}, {1, 1, 1}} {
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
						got, err := gemmPackedRun(packGemmB(must(Data[float32](in[1])), tB, k, n), tA, m, n, k, alpha, beta, cShape)(in)
						if err != nil {
							t.Fatal(err)
						}
						w, g := must(Data[float32](want)), must(Data[float32](got))
						for i := range w {
							if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
								t.Fatalf("element %d is %v, the unpacked product gives %v", i, g[i], w[i])
							}
						}
					})
				}
			}
		}
	}
}
