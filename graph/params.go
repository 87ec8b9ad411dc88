package graph

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// This file holds the parameter table's builder: how PyTorch 1.13 names
// nodes after modules (ModulePath), and BuildParams, which names every
// initializer a state_dict would hold. Which input of which op holds a
// parameter is declared with the op (OpInfo.Params in graph/ops) and read
// here from paramslots_gen.go, generated from those declarations, so that
// the importer names parameters without depending on the engine.

// ParamSlot declares that an input position of an ai.onnx op holds a
// PyTorch parameter. Each op's descriptor in graph/ops declares its slots;
// paramslots_gen.go, the table this package reads, is generated from them
// (go generate ./graph).
type ParamSlot struct {
	Input  int    // the input position
	Suffix string // the state_dict suffix: "weight", "bias", "running_mean", "running_var"
	// Transposed: the file holds the transpose of PyTorch's 2-D tensor
	// (MatMul computes x @ W^T with W^T stored).
	Transposed bool
	// UnlessAttr names an int attribute which, when 1, makes Transposed
	// false (Gemm's transB: PyTorch's Linear exports transB=1).
	UnlessAttr string
	// Beside: the position holds a parameter only when the op has two
	// inputs and the other is the output of an op of this type (the Add
	// after a MatMul: a Linear's bias on input of rank 3 or more).
	Beside string
	// Linear: the weight of a linear map, whose output's last dimension is
	// the weight's first PyTorch dimension (the head remap.ReplaceHead
	// replaces).
	Linear bool
	// Parts, for the W, R and B inputs of LSTM, GRU and RNN: the input
	// holds, for each direction, one PyTorch tensor per part, consecutive
	// along its second axis (B holds "bias_ih" then "bias_hh"), named
	// <module>.<part>_l<layer>, with "_reverse" for the second direction;
	// layer is the node's rank among the nodes of its op and module
	// (PyTorch writes one node per layer). Each is listed as a view of
	// the input's tensor (Param.View).
	Parts []string
	// Gates, with Parts: PyTorch's gate k is the input's gate block
	// Gates[k] (nn.LSTM's i, f, g, o are ONNX's blocks 0, 2, 3, 1).
	Gates []int
}

// ParamView maps a parameter's elements, in PyTorch's row-major order,
// into its initializer's: they come in blocks of Block elements,
// consecutive in both, PyTorch's block k being the initializer's block
// Blocks[k]. nn.LSTM's weight_ih_l0_reverse [4H, I] in an ONNX LSTM's W
// [2, 4H, I] has Block H*I and Blocks 4, 6, 7, 5 (the second direction,
// gates i, f, g, o of ONNX's i, o, f, c).
type ParamView struct {
	Block  int64
	Blocks []int64
}

// Len is the number of elements of the parameter.
func (v *ParamView) Len() int64 { return v.Block * int64(len(v.Blocks)) }

// Bytes is the same view over the initializer's bytes, for elements of
// size bytes each.
func (v *ParamView) Bytes(size int) *ParamView {
	return &ParamView{Block: v.Block * int64(size), Blocks: v.Blocks}
}

// Fits reports whether every block lies within n elements.
func (v *ParamView) Fits(n int64) bool {
	if v.Block <= 0 {
		return false
	}
	for _, b := range v.Blocks {
		if b < 0 || b >= n/v.Block {
			return false
		}
	}
	return true
}

// Gather copies the parameter's elements out of src, its initializer's
// (dst has Len elements).
func Gather[T any](v *ParamView, dst, src []T) {
	for k, b := range v.Blocks {
		copy(dst[int64(k)*v.Block:int64(k+1)*v.Block], src[b*v.Block:(b+1)*v.Block])
	}
}

// Scatter writes the parameter's elements src into dst, its
// initializer's, leaving the rest of dst as it is.
func Scatter[T any](v *ParamView, dst, src []T) {
	for k, b := range v.Blocks {
		copy(dst[b*v.Block:(b+1)*v.Block], src[int64(k)*v.Block:int64(k+1)*v.Block])
	}
}

// recurrentViews lists the PyTorch tensors a recurrent op's W, R or B
// holds, per slot s (Parts, Gates), for a tensor of dims [directions,
// parts*gates*hidden, rest...] read by the node of that op which is
// layer-th of its module: name suffixes and views. Nil when the dims do
// not fit.
func recurrentViews(s ParamSlot, dims []int64, layer int) (names []string, views []*ParamView, shape []int64) {
	parts, gates := int64(len(s.Parts)), int64(len(s.Gates))
	if len(dims) < 2 || dims[0] < 1 || dims[0] > 2 || gates == 0 || dims[1] <= 0 || dims[1]%(parts*gates) != 0 {
		return nil, nil, nil
	}
	hidden := dims[1] / (parts * gates)
	block := hidden
	for _, d := range dims[2:] {
		if d <= 0 {
			return nil, nil, nil
		}
		block *= d
	}
	shape = append([]int64{gates * hidden}, dims[2:]...)
	for d := int64(0); d < dims[0]; d++ {
		for p, part := range s.Parts {
			name := fmt.Sprintf("%s_l%d", part, layer)
			if d == 1 {
				name += "_reverse"
			}
			v := &ParamView{Block: block}
			for _, g := range s.Gates {
				v.Blocks = append(v.Blocks, (d*parts+int64(p))*gates+int64(g))
			}
			names, views = append(names, name), append(views, v)
		}
	}
	return names, views, shape
}

