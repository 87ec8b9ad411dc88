package vec_test

import (
	"fmt"
	"math"

	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

func ExampleReluMask() {
	// Relu's gradient: dy passes where x > 0 or x is NaN.
	x := []float32{-1, 0, 2, float32(math.NaN()), 3}
	dy := []float32{10, 20, 30, 40, 50}
	out := make([]float32, len(x))
	vec.ReluMask(out, dy, x)
	fmt.Println(out)
	// Relu itself, in place.
	vec.ReluMask(x, x, x)
	fmt.Println(x)
	// Output:
	// [0 0 30 40 50]
	// [0 0 2 NaN 3]
}

func ExampleSum() {
	v := make([]float32, 100)
	for i := range v {
		v[i] = float32(i)
	}
	fmt.Println(vec.Sum(v), vec.SqDev(v, 49.5)/100)
	// Output: 4950 833.25
}
