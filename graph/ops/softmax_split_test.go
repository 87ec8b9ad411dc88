package ops

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gorgonia.org/tensor"
)

// TestSoftmaxSplitMatchesSerial checks Softmax and LogSoftmax and their
// gradients split across the cores against the same loops on one core,
// bit for bit, for layouts along the last axis (attention) and an inner
// one.
func TestSoftmaxSplitMatchesSerial(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, l := range []smxLayout{{outer: 8 * 12 * 128, n: 128, inner: 1}, {outer: 64, n: 10, inner: 1}, {outer: 6, n: 50, inner: 300}} {
		for _, logOf := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%dx%d_log%v", l.outer, l.n, l.inner, logOf), func(t *testing.T) {
				size := l.outer * l.n * l.inner
				x, dy := make([]float32, size), make([]float32, size)
				for i := range x {
					x[i], dy[i] = float32(r.NormFloat64()*4), float32(r.NormFloat64())
				}
				run := func(procs int) (y, dx []float32) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					y, dx = make([]float32, size), make([]float32, size)
					smxOf[float32](l, logOf)([][]float32{x}, y)
					smxGradOf[float32](l, logOf)([][]float32{dy, y}, dx)
					return y, dx
				}
				y1, dx1 := run(1)
				y2, dx2 := run(4)
				for i := range y1 {
					if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) || math.Float32bits(dx1[i]) != math.Float32bits(dx2[i]) {
						t.Fatalf("element %d: split %v, %v; serial %v, %v", i, y2[i], dx2[i], y1[i], dx1[i])
					}
				}
			})
		}
	}
}

// TestNormSplitMatchesSerial checks LayerNormalization's kernels and the
// bias gradients' row sums split across the cores against the same loops
// on one core, bit for bit, at the encoder's shape.
func TestNormSplitMatchesSerial(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	const outer, inner = 8 * 128, 768
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	x, dy, sc, bias := vals(outer*inner), vals(outer*inner), vals(inner), vals(inner)
	ln := lnLayout{outer: outer, inner: inner, norm: []int{inner}, scale: []int{inner}, bias: []int{inner}}
	run := func(procs int) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		y, dx := make([]float32, outer*inner), make([]float32, outer*inner)
		lnForward[float32](ln, 1e-5)([][]float32{x, sc, bias}, y)
		lnGradX[float32](ln, 1e-5)([][]float32{dy, x, sc}, dx)
		gs := must(Data[float32](must(lnGradParam[float32](ln, 1e-5, []int{inner})([]*tensor.Dense{Dense([]int{outer, inner}, dy), Dense([]int{outer, inner}, x)}))))
		gb := must(Data[float32](must(lnGradParam[float32](ln, 1e-5, []int{inner})([]*tensor.Dense{Dense([]int{outer, inner}, dy)}))))
		rs, ok := sumRowsOf(dy, []int{8, 128, inner}, []int{inner}, 0.5)
		if !ok {
			t.Fatal("sumRowsOf refused a bias shape")
		}
		return [][]float32{y, dx, gs, gb, must(Data[float32](rs))}
	}
	one, four := run(1), run(4)
	for k, name := range []string{"LayerNormalization", "LayerNormalizationGradX", "GradScale", "GradBias", "sumRowsOf"} {
		for i := range one[k] {
			if math.Float32bits(one[k][i]) != math.Float32bits(four[k][i]) {
				t.Fatalf("%s: element %d is %v split, %v serial", name, i, four[k][i], one[k][i])
			}
		}
	}
}
