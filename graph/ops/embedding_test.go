package ops

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// fxEmbedding is the FX record torch 2.14's dynamo exporter writes on the
// Gather of nn.Embedding (RoBERTa's word embeddings, padding_idx=1).
const fxEmbedding = `%embedding : [num_users=1] = call_function[target=torch.ops.aten.embedding.default](args = (%p_roberta_embeddings_word_embeddings_weight, %x, 1), kwargs = {})`

func TestEmbeddingHintOf(t *testing.T) {
	rec := func(v string) *graph.Node {
		return &graph.Node{OpType: "Gather", Metadata: []graph.StringPair{{Key: "pkg.torch.onnx.fx_node", Value: v}}}
	}
	call := func(args, kwargs string) *graph.Node {
		return rec("%embedding : [num_users=1] = call_function[target=torch.ops.aten.embedding.default](args = (" + args + "), kwargs = {" + kwargs + "})")
	}
	for _, c := range []struct {
		name string
		n    *graph.Node
		want embeddingHint
	}{
		{"roberta", rec(fxEmbedding), embeddingHint{padding: 1}},
		{"no padding_idx", call("%p_w, %x", ""), noEmbeddingHint},
		{"padding_idx -1", call("%p_w, %x, -1", ""), noEmbeddingHint},
		{"scale_grad_by_freq", call("%p_w, %x, 0, True", ""), embeddingHint{padding: 0, scaleByFreq: true}},
		{"keywords", call("%p_w, %x", "padding_idx: 3, scale_grad_by_freq: True"), embeddingHint{padding: 3, scaleByFreq: true}},
		{"other call", rec("%select : [num_users=1] = call_function[target=torch.ops.aten.select.int](args = (%h, 1, 0), kwargs = {})"), noEmbeddingHint},
		{"no record (TorchScript)", &graph.Node{OpType: "Gather"}, noEmbeddingHint},
		{"unreadable", rec("%embedding = call_function[target=torch.ops.aten.embedding.default](args = (%p_w, %x, 1"), noEmbeddingHint},
	} {
		if got := embeddingHintOf(c.n); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestGatherEmbeddingGradient: a Gather the FX record says is
// aten.embedding(weight, ids, padding_idx, scale_grad_by_freq) has
// PyTorch's gradient for the weight: the output gradients' rows summed
// into their indices' rows, none into the padding row, divided by each
// index's count under scale_grad_by_freq. The forward reads the padding
// row as any other.
func TestGatherEmbeddingGradient(t *testing.T) {
	weight := randF64(5, -1, 1, 6, 3)
	ids := []int64{1, 4, 1, 0, 2, 4, 4, 1}
	up := randF64(6, -1, 1, 2, 4, 3) // d loss / d output
	for _, c := range []struct {
		name string
		args string
		h    embeddingHint
	}{
		{"plain", "%p_w, %x", noEmbeddingHint},
		{"padding_idx=1", "%p_w, %x, 1", embeddingHint{padding: 1}},
		{"padding_idx=4, scale_grad_by_freq", "%p_w, %x, 4, True", embeddingHint{padding: 4, scaleByFreq: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode("Gather", 13, nil, 1, arg{Name: "w", Value: weight},
				arg{Name: "ids", Value: Dense([]int{2, 4}, ids), Const: true})
			m.Graph.Nodes[0].Metadata = []graph.StringPair{{Key: "pkg.torch.onnx.fx_node",
				Value: "%embedding : [num_users=1] = call_function[target=torch.ops.aten.embedding.default](args = (" + c.args + "), kwargs = {})"}}
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			un := G.NewTensor(p.Graph, tensor.Float64, 3, G.WithName("up"), G.WithShape(2, 4, 3), G.WithValue(up))
			loss := G.Must(G.Sum(G.Must(G.HadamardProd(p.Outputs[0].Node, un))))
			grads, err := G.Grad(loss, p.Inputs["w"])
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(p.Graph)
			defer vm.Close()
			if err := G.Let(p.Inputs["w"], weight); err != nil {
				t.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			got, _ := Data[float64](grads[0].Value().(*tensor.Dense))
			out, _ := Data[float64](p.Outputs[0].Node.Value().(*tensor.Dense))
			w, _ := Data[float64](weight)
			u, _ := Data[float64](up)
			want := make([]float64, len(w))
			count := make([]float64, 6)
			for _, i := range ids {
				count[i]++
			}
			for k, i := range ids {
				for j := 0; j < 3; j++ {
					if out[k*3+j] != w[int(i)*3+j] {
						t.Fatalf("output[%d][%d] %g, weight[%d][%d] %g", k, j, out[k*3+j], i, j, w[int(i)*3+j])
					}
					if int(i) == c.h.padding {
						continue
					}
					g := u[k*3+j]
					if c.h.scaleByFreq {
						g /= count[i]
					}
					want[int(i)*3+j] += g
				}
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Errorf("d loss / d weight[%d][%d]: %g, want %g", i/3, i%3, got[i], want[i])
				}
			}
			if c.h.padding >= 0 {
				for j := 0; j < 3; j++ {
					if got[c.h.padding*3+j] != 0 {
						t.Errorf("padding row %d gets gradient %g", c.h.padding, got[c.h.padding*3+j])
					}
				}
			}
		})
	}
}
