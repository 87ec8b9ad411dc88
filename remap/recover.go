package remap

import (
	"sort"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// slot says which PyTorch tensor an op input position holds.
type slot struct {
	suffix     string // "weight", "bias", "running_mean", "running_var"
	transposed bool
}

// paramSlot gives the PyTorch parameter at input idx of node n, if that
// position holds one. producers resolves what feeds n's other inputs (for the
// bias of MatMul+Add).
func paramSlot(n *graph.Node, idx int, producers map[string]*graph.Node) (slot, bool) {
	switch n.OpType {
	case "Conv", "ConvTranspose", "LayerNormalization", "InstanceNormalization", "GroupNormalization":
		switch idx {
		case 1:
			return slot{suffix: "weight"}, true
		case 2:
			return slot{suffix: "bias"}, true
		}
	case "Gemm":
		switch idx {
		case 1:
			// PyTorch's Linear stores (out, in): transB=1. transB=0 means the
			// file holds the transpose.
			return slot{suffix: "weight", transposed: n.AttrInt("transB", 0) == 0}, true
		case 2:
			return slot{suffix: "bias"}, true
		}
	case "MatMul":
		if idx == 1 {
			return slot{suffix: "weight", transposed: true}, true
		}
	case "Add":
		// Linear on 3-D input: MatMul(x, W^T) then Add(bias).
		other := n.Inputs[1-idx%2]
		if len(n.Inputs) == 2 {
			if p := producers[other]; p != nil && p.OpType == "MatMul" {
				return slot{suffix: "bias"}, true
			}
		}
	case "BatchNormalization":
		switch idx {
		case 1:
			return slot{suffix: "weight"}, true
		case 2:
			return slot{suffix: "bias"}, true
		case 3:
			return slot{suffix: "running_mean"}, true
		case 4:
			return slot{suffix: "running_var"}, true
		}
	case "Gather":
		if idx == 0 {
			return slot{suffix: "weight"}, true // nn.Embedding
		}
	case "PRelu":
		if idx == 1 {
			return slot{suffix: "weight"}, true
		}
	}
	return slot{}, false
}

// Recover fills m.Params: every initializer PyTorch's state_dict would hold,
// under its PyTorch name. Initializers the exporter kept by name keep it;
// anonymized ones ("onnx::Conv_193") are named from the module path of the
// node that reads them and their input position. Values reached through
// Identity nodes (the exporter's de-duplication of equal tensors) are listed
// under the Identity's output name, as tied parameters. Constants that no
// rule recognizes (shapes, scales) are not parameters.
func Recover(m *graph.Model) error {
	g := m.Graph
	producers := g.Producers()
	consumers := g.Consumers()
	inits := make(map[string]*graph.Tensor, len(g.Initializers))
	for _, t := range g.Initializers {
		inits[t.Name] = t
	}
	// Values that are an initializer under another name, through Identity.
	alias := make(map[string]string) // value -> initializer
	for _, n := range g.Nodes {
		if n.OpType != "Identity" || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		src := n.Inputs[0]
		if a, ok := alias[src]; ok {
			src = a
		}
		if _, ok := inits[src]; ok {
			alias[n.Outputs[0]] = src
		}
	}
	order := make(map[*graph.Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		order[n] = i
	}
	type entry struct {
		p   *graph.Param
		pos int // node order of first use, for sorting
	}
	var entries []entry
	taken := make(map[string]bool)
	add := func(p *graph.Param, pos int) {
		if taken[p.Name] {
			return
		}
		taken[p.Name] = true
		entries = append(entries, entry{p, pos})
	}
	values := make([]string, 0, len(g.Initializers)+len(alias))
	for _, t := range g.Initializers {
		values = append(values, t.Name)
	}
	for _, n := range g.Nodes {
		if n.OpType == "Identity" && len(n.Outputs) == 1 {
			if _, ok := alias[n.Outputs[0]]; ok {
				values = append(values, n.Outputs[0])
			}
		}
	}
	shared := make(map[string]int) // initializer -> number of params reading it
	var params []entry
	for _, v := range values {
		init := v
		if a, ok := alias[v]; ok {
			init = a
		}
		t := inits[init]
		uses := consumers[v]
		first := len(g.Nodes)
		direct := false
		for _, u := range uses {
			if u.Node.OpType != "Identity" || alias[u.Node.Outputs[0]] == "" {
				direct = true
				if o := order[u.Node]; o < first {
					first = o
				}
			}
		}
		if IsStateDictName(v) {
			if !direct && v == init && len(uses) > 0 {
				continue // only read through Identity: listed under the aliases
			}
			p := &graph.Param{
				Name: v, Initializer: init, Value: v,
				DType: t.DType, Role: graph.Role(roleOf(v, t.DType.IsFloat())),
				Shape: append([]int64(nil), t.Dims...),
			}
			if len(uses) > 0 {
				if s, ok := paramSlot(uses[0].Node, uses[0].Index, producers); ok && s.transposed && len(t.Dims) == 2 {
					p.Transposed = true
					p.Shape = []int64{t.Dims[1], t.Dims[0]}
				}
			}
			params = append(params, entry{p, first})
			shared[init]++
			continue
		}
		// Anonymized: one parameter per distinct module that reads it.
		seen := make(map[string]bool)
		for _, u := range uses {
			if u.Index < 0 {
				continue
			}
			s, ok := paramSlot(u.Node, u.Index, producers)
			if !ok {
				continue
			}
			mod := ModulePath(u.Node.Name)
			if mod == "" {
				continue
			}
			name := mod + "." + s.suffix
			if b := siblingBias(u.Node, consumers, func(v string) bool { _, ok := inits[v]; return ok || alias[v] != "" }); b != "" && s.suffix == "weight" {
				// A Linear-like MatMul+Add whose bias kept its name: the
				// weight is the bias's sibling ("self_attn.in_proj_bias" ->
				// "self_attn.in_proj_weight").
				name = strings.TrimSuffix(b, "bias") + "weight"
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			p := &graph.Param{
				Name: name, Initializer: init, Value: v, Node: u.Node.Name,
				DType: t.DType, Role: graph.Role(roleOf(name, t.DType.IsFloat())),
				Shape: append([]int64(nil), t.Dims...), Recovered: true,
			}
			if s.transposed && len(t.Dims) == 2 {
				p.Transposed = true
				p.Shape = []int64{t.Dims[1], t.Dims[0]}
			}
			params = append(params, entry{p, order[u.Node]})
			shared[init]++
		}
	}
	sort.SliceStable(params, func(i, j int) bool { return params[i].pos < params[j].pos })
	for _, e := range params {
		if taken[e.p.Name] && e.p.Recovered {
			// Two tensors recovered one name (slices of one PyTorch tensor,
			// say): the later keeps the name it has in the file.
			e.p.Name, e.p.Recovered, e.p.Node = e.p.Value, false, ""
		}
		add(e.p, e.pos)
	}
	m.Params = m.Params[:0]
	for _, e := range entries {
		e.p.Tied = shared[e.p.Initializer] > 1
		m.Params = append(m.Params, e.p)
	}
	return nil
}

// siblingBias returns the name of the bias a MatMul's output is added to,
// when that bias is a tensor (per isTensor: an initializer or an alias of one)
// with a state_dict name ending in "bias".
func siblingBias(n *graph.Node, consumers map[string][]graph.Use, isTensor func(string) bool) string {
	if n.OpType != "MatMul" || len(n.Outputs) != 1 {
		return ""
	}
	uses := consumers[n.Outputs[0]]
	if len(uses) != 1 || uses[0].Node.OpType != "Add" || len(uses[0].Node.Inputs) != 2 {
		return ""
	}
	other := uses[0].Node.Inputs[1-uses[0].Index]
	if isTensor(other) && IsStateDictName(other) && strings.HasSuffix(other, "bias") {
		return other
	}
	return ""
}