// SlotOf returns the parameter slot at input idx of node n, if that position
// holds one, with Transposed resolved from n's attributes. producers
// resolves what feeds n's other inputs (for Beside). Reads from subgraphs
// (idx < 0) hold none.
func SlotOf(n *Node, idx int, producers map[string]*Node) (ParamSlot, bool) {
	if idx < 0 || idx >= len(n.Inputs) || (n.Domain != "" && n.Domain != "ai.onnx") {
		return ParamSlot{}, false
	}
	for _, s := range paramSlots[n.OpType] {
		if s.Input != idx {
			continue
		}
		if s.Beside != "" {
			if len(n.Inputs) != 2 {
				continue
			}
			if p := producers[n.Inputs[1-idx]]; p == nil || p.OpType != s.Beside {
				continue
			}
		}
		if s.UnlessAttr != "" && n.AttrInt(s.UnlessAttr, 0) == 1 {
			s.Transposed = false
		}
		return s, true
	}
	return ParamSlot{}, false
}

// BuildParams fills m.Params, the parameter table: every initializer
// PyTorch's state_dict would hold, under its PyTorch name. Initializers the
// exporter kept by name keep it; anonymized ones ("onnx::Conv_193") are named
// from the module path of the node that reads them and their input position.
// Values reached through Identity nodes (the exporter's de-duplication of
// equal tensors) are listed under the Identity's output name, as tied
// parameters. Constants that no rule recognizes (shapes, scales) are not
// parameters.
//
// Calls of local functions are seen through: the table is built on the
// inlined graph (Inlined), so a weight passed into a function is named by
// the op that reads it in the body, with the module path of that body
// node's own name. Initializer and Value stay names of m.Graph, and Node,
// for a weight read in a body, is the main-graph node that makes the call.
// A model whose calls cannot be inlined gets the table of m.Graph as it is.
//
// The importer calls it once when a model is loaded, and Edit after every
// change it makes; call it yourself only for a Model built or changed by
// hand.
func (m *Model) BuildParams() {
	m.Params = nil
	if m.Graph == nil {
		return
	}
	g := m.Graph
	var in *inliner // where the nodes of inlined bodies came from
	if ig, i, err := m.inline(DefaultMaxInlined); err == nil {
		g, in = ig, i
	}
	inBody := func(n *Node) bool { return in != nil && in.origin[n] != nil }
	// A dynamo export lists the program's parameters and buffers: only
	// those names are state_dict names ("val_0", "expand" are the
	// exporter's names for folded constants).
	sig := ExportSignature(m.Graph)
	args := exportArgs(m.Graph) // the signature's argument names, for the nodes' FX records
	named := IsStateDictName
	if sig != nil {
		named = func(v string) bool { k := sig[v]; return k == SigParameter || k == SigBuffer }
	}
	role := func(name string, float bool) Role {
		r := roleOf(name, float)
		if sig[name] == SigBuffer && r != RoleRunningMean && r != RoleRunningVar {
			r = RoleBuffer
		}
		return r
	}
	producers := g.Producers()
	consumers := g.Consumers()
	if in != nil {
		consumers = in.throughIdentity(consumers)
	}
	inits := make(map[string]*Tensor, len(g.Initializers))
	for _, t := range g.Initializers {
		inits[t.Name] = t
	}
	// Values that are an initializer under another name, through Identity
	// nodes of the main graph.
	alias := make(map[string]string) // value -> initializer
	for _, n := range g.Nodes {
		if n.OpType != "Identity" || len(n.Inputs) != 1 || len(n.Outputs) != 1 || inBody(n) {
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
	order := make(map[*Node]int, len(g.Nodes))
	opRank := make(map[*Node]int, len(g.Nodes))
	perOp := make(map[string]int)
	for i, n := range g.Nodes {
		order[n] = i
		opRank[n] = perOp[n.OpType]
		perOp[n.OpType]++
	}
	// A recurrent node's layer: its rank among the nodes of its op and
	// module (PyTorch writes one node per layer, in order).
	layerOf := make(map[*Node]int)
	perModule := make(map[string]int)
	for _, n := range g.Nodes {
		if s, ok := SlotOf(n, 1, producers); ok && len(s.Parts) > 0 {
			if mod := NodeModulePath(n); mod != "" {
				key := n.OpType + " " + mod
				layerOf[n] = perModule[key]
				perModule[key]++
			}
		}
	}
	type entry struct {
		p   *Param
		pos int // node order of first use, for sorting
		sub int // then state_dict order among a recurrent node's views
	}
	values := make([]string, 0, len(g.Initializers)+len(alias))
	for _, t := range g.Initializers {
		values = append(values, t.Name)
	}
	for _, n := range g.Nodes {
		if n.OpType == "Identity" && len(n.Outputs) == 1 && !inBody(n) {
			if _, ok := alias[n.Outputs[0]]; ok {
				values = append(values, n.Outputs[0])
			}
		}
	}
	// Parameters some dynamo exporters store as Constant nodes, under the
	// names the signature lists: in the table, marked Constant (training
	// makes them initializers first: remap.LiftConstants).
	constants := make(map[string]bool)
	if sig != nil {
		for _, n := range g.Nodes {
			if n.OpType != "Constant" || inBody(n) || len(n.Outputs) != 1 || len(n.Attrs) != 1 {
				continue
			}
			name, a := n.Outputs[0], n.Attrs[0]
			if a.Name != "value" || a.T == nil || !a.T.DType.IsFloat() || inits[name] != nil || !named(name) {
				continue
			}
			inits[name], constants[name] = a.T, true
			values = append(values, name)
		}
	}
	// A quantized export's integer weights in Constant nodes (PyTorch's
	// TorchScript export of a converted model), read by a
	// DequantizeLinear whose scale and zero point are constants: listed,
	// marked Constant (training gives them float master copies,
	// remap.QuantMasters).
	constOut := make(map[string]*Tensor)
	for _, n := range g.Nodes {
		if n.OpType == "Constant" && !inBody(n) && len(n.Outputs) == 1 && len(n.Attrs) == 1 && n.Attrs[0].Name == "value" && n.Attrs[0].T != nil {
			constOut[n.Outputs[0]] = n.Attrs[0].T
		}
	}
	known := func(v string) bool { return v == "" || inits[v] != nil || constOut[v] != nil }
	for _, n := range g.Nodes {
		name := ""
		if len(n.Outputs) == 1 {
			name = n.Outputs[0]
		}
		t := constOut[name]
		if n.OpType != "Constant" || t == nil {
			continue
		}
		uses := consumers[name]
		if t.DType.IsFloat() || inits[name] != nil || quantUse(uses) != quantData || len(uses) != 1 {
			continue
		}
		dq := uses[0].Node
		if len(dq.Inputs) < 2 || !known(dq.Inputs[1]) || (len(dq.Inputs) > 2 && !known(dq.Inputs[2])) {
			continue
		}
		inits[name], constants[name] = t, true
		values = append(values, name)
	}
	// Initializers read through an Identity whose output has a state_dict
	// name (TorchScript's de-duplication) are listed under those names; a
	// dynamo export's Identity ("clone") leaves the parameter its own.
	// A dynamo export's folded constants made from one parameter (a view
	// of it: transpose, reshape, unsqueeze, clone, cast): value -> name.
	folded := make(map[string]string)
	if sig != nil {
		for _, vi := range m.Graph.ValueInfo {
			var from []string
			for _, f := range foldedFrom(m.Graph, vi.Name) {
				if sig[f] == SigParameter {
					from = append(from, f)
				}
			}
			if len(from) == 1 && !named(vi.Name) && !repeated(inits[vi.Name]) {
				folded[vi.Name] = from[0]
			}
		}
	}
	namedAlias := make(map[string]bool)
	for a, init := range alias {
		if named(a) {
			namedAlias[init] = true
		}
	}
	// PyTorch 0.3 and its like: every initializer under a bare number and
	// also a graph input.
	oldExport := len(g.Initializers) > 0
	for _, t := range g.Initializers {
		if !bareNumber.MatchString(t.Name) || g.Input(t.Name) == nil {
			oldExport = false
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
		// QDQ models: a scale or zero point is no parameter (fixed, as
		// under PyTorch's QAT with frozen observers); an integer tensor
		// a DequantizeLinear reads is the parameter of the slot it
		// reaches, whatever the quantizer named it
		// ("conv1.weight_quantized" is conv1.weight).
		qdq := quantUse(uses)
		if qdq == quantScale || onlyConstantInputs(uses) {
			continue
		}
		dequantized := qdq == quantData && !t.DType.IsFloat()
		if named(v) && !dequantized {
			if !direct && v == init && len(uses) > 0 && namedAlias[init] {
				continue // only read through Identity: listed under the aliases
			}
			p := &Param{
				Name: v, Initializer: init, Value: v,
				DType: t.DType, Role: role(v, t.DType.IsFloat()),
				Shape: append([]int64(nil), t.Dims...),
			}
			// A tensor under its state_dict name holds the parameter as
			// PyTorch does, whatever reads it (x @ W, or a Transpose
			// before a MatMul), unless its metadata says otherwise (a
			// folded transpose that remap.Rename gave its PyTorch name).
			if stored(t) == StoredTransposed && len(t.Dims) == 2 {
				p.Transposed = true
				p.Shape = []int64{t.Dims[1], t.Dims[0]}
			}
			params = append(params, entry{p, first, 0})
			shared[init]++
			if sig != nil {
				// The dynamo exporter keeps one tensor for parameters of
				// equal values (two LayerNorms' fresh weights): the other
				// modules' parameters are tied to it, named by their
				// readers' scopes.
				for _, u := range uses {
					s, ok := SlotOf(u.Node, u.Index, producers)
					mod := NodeModulePath(u.Node)
					if !ok || mod == "" || rewritten(u.Node) {
						continue // a fused node's records are the fused op's
					}
					// The parameter the node's FX record reads: the tensor
					// itself (PyTorch ties them: one parameter), or
					// another (equal values the optimizer stored once).
					// Without a record: the reader's module with the rest of
					// the tensor's own name at that depth
					// (layers.0.self_attn.out_proj.weight read in
					// layers.1.self_attn), else the slot's.
					name := ""
					if targets := fxTargets(u.Node, args); targets != nil {
						if slices.Contains(targets, v) {
							continue
						}
						name = pickTarget(targets, lastComponent(v))
					} else if name = relativeTo(mod, v); !named(name) {
						name = mod + "." + s.Suffix
					}
					if name == v || !named(name) || inits[name] != nil {
						continue
					}
					q := *p
					q.Name, q.Node, q.Recovered, q.Role = name, u.Node.Name, true, role(name, t.DType.IsFloat())
					params = append(params, entry{&q, order[u.Node], 0})
					shared[init]++
				}
			}
			continue
		}
		// Anonymized: one parameter per distinct module that reads it.
		seen := make(map[string]bool)
		for _, u := range uses {
			// The slot that reads it, maybe through views (a PyTorch 0.3
			// Linear: Transpose, then MatMul); the module is that node's.
			r, s, flip, ok := slotThrough(u, consumers, producers, inBody)
			if !ok && sig == nil && oldExport && bareNumber.MatchString(init) && t.DType.IsFloat() {
				// PyTorch 0.3 wrote only parameters as initializers, all
				// under numbers: one read by no slot (an Add) is one too.
				r, s, ok = u, ParamSlot{Suffix: "weight"}, true
			}
			if !ok {
				continue
			}
			if flip {
				s.Transposed = !s.Transposed
			}
			mod := NodeModulePath(r.Node)
			node := u.Node.Name
			if inBody(u.Node) {
				// The body node's own name, as the exporter wrote it in
				// the function; the call stands for it in the main graph.
				mod, node = "", in.origin[u.Node].Name
				if src := in.source[u.Node]; src != nil {
					mod = ModulePath(src.Name)
				}
			}
			b := ""
			if s.Suffix == "weight" {
				b = siblingBias(r.Node, consumers, producers, func(v string) bool { _, ok := inits[v]; return (ok || alias[v] != "") && named(v) })
			}
			// A dynamo export says which parameter: the one the node's FX
			// record reads (a folded transpose read by two modules that
			// PyTorch ties is one parameter), else the one the optimizer
			// folded into the constant (a view of a parameter the forward
			// took: proj.t() is "t", transposed; skip.clone() is "clone").
			sigName := ""
			if sig != nil && folded[v] == "" && foldedFromNone(m.Graph, v, sig) {
				// A constant the optimizer folded from no parameter (a
				// decomposed GroupNorm's ones and zeros): none, whatever
				// the reader's records name.
				continue
			}
			if sig != nil {
				if pick := pickTarget(fxTargets(r.Node, args), s.Suffix); pick != "" && !rewritten(r.Node) {
					sigName = pick
				} else if from := folded[v]; from != "" {
					sigName = from
					s.Transposed = s.Transposed && transposeName.MatchString(v)
				}
			}
			if mod == "" && b == "" && sigName == "" {
				// A body node without a module path still has one when
				// the bias beside it has a name (PyTorch's
				// export_modules_as_functions: a Linear's MatMul in a
				// function, its bias passed in by name). Elsewhere, a
				// weight of an export that names no modules (PyTorch 0.3's
				// "1", "2"; a top-level op) gets a stable derived name:
				// the node's, or its op and rank among nodes of that op.
				if inBody(u.Node) || sig != nil {
					continue
				}
				mod = derivedModule(r.Node, opRank[r.Node])
			}
			name := mod + "." + s.Suffix
			if sigName != "" {
				name, b = sigName, ""
			}
			if b != "" {
				// A Linear-like MatMul+Add whose bias kept its name: the
				// weight is the bias's sibling ("self_attn.in_proj_bias" ->
				// "self_attn.in_proj_weight").
				name = strings.TrimSuffix(b, "bias") + "weight"
				if mod != "" {
					// The reader's module, when the bias is shared
					// with another module's (a dynamo export keeps one
					// tensor for equal values).
					name = strings.TrimSuffix(relativeTo(mod, b), "bias") + "weight"
				}
			}
			if len(s.Parts) > 0 {
				// A recurrent op's W, R or B: PyTorch's tensors of every
				// direction (and B's two halves), as views.
				if mod == "" || flip || r != u {
					continue
				}
				suffixes, views, shape := recurrentViews(s, t.Dims, layerOf[r.Node])
				for i, suf := range suffixes {
					name := mod + "." + suf
					if seen[name] || (sig != nil && !named(name)) {
						continue
					}
					seen[name] = true
					p := &Param{
						Name: name, Initializer: init, Value: v, Node: node,
						DType: t.DType, Role: role(name, t.DType.IsFloat()),
						Shape: slices.Clone(shape), Recovered: true, View: views[i],
					}
					params = append(params, entry{p, order[u.Node], 8*(i/len(s.Parts)) + 2*(s.Input-1) + i%len(s.Parts)})
				}
				shared[init]++
				continue
			}
			if seen[name] || (sig != nil && !named(name)) {
				continue // a dynamo export names every parameter it kept: not one
			}
			seen[name] = true
			p := &Param{
				Name: name, Initializer: init, Value: v, Node: node,
				DType: t.DType, Role: role(name, t.DType.IsFloat() || dequantized),
				Shape: append([]int64(nil), t.Dims...), Recovered: true,
			}
			if s.Transposed && len(t.Dims) == 2 {
				p.Transposed = true
				p.Shape = []int64{t.Dims[1], t.Dims[0]}
			}
			params = append(params, entry{p, order[u.Node], 0})
			shared[init]++
		}
		if from := folded[v]; from != "" && len(seen) == 0 && len(uses) > 0 && t.DType.IsFloat() {
			// A view of a parameter that no slot reads (gain.unsqueeze(0)
			// read by a Mul): the parameter, in the file's layout.
			p := &Param{
				Name: from, Initializer: init, Value: v, Node: uses[0].Node.Name,
				DType: t.DType, Role: role(from, true), Shape: append([]int64(nil), t.Dims...), Recovered: true,
			}
			params = append(params, entry{p, first, 0})
			shared[init]++
		}
	}
	sort.SliceStable(params, func(i, j int) bool {
		if params[i].pos != params[j].pos {
			return params[i].pos < params[j].pos
		}
		return params[i].sub < params[j].sub
	})
	taken := make(map[string]bool)
	for _, e := range params {
		if taken[e.p.Name] && e.p.Recovered && e.p.View == nil {
			// Two tensors recovered one name (slices of one PyTorch tensor,
			// say): the later keeps the name it has in the file.
			e.p.Name, e.p.Recovered, e.p.Node = e.p.Value, false, ""
		}
		if taken[e.p.Name] {
			continue
		}
		taken[e.p.Name] = true
		m.Params = append(m.Params, e.p)
	}
	for _, p := range m.Params {
		p.Tied = shared[p.Initializer] > 1
		p.Constant = constants[p.Initializer]
	}
}

// Edit changes m's graph and keeps the parameter table current: it runs
// change on m.Graph, then rebuilds m.Params from the graph as it is then,
// whether change failed or not (a change that fails may have done part of
// its work). Graph surgery (package remap: inference conversion, untying,
// renaming, head replacement) makes every change that adds, removes or
// renames tensors or nodes, or rewires inputs, through Edit. Writing new
// values into an initializer's Raw of the same shape changes no row and
// needs no Edit.
func (m *Model) Edit(change func(g *Graph) error) error {
	err := change(m.Graph)
	m.BuildParams()
	return err
}

// siblingBias returns the name of the bias n's output is added to, when n's
// only reader holds that bias in a Beside slot naming n's op (a Linear's
// MatMul and Add), and the bias is a tensor (per isTensor: an initializer or
// an alias of one, with a state_dict name) whose name ends in "bias".
func siblingBias(n *Node, consumers map[string][]Use, producers map[string]*Node, isTensor func(string) bool) string {
	if len(n.Outputs) != 1 {
		return ""
	}
	uses := consumers[n.Outputs[0]]
	if len(uses) != 1 || len(uses[0].Node.Inputs) != 2 || uses[0].Index < 0 {
		return ""
	}
	other := uses[0].Node.Inputs[1-uses[0].Index]
	s, ok := SlotOf(uses[0].Node, 1-uses[0].Index, producers)
	if !ok || s.Beside != n.OpType || s.Suffix != "bias" {
		return ""
	}
	if isTensor(other) && strings.HasSuffix(other, "bias") {
		return other
	}
	return ""
}

// stateDictName matches names that look like PyTorch state_dict keys:
// dotted identifiers such as "layer1.0.conv1.weight" or "fc.bias", and
// the keys of an nn.Sequential ("0.weight"); a bare number ("12", an old
// exporter's value name) is not one.
var stateDictName = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*|[0-9]+\.[A-Za-z0-9_]+)(\.[A-Za-z0-9_]+)*$`)

// identifier matches a node name usable as a derived module name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// derivedModule names the module of a node whose export gives no module
// path: the node's own name when it is an identifier ("Gemm_3", or
// "MatMul" for "/MatMul"), else its op and rank among the graph's nodes of
// that op ("Conv_0").
func derivedModule(n *Node, rank int) string {
	if name := strings.TrimPrefix(n.Name, "/"); identifier.MatchString(name) {
		return name
	}
	return fmt.Sprintf("%s_%d", n.OpType, rank)
}

// IsStateDictName reports whether an initializer name is already a PyTorch
// name, as opposed to one the exporter made up ("onnx::Conv_193",
// "/conv1/Constant_output_0").
func IsStateDictName(name string) bool { return stateDictName.MatchString(name) }

// ModulePath recovers the PyTorch module path from an exported node name.
// PyTorch 1.13 names nodes after the scope of the module that ran them: each
// "/" segment is a module's name, written from its last non-numeric
// component ("layer1.0", not "0"), and the last segment is the op:
//
//	/layer1/layer1.0/conv1/Conv                       -> layer1.0.conv1
//	/features/features.1/conv/conv.0/conv.0.0/Conv    -> features.1.conv.0.0
//	/encoder/layers.0/linear2/MatMul                  -> encoder.layers.0.linear2
//
// It returns "" when the name carries no module path.
func ModulePath(nodeName string) string {
	if !strings.HasPrefix(nodeName, "/") {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(nodeName, "/"), "/")
	if len(segs) < 2 {
		return ""
	}
	segs = segs[:len(segs)-1] // the op
	full := ""
	prev := ""
	for _, s := range segs {
		if s == "" {
			return ""
		}
		switch {
		case full == "":
			full = s
		case prev != "" && strings.HasPrefix(s, prev+"."):
			// "conv.0" after "conv": a child of a container, its name
			// written together with the container's.
			full += s[len(prev):]
		default:
			full += "." + s
		}
		prev = s
	}
	return full
}

// roleOf infers a parameter's role from the last component of its name.
func roleOf(name string, float bool) Role {
	last := name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		last = name[i+1:]
	}
	switch {
	case last == "running_mean":
		return RoleRunningMean
	case last == "running_var":
		return RoleRunningVar
	case last == "bias" || strings.HasSuffix(last, "_bias") || strings.HasPrefix(last, "bias_"):
		return RoleBias
	case !float || last == "num_batches_tracked":
		return RoleBuffer
	}
	return RoleWeight
}

// Kinds of the inputs of a torch.export program (its graph signature).
const (
	SigParameter = "PARAMETER"
	SigBuffer    = "BUFFER"
)

// signatureLine is one input of the graph signature the dynamo exporter
// writes: "p_fc_weight: PARAMETER target='fc.weight'" (PyTorch 2.9 on), or
// "InputSpec(kind=<InputKind.PARAMETER: 2>, arg=TensorArgument(name='p_fc_weight'),
// target='fc.weight', ...)" before.
var (
	signatureLine = regexp.MustCompile(`(?m)^\s*\S+: ([A-Z_]+) target='([^']*)'`)
	signatureSpec = regexp.MustCompile(`InputSpec\(kind=<InputKind\.([A-Z_]+): \d+>, arg=[A-Za-z]+\([^)]*\), target='([^']*)'`)
)

