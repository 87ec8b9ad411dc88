package ops

import (
	"errors"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// TestRunErrorNamesNode: a kernel that fails while a program runs gives one
// line naming the IR node and the kernel's message, without gorgonia's
// "PC n. Failed to execute instruction" wrapping; a gradient kernel names
// the node it differentiates.
func TestRunErrorNamesNode(t *testing.T) {
	check := func(t *testing.T, err error, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error; want %q", want)
		}
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		var re *RunError
		if !errors.As(err, &re) {
			t.Errorf("error %q is not a *RunError", err)
		}
	}
	t.Run("Gather at run time", func(t *testing.T) {
		m, shapes := oneNode("Gather", 13, nil, 1,
			arg{Name: "x", Value: randF64(1, -1, 1, 5)}, arg{Name: "i", Value: Dense([]int{1}, []int64{7})})
		p, err := Compile(m, shapes, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, err = p.Run(map[string]*tensor.Dense{"x": randF64(1, -1, 1, 5), "i": Dense([]int{1}, []int64{7})})
		check(t, err, `node "/test/Gather" (Gather): index 7 out of range [-5, 5)`)
		r, err := NewRunner(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = r.Run(map[string]*tensor.Dense{"x": randF64(1, -1, 1, 5), "i": Dense([]int{1}, []int64{-6})})
		check(t, err, `node "/test/Gather" (Gather): index -6 out of range [-5, 5)`)
	})
	t.Run("Gather folded", func(t *testing.T) {
		m, shapes := oneNode("Gather", 13, nil, 1,
			arg{Name: "x", Value: randF64(1, -1, 1, 5), Const: true}, arg{Name: "i", Value: Dense([]int{1}, []int64{7}), Const: true})
		_, err := Compile(m, shapes, Options{})
		if err == nil || err.Error() != `node "/test/Gather" (Gather): index 7 out of range [-5, 5)` {
			t.Errorf("error %v, want the node and the kernel's message", err)
		}
	})
	t.Run("gradient kernel", func(t *testing.T) {
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float64, 1, G.WithName("x"), G.WithShape(3), G.WithValue(Dense([]int{3}, []float64{1, 2, 3})))
		c := &Ctx{G: g, Node: &graph.Node{Name: "/f", OpType: "Foo"}, seq: new(int)}
		fail := func(in []*tensor.Dense) (*tensor.Dense, error) { return nil, errors.New("boom") }
		y, err := c.Apply(Spec{Name: "Foo", Shape: []int{}, DType: graph.Float64,
			Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) { return tensor.New(tensor.FromScalar(1.0)), nil },
			WRT: []bool{true},
			Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				mid, err := NewNode(grad.Graph(), output.Name()+"/mid", Spec{Name: "FooGradMid", Shape: []int{3}, DType: graph.Float64, Fwd: fail}, grad)
				if err != nil {
					return nil, err
				}
				n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "FooGrad", Shape: []int{3}, DType: graph.Float64,
					Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) { return in[0], nil }}, mid)
				return G.Nodes{n}, err
			}}, &Value{Node: x, Shape: []int{3}, DType: graph.Float64})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := G.Grad(y.Node, x); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		check(t, RunAll(vm), `node "/f" (Foo): FooGradMid: boom`)
	})
}

// TestRunChecksInputs: a nil tensor or one of the wrong element type is an
// error of one line naming the input, from Program.Run and Runner.Run.
func TestRunChecksInputs(t *testing.T) {
	m, shapes := oneNode("Relu", 13, nil, 1, arg{Name: "x", Value: Dense([]int{2, 3}, make([]float32, 6))})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := NewRunner(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		name string
		x    *tensor.Dense
		want string
	}{
		{"nil", nil, `input "x" has no tensor`},
		{"float64", Dense([]int{2, 3}, make([]float64, 6)), `input "x" is float64, the model wants float32`},
		{"int64", Dense([]int{2, 3}, make([]int64, 6)), `input "x" is int64, the model wants float32`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]*tensor.Dense{"x": tc.x}
			for what, run := range map[string]func() ([]*tensor.Dense, error){"Program": func() ([]*tensor.Dense, error) { return p.Run(in) }, "Runner": func() ([]*tensor.Dense, error) { return r.Run(in) }} {
				var err error
				func() {
					defer func() {
						if v := recover(); v != nil {
							t.Fatalf("%s.Run panics: %v", what, v)
						}
					}()
					_, err = run()
				}()
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s.Run: error %q, want one line saying %q", what, err, tc.want)
				}
			}
		})
	}
}
