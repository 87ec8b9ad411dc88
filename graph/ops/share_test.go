package ops

import (
	"math"
	"path/filepath"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// TestOverwritingKernelsIgnoreGarbage: the kernels that say they overwrite
// every element of their output (Spec.Overwrites, whose shared buffers
// ShareBuffers does not clear) give, when every one of their buffers is
// full of NaNs before a training step of a small BERT and ViT, the
// gradients of a step with a new buffer per kernel, bit for bit.
func TestOverwritingKernelsIgnoreGarbage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		ids   bool
	}{
		{"bert_dynamo_noopt", []int{2, 8}, true},
		{"bert_ts", []int{2, 8}, true},
		{"vit_dynamo_noopt", []int{2, 3, 16, 16}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := importer.Load(filepath.Join("..", "..", "models", "arch", tc.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			logits := m.Graph.Outputs[0].Name
			m.Graph.Nodes = append(m.Graph.Nodes,
				&graph.Node{Name: "sq", OpType: "Mul", Inputs: []string{logits, logits}, Outputs: []string{"sq"}},
				&graph.Node{Name: "loss", OpType: "ReduceSum", Inputs: []string{"sq"}, Outputs: []string{"loss"},
					Attrs: []*graph.Attribute{attrInt("keepdims", 0)}})
			m.Graph.Outputs = []*graph.ValueInfo{{Name: "loss"}}
			var x *tensor.Dense
			if tc.ids {
				ids := make([]int64, sizeOf(tc.shape))
				for i := range ids {
					ids[i] = int64(i*37) % 64
				}
				x = Dense(tc.shape, ids)
			} else {
				v := make([]float32, sizeOf(tc.shape))
				for i := range v {
					v[i] = float32(math.Cos(float64(i)))
				}
				x = Dense(tc.shape, v)
			}
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
				out := make(map[string][]float32)
				for i, g := range gs {
					if g == nil {
						continue
					}
					d, err := asDense(g.Value())
					if err != nil {
						t.Fatal(err)
					}
					v, err := Data[float32](d)
					if err != nil {
						t.Fatal(err)
					}
					out[names[i]] = append([]float32(nil), v...)
				}
				return out, poisoned
			}
			want, _ := step(false)
			got, poisoned := step(true)
			if poisoned < 20 || len(want) < 10 || len(got) != len(want) {
				t.Fatalf("%d kernels poisoned, %d and %d gradients", poisoned, len(got), len(want))
			}
			for n, w := range want {
				g := got[n]
				for i := range w {
					if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
						t.Fatalf("%s[%d]: %v after NaNs in the buffers, %v with new ones", n, i, g[i], w[i])
					}
				}
			}
		})
	}
}