// ExportSignature returns, for a model written by PyTorch's dynamo
// exporter (torch.onnx.export(..., dynamo=True)), the kind of each target
// its program's graph signature lists (SigParameter, SigBuffer,
// CONSTANT_TENSOR), by state_dict name; nil for other models.
func ExportSignature(g *Graph) map[string]string {
	if g == nil {
		return nil
	}
	for _, p := range g.Metadata {
		if p.Key != "pkg.torch.export.ExportedProgram.graph_signature" {
			continue
		}
		sig := make(map[string]string)
		for _, re := range []*regexp.Regexp{signatureLine, signatureSpec} {
			for _, m := range re.FindAllStringSubmatch(p.Value, -1) {
				sig[m[2]] = m[1]
			}
		}
		if len(sig) == 0 {
			return nil // a form this reader does not know: names decide
		}
		return sig
	}
	return nil
}

// NodeModulePath is the PyTorch module path of the module that ran node n:
// from the name scopes the dynamo exporter writes in the node's metadata,
// the root module's empty name first and the op last, so that
//
//	pkg.torch.onnx.name_scopes = ['', 'layer', 'layer.self_attn', 'linear']
//
// gives "layer.self_attn"; else from its name (ModulePath).
func NodeModulePath(n *Node) string {
	for _, p := range n.Metadata {
		if p.Key != "pkg.torch.onnx.name_scopes" {
			continue
		}
		scopes := pyStrings(p.Value)
		if len(scopes) < 3 {
			return "" // the top-level module's own op
		}
		return scopes[len(scopes)-2]
	}
	return ModulePath(n.Name)
}

