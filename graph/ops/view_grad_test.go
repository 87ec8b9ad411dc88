package ops

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"
)

// TestViewBackInto: the gradient of a view into a kept buffer (filled with
// NaN, as a reused buffer may hold anything) has the bits of the gradient
// into a new tensor, float32 and float64, for slices with unit, larger and
// negative steps, padding, a transpose and a broadcast (several output
// elements adding into one input element), run twice over the same buffer.
func TestViewBackInto(t *testing.T) {
	views := []struct {
		name string
		v    *viewMap
	}{
		// rows 3..6 of a 10×5 matrix: an exported LSTM's gate block
		{"slice rows", newViewMap([]int{10, 5}, []int{4, 5}, [][]int{stepTable(4, 15, 5), stepTable(5, 0, 1)})},
		{"slice step 2", newViewMap([]int{4, 7}, []int{2, 3}, [][]int{stepTable(2, 7, 14), stepTable(3, 1, 2)})},
		{"slice reversed", newViewMap([]int{3, 6}, []int{3, 4}, [][]int{stepTable(3, 0, 6), stepTable(4, 5, -1)})},
		{"pad", newViewMap([]int{2, 3}, []int{4, 6}, [][]int{{-1, 0, 3, -1}, {-1, -1, 0, 1, 2, -1}})},
		{"transpose", newViewMap([]int{3, 4}, []int{4, 3}, [][]int{stepTable(4, 0, 1), stepTable(3, 0, 4)})},
		{"expand", newViewMap([]int{3, 1}, []int{3, 5}, [][]int{stepTable(3, 0, 1), stepTable(5, 0, 0)})},
		{"scalar", newViewMap([]int{1}, []int{}, [][]int{})},
	}
	r := rand.New(rand.NewSource(3))
	for _, c := range views {
		v := c.v
		t.Run(c.name, func(t *testing.T) {
			g := make([]float64, sizeOf(v.out))
			for i := range g {
				g[i] = r.NormFloat64()
			}
			if len(g) > 1 {
				g[1] = math.Copysign(0, -1)
			}
			g32 := make([]float32, len(g))
			for i, x := range g {
				g32[i] = float32(x)
			}
			checkViewBackInto(t, v, Dense(v.out, g))
			checkViewBackInto(t, v, Dense(v.out, g32))
		})
	}
}

func checkViewBackInto(t *testing.T, v *viewMap, g *tensor.Dense) {
	t.Helper()
	want, err := viewBackKernel(v)([]*tensor.Dense{g})
	if err != nil {
		t.Fatal(err)
	}
	dst := tensor.New(tensor.WithShape(v.in...), tensor.Of(g.Dtype()))
	if len(v.in) == 0 {
		dst = tensor.New(tensor.FromScalar(zeroOf(g.Dtype())))
	}
	for run := 0; run < 2; run++ {
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
		if err := viewBackInto(v)([]*tensor.Dense{g}, dst); err != nil {
			t.Fatal(err)
		}
		if err := sameBits(dst, want); err != nil {
			t.Fatalf("%v, run %d: %v", g.Dtype(), run, err)
		}
	}
	// a buffer of the wrong size is an error, not a panic
	bad := tensor.New(tensor.WithShape(sizeOf(v.in)+1), tensor.Of(g.Dtype()))
	if err := viewBackInto(v)([]*tensor.Dense{g}, bad); err == nil {
		t.Fatalf("%v: no error for %d elements", g.Dtype(), sizeOf(v.in)+1)
	}
}

func zeroOf(dt tensor.Dtype) any {
	if dt == tensor.Float32 {
		return float32(0)
	}
	return float64(0)
}
