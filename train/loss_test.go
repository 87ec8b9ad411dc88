package train

import (
	"errors"
	"math"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
)

// TestLossGradients checks the cross-entropy (with and without label
// smoothing) and MSE gradients against central finite differences of the
// losses' own forward computation (float32, so the tolerance is loose).
func TestLossGradients(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	z := make([]float32, 4*3)
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	target := make([]float32, 12)
	for i := range target {
		target[i] = float32(r.NormFloat64())
	}
	labels := []int64{0, 2, 1, 2}
	cases := []struct {
		name  string
		build func(g *G.ExprGraph, x *G.Node) (*G.Node, error)
	}{
		{"cross-entropy", func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
			y := G.NewTensor(g, tensor.Int64, 1, G.WithShape(4), G.WithValue(ops.Dense([]int{4}, labels)), G.WithName("y"))
			return crossEntropyNode(g, x, y, 0, nil)
		}},
		{"cross-entropy smoothed", func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
			y := G.NewTensor(g, tensor.Int64, 1, G.WithShape(4), G.WithValue(ops.Dense([]int{4}, labels)), G.WithName("y"))
			return crossEntropyNode(g, x, y, 0.1, nil)
		}},
		{"mse", func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
			y := G.NewTensor(g, tensor.Float32, 2, G.WithShape(4, 3), G.WithValue(ops.Dense([]int{4, 3}, target)), G.WithName("t"))
			return mseNode(g, x, y)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eval := func(v []float32, withGrad bool) (float64, []float32) {
				g := G.NewGraph()
				x := G.NewTensor(g, tensor.Float32, 2, G.WithShape(4, 3), G.WithName("x"), G.WithValue(ops.Dense([]int{4, 3}, append([]float32(nil), v...))))
				loss, err := c.build(g, x)
				if err != nil {
					t.Fatal(err)
				}
				return runLoss(t, g, loss, x, withGrad)
			}
			_, analytic := eval(z, true)
			const eps = 1e-2
			for i := range z {
				p := append([]float32(nil), z...)
				p[i] += eps
				lp, _ := eval(p, false)
				p[i] -= 2 * eps
				lm, _ := eval(p, false)
				num := (lp - lm) / (2 * eps)
				if math.Abs(num-float64(analytic[i])) > 2e-3 {
					t.Errorf("d loss / d z[%d]: analytic %.6f, numeric %.6f", i, analytic[i], num)
				}
			}
		})
	}
}

// runLoss runs g and returns the loss and, withGrad, its gradient with
// respect to x.
func runLoss(t *testing.T, g *G.ExprGraph, loss, x *G.Node, withGrad bool) (float64, []float32) {
	t.Helper()
	var grads G.Nodes
	if withGrad {
		var err error
		if grads, err = G.Grad(loss, x); err != nil {
			t.Fatal(err)
		}
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	l, _ := scalar(loss.Value())
	if !withGrad {
		return l, nil
	}
	gv, _ := valueData(grads[0].Value())
	return l, append([]float32(nil), gv...)
}

// TestCrossEntropyRowsSplit checks that the cross-entropy's loss and
// gradient over 16 rows of 1000 classes (split across the cores by
// lossRows) are those of one core, bit for bit, with and without label
// smoothing and class weights.
func TestCrossEntropyRowsSplit(t *testing.T) {
	const n, c = 16, 1000
	r := rand.New(rand.NewSource(7))
	z := make([]float32, n*c)
	for i := range z {
		z[i] = float32(3 * r.NormFloat64())
	}
	labels := make([]int64, n)
	for i := range labels {
		labels[i] = int64(r.Intn(c))
	}
	w := make([]float64, c)
	for i := range w {
		w[i] = 0.5 + r.Float64()
	}
	run := func(eps float64, w []float64) (float64, []float32) {
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float32, 2, G.WithShape(n, c), G.WithName("x"), G.WithValue(ops.Dense([]int{n, c}, append([]float32(nil), z...))))
		y := G.NewTensor(g, tensor.Int64, 1, G.WithShape(n), G.WithValue(ops.Dense([]int{n}, labels)), G.WithName("y"))
		loss, err := crossEntropyNode(g, x, y, eps, w)
		if err != nil {
			t.Fatal(err)
		}
		return runLoss(t, g, loss, x, true)
	}
	for _, tc := range []struct {
		name string
		eps  float64
		w    []float64
	}{{"plain", 0, nil}, {"smoothed", 0.1, nil}, {"weighted smoothed", 0.1, w}} {
		t.Run(tc.name, func(t *testing.T) {
			procs := runtime.GOMAXPROCS(2)
			split, splitGrad := run(tc.eps, tc.w)
			runtime.GOMAXPROCS(1)
			serial, serialGrad := run(tc.eps, tc.w)
			runtime.GOMAXPROCS(procs)
			if math.Float64bits(split) != math.Float64bits(serial) {
				t.Errorf("loss %v split across cores, %v on one", split, serial)
			}
			for i := range serialGrad {
				if math.Float32bits(splitGrad[i]) != math.Float32bits(serialGrad[i]) {
					t.Fatalf("gradient [%d] %v split across cores, %v on one", i, splitGrad[i], serialGrad[i])
				}
			}
		})
	}
}

// TestCrossEntropyOneClass: a model with one score a sample is refused
// under cross-entropy (its loss is 0 at every step), with a SettingError
// naming the shape and mse.
func TestCrossEntropyOneClass(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 2, G.WithShape(4, 1), G.WithName("x"), G.WithValue(ops.Dense([]int{4, 1}, make([]float32, 4))))
	y := G.NewTensor(g, tensor.Int64, 1, G.WithShape(4), G.WithValue(ops.Dense([]int{4}, make([]int64, 4))), G.WithName("y"))
	_, err := crossEntropyNode(g, x, y, 0, nil)
	var se *SettingError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "[4 1]") || !strings.Contains(err.Error(), "mse") {
		t.Fatalf("cross-entropy over [4 1]: %v, want a SettingError naming the shape and mse", err)
	}
}