// pyStrings reads a Python list of plain quoted strings, as the name
// scopes above.
func pyStrings(s string) []string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil
	}
	var out []string
	for _, part := range strings.Split(s[1:len(s)-1], ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 || (part[0] != '\'' && part[0] != '"') || part[len(part)-1] != part[0] {
			return nil
		}
		out = append(out, part[1:len(part)-1])
	}
	return out
}

// ParamWarnings names what a user would expect to train but the parameter
// table cannot hold: a parameter the dynamo exporter's signature lists with
// no tensor of its own in the file (folded into a constant, or removed as a
// no-op, such as a zero bias), and a float tensor of two or more elements
// that looks like a weight but is attributed to no PyTorch parameter. Each
// is one line naming the parameter or the initializer and a node that
// reads it.
func (m *Model) ParamWarnings() []string {
	if m.Graph == nil {
		return nil
	}
	g := m.Graph
	var out []string
	have := make(map[string]bool)
	inTable := make(map[string]bool)
	for _, p := range m.Params {
		have[p.Name] = true
		inTable[p.Initializer] = true
	}
	if sig := ExportSignature(g); sig != nil {
		aliases := make(map[string]bool)
		for _, name := range m.TiedAliases() {
			aliases[name] = true
		}
		var missing []string
		for name, kind := range sig {
			if kind == SigParameter && !have[name] && !aliases[name] {
				missing = append(missing, name)
			}
		}
		sort.Strings(missing)
		for _, name := range missing {
			out = append(out, fmt.Sprintf("parameter %s of the exported program has no tensor of its own in the file (the exporter folded it into a constant or removed it): it is not trained", name))
		}
	}
	consumers := g.Consumers()
	for _, t := range g.Initializers {
		if inTable[t.Name] || !t.DType.IsFloat() || len(t.Dims) == 0 || t.Len() < 2 || g.Input(t.Name) != nil {
			continue
		}
		reader := "no node"
		if uses := consumers[t.Name]; len(uses) > 0 {
			reader = "node " + uses[0].Node.Name
		}
		out = append(out, fmt.Sprintf("initializer %s %s%v, read by %s, looks like a weight but is attributed to no PyTorch parameter: it is not trained", t.Name, t.DType, t.Dims, reader))
	}
	if ExportSignature(g) == nil {
		out = append(out, unrecordedKinds(m, consumers)...)
	}
	return out
}

