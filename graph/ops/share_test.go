package ops

import (
	"math"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestOverwritingKernelsIgnoreGarbage: the kernels that say they overwrite
// every element of their output (Spec.Overwrites, whose shared buffers
// ShareBuffers does not clear) give, when every one of their buffers is
// full of NaNs before a training step of a small BERT and ViT, the
// gradients of a step with a new buffer per kernel, bit for bit.
func TestOverwritingKernelsIgnoreGarbage(t *testing.T) {
	for _, tc := range archLossCases {
		t.Run(tc.name, func(t *testing.T) {
			m, x := archLossModel(t, tc, math.Cos)
			name := InputNames(m)[0]
			step := func(poison bool) (map[string][]float32, int) {
				p, err := Compile(m, map[string][]int{name: tc.shape}, Options{Train: true})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				var names []string
				for n := range p.Params {
					names = append(names, n)
				}
				sort.Strings(names)
				wrt := make(G.Nodes, len(names))
				for i, n := range names {
					wrt[i] = p.Params[n]
				}
				gs, err := Grad(p.Outputs[0].Node, wrt)
				if err != nil {
					t.Fatal(err)
				}
				roots := G.Nodes{p.Outputs[0].Node}
				for _, g := range gs {
					if g != nil {
						roots = append(roots, g)
					}
				}
				sub := p.Graph.ExactSubgraphRoots(roots...)
				poisoned := 0
				if poison {
					if _, err := ShareBuffers(sub, roots); err != nil {
						t.Fatal(err)
					}
					for _, n := range sub.AllNodes() {
						k, ok := n.Op().(*kernelOp)
						if !ok || k.into == nil || !k.overwrites {
							continue
						}
						if k.dst == nil {
							k.dst = tensor.New(tensor.WithShape(k.shape...), tensor.Of(k.dt))
						}
						switch d := k.dst.Data().(type) {
						case []float32:
							for i := range d {
								d[i] = float32(math.NaN())
							}
						case []float64:
							for i := range d {
								d[i] = math.NaN()
							}
						}
						poisoned++
					}
				}
				if err := G.Let(p.Inputs[name], x); err != nil {
					t.Fatal(err)
				}
				vm := G.NewTapeMachine(sub)
				defer vm.Close()
				if err := RunAll(vm); err != nil {
					t.Fatal(err)
				}
				out := float32Grads(t, names, gs)
				return out, poisoned
			}
			want, _ := step(false)
			got, poisoned := step(true)
			if poisoned < 20 || len(want) < 10 || len(got) != len(want) {
				t.Fatalf("%d kernels poisoned, %d and %d gradients", poisoned, len(got), len(want))
			}
			sameGradBits(t, got, want, "%v after NaNs in the buffers, %v with new ones")
		})
	}
}
