package ops

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestGemmIntoMatchesGemm checks Gemm's kernels into kept buffers (the
// training program's forward and its gradients) against the kernels that
// allocated their output, bit for bit, with the buffer full of NaNs: A and
// B plain and transposed, with C (full, a row, a scalar) and without,
// alpha and beta not 1, float32 and float64.
func TestGemmIntoMatchesGemm(t *testing.T) {
	for _, sz := range [][3]int{{64, 120, 400}, {3, 10, 7}, {33, 17, 300}, {1, 1, 1}, {4, 5, 2}} {
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
						in64 := []*tensor.Dense{randF64(1, -1, 1, aShape...), randF64(2, -1, 1, bShape...)}
						alpha, beta := 1.0, 1.0
						if cShape != nil {
							in64 = append(in64, randF64(3, -1, 1, cShape...))
							alpha, beta = 0.75, -1.5
						}
						in32 := make([]*tensor.Dense, len(in64))
						for i, x := range in64 {
							in32[i] = toF32(x)
						}
						checkInto(t, "Gemm", gemmRun(tA, tB, m, n, k, float32(alpha), float32(beta), cShape),
							gemmInto(tA, tB, m, n, k, alpha, beta, cShape), in32, []int{m, n})
						checkInto(t, "Gemm64", gemmRun(tA, tB, m, n, k, alpha, beta, cShape),
							gemmInto(tA, tB, m, n, k, alpha, beta, cShape), in64, []int{m, n})
						// The gradients' products: alpha·op(x)·op(y), what the
						// allocating kernel computed as gemmRun without C.
						checkInto(t, "product", gemmRun(tA, tB, m, n, k, float32(alpha), 0, nil),
							productInto(tA, tB, m, n, k, alpha), in32[:2], []int{m, n})
						checkInto(t, "product64", gemmRun(tA, tB, m, n, k, alpha, 0, nil),
							productInto(tA, tB, m, n, k, alpha), in64[:2], []int{m, n})
					})
				}
			}
		}
	}
}

// checkInto runs into on a NaN-filled buffer and compares it with want's
// new tensor bit for bit.
func checkInto(t *testing.T, name string, want Kernel, into IntoKernel, in []*tensor.Dense, shape []int) {
	t.Helper()
	w, err := want(in)
	if err != nil {
		t.Fatal(err)
	}
	dst := tensor.New(tensor.WithShape(shape...), tensor.Of(in[0].Dtype()))
	switch d := dst.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(math.NaN())
		}
	case []float64:
		for i := range d {
			d[i] = math.NaN()
		}
	}
	if err := into(in, dst); err != nil {
		t.Fatal(err)
	}
	wv, gv := w.Data(), dst.Data()
	switch wv := wv.(type) {
	case []float32:
		gv := gv.([]float32)
		for i := range wv {
			if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("%s: element %d is %v into a kept buffer, %v into a new one", name, i, gv[i], wv[i])
			}
		}
	case []float64:
		gv := gv.([]float64)
		for i := range wv {
			if math.Float64bits(gv[i]) != math.Float64bits(wv[i]) {
				t.Fatalf("%s: element %d is %v into a kept buffer, %v into a new one", name, i, gv[i], wv[i])
			}
		}
	}
}