// unrecordedKinds warns about what a TorchScript export does not record
// and a dynamo export does: whether a named tensor that no layer reads as
// its weight or bias is a parameter or a buffer (register_buffer: a
// positional encoding), and whether modules that read one tensor share a
// PyTorch parameter (weight tying) or hold equal ones the exporter stored
// once. onnxtune trains the first as parameters and the second apart.
func unrecordedKinds(m *Model, consumers map[string][]Use) []string {
	g := m.Graph
	producers := g.Producers()
	none := func(*Node) bool { return false }
	var loose []string
	shared := make(map[string][]string) // initializer -> parameters reading it
	for _, p := range m.Params {
		if !p.Role.Trainable() || !p.DType.IsFloat() {
			continue
		}
		if p.Tied && !p.Constant {
			if t := g.Initializer(p.Initializer); t != nil && !uniform(t.Raw, t.DType.Bits()/8) {
				shared[p.Initializer] = append(shared[p.Initializer], p.Name)
			}
		}
		if p.Recovered {
			continue
		}
		slot := false
		for _, u := range consumers[p.Value] {
			if _, _, _, ok := slotThrough(u, consumers, producers, none); ok {
				slot = true
			}
		}
		if last := lastComponent(p.Name); !slot && !strings.Contains(last, "weight") && !strings.Contains(last, "bias") {
			// (A norm's weight read by the Mul of a decomposed
			// LayerNorm is a module's parameter, by its name.)
			loose = append(loose, p.Name)
		}
	}
	var out []string
	if len(loose) > 0 {
		out = append(out, fmt.Sprintf("%s: read by no layer as its weight or bias; a TorchScript export does not say whether PyTorch holds such a tensor as a parameter or as a buffer (register_buffer, as a positional encoding): it is trained as a parameter; freeze a buffer with --freeze NAME, or export with dynamo=True, which records it",
			strings.Join(loose, ", ")))
	}
	var inits []string
	for init := range shared {
		inits = append(inits, init)
	}
	sort.Strings(inits)
	for _, init := range inits {
		out = append(out, fmt.Sprintf("%s share one tensor in the file (%s): they are trained apart, as equal tensors the exporter stored once; if PyTorch ties them (weight tying), export with dynamo=True, which records it",
			strings.Join(shared[init], ", "), init))
	}
	return out
}

