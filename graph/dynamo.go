package graph

import (
	"regexp"
	"sort"
	"strings"
)

// What PyTorch's dynamo exporter records about parameters, beyond the
// graph signature (ExportSignature): each node's FX node in its metadata
// (pkg.torch.onnx.fx_node), whose arguments name the program's parameter
// placeholders (%p_fc_weight), and, on a constant its optimizer folded, the
// values it came from (pkg.onnxscript.optimizer.folded_from). The first
// tells a parameter PyTorch ties between modules (both nodes read the same
// placeholder) from equal parameters the optimizer stored once (each node
// reads its own).

// signatureArg matches one input of the graph signature with its argument
// name, in both textual forms: "p_fc_weight: PARAMETER target='fc.weight'"
// and "InputSpec(kind=<InputKind.PARAMETER: 2>,
// arg=TensorArgument(name='p_fc_weight'), target='fc.weight', ...)".
var (
	signatureArgLine = regexp.MustCompile(`(?m)^\s*(\S+): ([A-Z_]+) target='([^']*)'`)
	signatureArgSpec = regexp.MustCompile(`InputSpec\(kind=<InputKind\.([A-Z_]+): \d+>, arg=[A-Za-z]+\(name='([^']*)'\), target='([^']*)'`)
	fxArg            = regexp.MustCompile(`%([A-Za-z_][A-Za-z0-9_]*)`)
)

// exportArgs maps the graph signature's argument names of parameters and
// buffers to their state_dict names ("p_fc_weight" -> "fc.weight"); nil
// for other models.
func exportArgs(g *Graph) map[string]string {
	if g == nil {
		return nil
	}
	for _, p := range g.Metadata {
		if p.Key != "pkg.torch.export.ExportedProgram.graph_signature" {
			continue
		}
		args := make(map[string]string)
		for _, m := range signatureArgLine.FindAllStringSubmatch(p.Value, -1) {
			if m[2] == SigParameter || m[2] == SigBuffer {
				args[m[1]] = m[3]
			}
		}
		for _, m := range signatureArgSpec.FindAllStringSubmatch(p.Value, -1) {
			if m[1] == SigParameter || m[1] == SigBuffer {
				args[m[2]] = m[3]
			}
		}
		if len(args) == 0 {
			return nil
		}
		return args
	}
	return nil
}

// fxTargets returns the state_dict names of the parameters and buffers
// node n's FX node reads, by the export's argument names, in order; nil
// when n carries no FX node.
func fxTargets(n *Node, args map[string]string) []string {
	if args == nil {
		return nil
	}
	for _, p := range n.Metadata {
		if p.Key != "pkg.torch.onnx.fx_node" {
			continue
		}
		_, call, ok := strings.Cut(p.Value, "args = (")
		if !ok {
			return nil
		}
		var out []string
		for _, m := range fxArg.FindAllStringSubmatch(call, -1) {
			if t, ok := args[m[1]]; ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}

// foldedFrom returns the values the dynamo exporter's optimizer folded
// into value v (the value_info metadata pkg.onnxscript.optimizer.folded_from:
// ['fc.weight'] for the transpose it stored), or nil.
func foldedFrom(g *Graph, v string) []string {
	for _, vi := range g.ValueInfo {
		if vi.Name != v {
			continue
		}
		for _, p := range vi.Metadata {
			if p.Key == "pkg.onnxscript.optimizer.folded_from" {
				return pyStrings(p.Value)
			}
		}
	}
	return nil
}

// pickTarget chooses, among the parameters a node reads, the one a slot
// with this suffix holds: the only one ending in it ("weight", "bias"; an
// attention's "in_proj_weight" too), else "".
func pickTarget(targets []string, suffix string) string {
	pick := ""
	for _, t := range targets {
		if strings.HasSuffix(lastComponent(t), suffix) {
			if pick != "" && pick != t {
				return ""
			}
			pick = t
		}
	}
	return pick
}

// lastComponent is the last component of a dotted name.
func lastComponent(name string) string { return name[strings.LastIndexByte(name, '.')+1:] }

// rewritten reports a node into which the dynamo exporter's optimizer
// fused a BatchNorm (FuseBatchNormIntoConv, ...): its name scopes and FX
// record are the BatchNorm's, not those of the op that holds the weights.
func rewritten(n *Node) bool {
	for _, p := range n.Metadata {
		if p.Key == "pkg.onnxscript.rewriter.rule_name" && strings.Contains(p.Value, "BatchNorm") {
			return true
		}
	}
	return false
}

// TiedAliases returns, for a dynamo export that records its nodes' FX
// calls, the parameters of the program's signature that neither the table
// holds nor any node reads nor the optimizer folded: the other names of
// parameters PyTorch ties (an Embedding's weight that is also the head's,
// a module used twice), which the program reads under one name. Sorted.
func (m *Model) TiedAliases() []string {
	if m.Graph == nil {
		return nil
	}
	g := m.Graph
	args := exportArgs(g)
	sig := ExportSignature(g)
	if args == nil || sig == nil {
		return nil
	}
	read := make(map[string]bool)
	records := false
	for _, n := range g.Nodes {
		targets := fxTargets(n, args)
		if targets != nil {
			records = true
		}
		for _, t := range targets {
			read[t] = true
		}
	}
	if !records {
		return nil // no FX records: nothing tells an alias from a folded parameter
	}
	for _, vi := range g.ValueInfo {
		for _, f := range foldedFrom(g, vi.Name) {
			read[f] = true
		}
	}
	have := make(map[string]bool)
	for _, p := range m.Params {
		have[p.Name] = true
	}
	var out []string
	for name, kind := range sig {
		if kind == SigParameter && !have[name] && !read[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// FoldedFrom returns the values the dynamo exporter's optimizer folded into
// value v (value_info metadata pkg.onnxscript.optimizer.folded_from), or
// nil.
func FoldedFrom(g *Graph, v string) []string { return foldedFrom(g, v) }
