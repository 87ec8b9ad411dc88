package ops

import (
	"math"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestGradSumsMatchGorgonia: Grad's GradSum kernels (the gradient of a
// value several nodes read) give gorgonia.Grad's gradients bit for bit, on
// a small BERT and ViT (values read by the query, key and value
// projections, residual connections) with the loss sum(logits^2) in
// float32. The tape machine runs both graphs as a training step does.
func TestGradSumsMatchGorgonia(t *testing.T) {
	for _, tc := range archLossCases {
		t.Run(tc.name, func(t *testing.T) {
			m, x := archLossModel(t, tc, math.Sin)
			name := InputNames(m)[0]
			step := func(gradOf func(loss *G.Node, wrt G.Nodes) (G.Nodes, error)) (map[string][]float32, int) {
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
				// The parameters the loss reaches (gorgonia.Grad fails on others).
				all := make(G.Nodes, len(names))
				for i, n := range names {
					all[i] = p.Params[n]
				}
				reach, err := Grad(p.Outputs[0].Node, all)
				if err != nil {
					t.Fatal(err)
				}
				var wrt G.Nodes
				var kept []string
				for i, g := range reach {
					if g != nil {
						wrt, kept = append(wrt, all[i]), append(kept, names[i])
					}
				}
				if len(wrt) < 10 {
					t.Fatalf("%d parameters reached", len(wrt))
				}
				p2, err := Compile(m, map[string][]int{name: tc.shape}, Options{Train: true})
				if err != nil {
					t.Fatal(err)
				}
				defer p2.Close()
				wrt2 := make(G.Nodes, len(kept))
				for i, n := range kept {
					wrt2[i] = p2.Params[n]
				}
				gs, err := gradOf(p2.Outputs[0].Node, wrt2)
				if err != nil {
					t.Fatal(err)
				}
				sums := 0
				for _, n := range p2.Graph.AllNodes() {
					if k, ok := n.Op().(*kernelOp); ok && k.name == "GradSum" {
						sums++
					}
				}
				if err := G.Let(p2.Inputs[name], x); err != nil {
					t.Fatal(err)
				}
				roots := append(G.Nodes{p2.Outputs[0].Node}, gs...)
				vm := G.NewTapeMachine(p2.Graph.ExactSubgraphRoots(roots...))
				defer vm.Close()
				if err := RunAll(vm); err != nil {
					t.Fatal(err)
				}
				out := float32Grads(t, kept, gs)
				return out, sums
			}
			ours, sums := step(Grad)
			theirs, none := step(func(loss *G.Node, wrt G.Nodes) (G.Nodes, error) { return G.Grad(loss, wrt...) })
			if sums == 0 || none != 0 {
				t.Fatalf("GradSum kernels: %d with Grad, %d with gorgonia.Grad; want some and none", sums, none)
			}
			sameGradBits(t, ours, theirs, "%v, gorgonia.Grad %v")
		})
	}
}