// uniform reports whether every element of raw (elements of size bytes)
// is the same: zeros or ones of fresh biases and norms, which the exporter
// stores once without any tie in PyTorch.
func uniform(raw []byte, size int) bool {
	if size <= 0 || len(raw) < size {
		return true
	}
	for i := size; i+size <= len(raw); i += size {
		if string(raw[i:i+size]) != string(raw[:size]) {
			return false
		}
	}
	return true
}

// StoredKey is the metadata key of an initializer whose layout is not
// PyTorch's: StoredTransposed marks a 2-D weight stored as the transpose
// of the PyTorch parameter whose name it has.
const (
	StoredKey        = "onnxtune.stored"
	StoredTransposed = "transposed"
)

// stored returns t's StoredKey metadata.
func stored(t *Tensor) string {
	for _, p := range t.Metadata {
		if p.Key == StoredKey {
			return p.Value
		}
	}
	return ""
}

// relativeTo names, in module mod, the tensor that name is in its own
// module at the same depth: relativeTo("a.1.attn", "a.0.attn.out.weight")
// is "a.1.attn.out.weight". A name no deeper than mod keeps its last
// component.
func relativeTo(mod, name string) string {
	depth := strings.Count(mod, ".") + 1
	parts := strings.Split(name, ".")
	if len(parts) <= depth {
		return mod + "." + parts[len(parts)-1]
	}
	return mod + "." + strings.Join(parts[depth:], ".")
}

// bareNumber matches an old exporter's value names ("12").
var bareNumber = regexp.MustCompile(`^[0-9]+$`)

// viewOps pass a tensor on with its elements in order, or transposed.
// Identity is not one here: an Identity of an initializer is the
// exporter's tie, listed under its own output (alias).
// QuantizeLinear and DequantizeLinear pass a weight on quantized (a QDQ
// model's weight, or its float master copy, see remap.QuantMasters).
var viewOps = map[string]bool{"Transpose": true, "Reshape": true, "Unsqueeze": true, "Squeeze": true, "Flatten": true,
	"QuantizeLinear": true, "DequantizeLinear": true}

// How a value is read by QuantizeLinear and DequantizeLinear (quantUse).
const (
	quantNone  = iota
	quantScale // only as a scale or zero point
	quantData  // only as DequantizeLinear's x
)

// quantUse tells whether every use of a value is a QDQ op's scale or zero
// point, or DequantizeLinear's data.
func quantUse(uses []Use) int {
	kind := quantNone
	for i, u := range uses {
		k := quantNone
		switch {
		case u.Node.Domain != "" && u.Node.Domain != "ai.onnx":
		case (u.Node.OpType == "QuantizeLinear" || u.Node.OpType == "DequantizeLinear") && u.Index >= 1:
			k = quantScale
		case u.Node.OpType == "DequantizeLinear" && u.Index == 0:
			k = quantData
		}
		if k == quantNone || (i > 0 && k != kind) {
			return quantNone
		}
		kind = k
	}
	return kind
}

// slotThrough finds the parameter slot that reads a value at u, directly
// or through up to four views whose output only one node reads. It returns
// that reader, the slot, and whether the views transposed a 2-D tensor.
func slotThrough(u Use, consumers map[string][]Use, producers map[string]*Node, inBody func(*Node) bool) (Use, ParamSlot, bool, bool) {
	flip := false
	for depth := 0; depth < 5; depth++ {
		if s, ok := SlotOf(u.Node, u.Index, producers); ok {
			return u, s, flip, true
		}
		n := u.Node
		if depth == 4 || !viewOps[n.OpType] || inBody(n) || u.Index != 0 || len(n.Outputs) != 1 || (n.Domain != "" && n.Domain != "ai.onnx") {
			break
		}
		if n.OpType == "Transpose" {
			perm := n.Attr("perm")
			if perm == nil || len(perm.Ints) != 2 || perm.Ints[0] != 1 || perm.Ints[1] != 0 {
				break
			}
			flip = !flip
		}
		next := consumers[n.Outputs[0]]
		if len(next) != 1 {
			break
		}
		u = next[0]
	}
	return Use{}, ParamSlot{}, false, false
}

// transposeName matches the names the dynamo exporter gives a folded
// transpose: the FX node of w.t() or w.transpose(...), or its own val_N
// for a Linear's weight.
var transposeName = regexp.MustCompile(`^(t|transpose|permute|numpy_T|val)(_\d+)?$`)

// repeated reports a tensor made of equal slices along its first axis (of
// two or more): a parameter expanded over the exported batch (a class
// token's cls.expand(B, -1, -1)), not a view of it.
func repeated(t *Tensor) bool {
	if t == nil || len(t.Dims) == 0 || t.Dims[0] < 2 || len(t.Raw) == 0 || int64(len(t.Raw))%t.Dims[0] != 0 {
		return false
	}
	n := len(t.Raw) / int(t.Dims[0])
	for i := n; i < len(t.Raw); i += n {
		if string(t.Raw[i:i+n]) != string(t.Raw[:n]) {
			return false
		}
	}
	return true
}

// foldedFromNone reports a constant the dynamo optimizer folded from
// values none of which is a parameter of the program's signature.
func foldedFromNone(g *Graph, v string, sig map[string]string) bool {
	from := foldedFrom(g, v)
	for _, f := range from {
		if sig[f] == SigParameter {
			return false
		}
	}
	return len(from) > 0
}

// ConstantInput reports whether input idx of node n is one its op needs to
// know when the model is compiled (Resize's roi and scales): a tensor read
// only at such inputs is no parameter. The ops declare them (OpInfo.Constants
// in graph/ops, generated into paramslots_gen.go).
func ConstantInput(n *Node, idx int) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return false
	}
	for _, i := range constantInputs[n.OpType] {
		if i == idx {
			return true
		}
	}
	return false
}

// onlyConstantInputs reports values read, all of them, at inputs their ops
// need as constants (Resize's scales): no parameter.
func onlyConstantInputs(uses []Use) bool {
	for _, u := range uses {
		if !ConstantInput(u.Node, u.Index) {
			return false
		}
	}
	return len(uses) > 0
}
