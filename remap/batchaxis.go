package remap

import (
	"github.com/onnxtune/onnxtune/graph"
)

// batchTag says where a value holds the batch: along axis Axis, whose
// dimension is Major*B*inner (Major > 1 when a Reshape merged dimensions
// that were outside the batch into the same axis, as multi-head attention
// does with [S, B*heads, D]).
type batchTag struct {
	Axis  int
	Major int
}

// batchAxes follows the batch from the graph inputs through g, with every
// value's shape at batch b (from a run of the model as exported): which
// axis of each value carries it. Values without an entry do not carry the
// batch, or carry it in a way the rules below do not follow (the proof then
// decides).
//
// Each input carries the batch on the axis inputAxes gives (0 unless its
// consumers declare another). A value that a recurrent op reads where it
// declares the batch (its initial state, [dirs, B, H] for layout 0) carries
// it there when no rule above reached it: the zeros state PyTorch expands
// to the batch computed from the input's shape.
func batchAxes(g *graph.Graph, inputs []string, axes map[string]int, shapes map[string][]int, b int, folded map[string][]int64) map[string]batchTag {
	tags := make(map[string]batchTag)
	for _, in := range inputs {
		a := axes[in]
		if s := shapes[in]; len(s) > a && s[a] == b {
			tags[in] = batchTag{Axis: a, Major: 1}
		}
	}
	declared := declaredAxes(g)
	producers := g.Producers()
	for _, n := range g.Nodes {
		tagOutputs(g, producers, folded, n, tags, shapes, b)
		for _, o := range n.Outputs {
			d, ok := declared[o]
			if _, tagged := tags[o]; ok && !tagged && len(shapes[o]) > d && shapes[o][d] == b {
				tags[o] = batchTag{Axis: d, Major: 1}
			}
		}
	}
	return tags
}

// tagOutputs tags node n's outputs from its inputs' tags.
func tagOutputs(g *graph.Graph, producers map[string]*graph.Node, folded map[string][]int64, n *graph.Node, tags map[string]batchTag, shapes map[string][]int, b int) {
	if len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return
	}
	if recurrent[n.OpType] {
		recurrentTags(n, tags, shapes, b)
		return
	}
	out := shapes[n.Outputs[0]]
	if out == nil {
		return
	}
	// The first input that carries the batch.
	src, in := -1, batchTag{}
	for i, v := range n.Inputs {
		if t, ok := tags[v]; ok && v != "" {
			src, in = i, t
			break
		}
	}
	if src < 0 {
		return
	}
	inShape := shapes[n.Inputs[src]]
	t, ok := followBatch(g, producers, folded, n, src, in, inShape, out, b)
	if !ok || t.Axis < 0 || t.Axis >= len(out) || out[t.Axis]%(t.Major*b) != 0 {
		return
	}
	for _, o := range n.Outputs {
		if o != "" && len(shapes[o]) == len(out) {
			tags[o] = t
		}
	}
}

// recurrent ops: LSTM, GRU and RNN read X [S, B, I] and their states
// [dirs, B, H] (layout 0), or [B, S, I] and [B, dirs, H] (layout 1), and
// write Y [S, dirs, B, H] or [B, S, dirs, H] and the last states as their
// initial ones.
var recurrent = map[string]bool{"LSTM": true, "GRU": true, "RNN": true}

// recurrentAxis is where a recurrent op declares the batch on its X and
// states (1 for layout 0, 0 for layout 1), and Y's axis.
func recurrentAxis(n *graph.Node) (x, y int) {
	if n.AttrInt("layout", 0) == 1 {
		return 0, 0
	}
	return 1, 2
}

// recurrentTags tags a recurrent op's outputs when X (or, without a
// batched X, an initial state) carries the batch where the op declares it,
// one example per batch entry.
func recurrentTags(n *graph.Node, tags map[string]batchTag, shapes map[string][]int, b int) {
	x, y := recurrentAxis(n)
	found := false
	for _, i := range []int{0, 5, 6} {
		if i >= len(n.Inputs) || n.Inputs[i] == "" {
			continue
		}
		if t, ok := tags[n.Inputs[i]]; ok {
			if t.Axis != x || t.Major != 1 {
				return // the batch elsewhere: the proof decides
			}
			found = true
		}
	}
	if !found {
		return
	}
	for k, o := range n.Outputs {
		a := x
		if k == 0 {
			a = y
		}
		if s := shapes[o]; o != "" && len(s) > a && s[a] == b {
			tags[o] = batchTag{Axis: a, Major: 1}
		}
	}
}

// declaredAxes maps the values recurrent ops read to the axis where those
// ops declare the batch: X, the initial states, sequence_lens (axis 0).
func declaredAxes(g *graph.Graph) map[string]int {
	d := make(map[string]int)
	for _, n := range g.Nodes {
		if !recurrent[n.OpType] {
			continue
		}
		x, _ := recurrentAxis(n)
		for i, v := range n.Inputs {
			switch {
			case v == "":
			case i == 0 || i == 5 || i == 6 && n.OpType == "LSTM":
				d[v] = x
			case i == 4:
				d[v] = 0
			}
		}
	}
	return d
}

// inputAxes finds, per graph input, the axis that holds the batch: the axis
// a recurrent op declares for it where the input reaches one through
// Transposes and ops that keep every axis (a sequence-first input read by
// an LSTM of layout 0 has it on axis 1); axis 0 otherwise.
func inputAxes(g *graph.Graph, inputs []string) map[string]int {
	consumers := g.Consumers()
	out := make(map[string]int, len(inputs))
	for _, in := range inputs {
		out[in] = 0
		// pos[v][j]: the input axis at axis j of v; nil where unknown.
		type reach struct {
			v   string
			pos []int
		}
		rank := -1
		if v := inputInfo(g, in); v != nil {
			if _, dims, ok := v.TensorShape(); ok {
				rank = len(dims)
			}
		}
		if rank <= 0 {
			continue
		}
		ident := make([]int, rank)
		for j := range ident {
			ident[j] = j
		}
		queue := []reach{{in, ident}}
		seen := map[string]bool{in: true}
	walk:
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			for _, u := range consumers[r.v] {
				n := u.Node
				if recurrent[n.OpType] {
					x, _ := recurrentAxis(n)
					switch {
					case u.Index == 0 || u.Index == 5 || u.Index == 6 && n.OpType == "LSTM":
					case u.Index == 4:
						x = 0
					default:
						continue
					}
					if x < len(r.pos) {
						out[in] = r.pos[x]
						break walk
					}
					continue
				}
				var pos []int
				switch {
				case n.OpType == "Transpose" && u.Index == 0:
					perm := attrInts(n, "perm")
					if perm == nil {
						perm = make([]int64, len(r.pos))
						for i := range perm {
							perm[i] = int64(len(r.pos) - 1 - i)
						}
					}
					if len(perm) != len(r.pos) {
						continue
					}
					pos = make([]int, len(perm))
					bad := false
					for j, p := range perm {
						if p < 0 || int(p) >= len(r.pos) {
							bad = true
							break
						}
						pos[j] = r.pos[p]
					}
					if bad {
						continue
					}
				case keepsAxes[n.OpType] && u.Index == 0:
					pos = r.pos
				default:
					continue
				}
				for _, o := range n.Outputs {
					if o != "" && !seen[o] {
						seen[o] = true
						queue = append(queue, reach{o, pos})
					}
				}
			}
		}
	}
	return out
}

// keepsAxes: ops whose output has their first input's axes, in order.
var keepsAxes = map[string]bool{
	"Identity": true, "Cast": true, "Dropout": true, "Relu": true, "Tanh": true, "Sigmoid": true,
	"Neg": true, "Abs": true, "Exp": true, "Log": true, "Sqrt": true, "Clip": true, "LeakyRelu": true,
	"Elu": true, "Selu": true, "Gelu": true, "Softplus": true, "HardSigmoid": true, "HardSwish": true,
}

// followBatch gives the tag of node n's first output, given that its input
// src carries the batch as in.
func followBatch(g *graph.Graph, producers map[string]*graph.Node, folded map[string][]int64, n *graph.Node, src int, in batchTag, inShape, out []int, b int) (batchTag, bool) {
	a := in.Axis
	switch n.OpType {
	case "Transpose":
		perm := attrInts(n, "perm")
		if perm == nil {
			perm = make([]int64, len(inShape))
			for i := range perm {
				perm[i] = int64(len(inShape) - 1 - i)
			}
		}
		for j, p := range perm {
			if int(p) == a {
				return batchTag{j, in.Major}, true
			}
		}
		return batchTag{}, false
	case "Reshape", "Flatten":
		if src != 0 {
			return batchTag{}, false
		}
		return reshapeTag(inShape, out, in, b)
	case "Squeeze", "Unsqueeze":
		// Either way a reshape that keeps the order of elements.
		return reshapeTag(inShape, out, in, b)
	case "Gather":
		axis := int(n.AttrInt("axis", 0))
		if src == 0 {
			rank := len(inShape)
			if axis < 0 {
				axis += rank
			}
			idx := len(out) - rank + 1 // the indices' rank
			switch {
			case a < axis:
				return batchTag{a, in.Major}, true
			case a > axis:
				return batchTag{a - 1 + idx, in.Major}, true
			case rank == 1 && in.Major == 1 && len(n.Inputs) > 1:
				// as_strided lowered to a Gather over the flat batch
				// (batchRewriter.stridedGather).
				t := g.Initializer(n.Inputs[1])
				if p := producers[n.Inputs[1]]; t == nil && p != nil && p.OpType == "Constant" {
					if at := p.Attr("value"); at != nil {
						t = at.T
					}
				}
				if _, ok := stridedIndices(t, inShape[0], b); ok {
					return batchTag{0, 1}, true
				}
			}
			return batchTag{}, false
		}
		data := len(out) - len(inShape) + 1
		if axis < 0 {
			axis += data
		}
		return batchTag{axis + a, in.Major}, true
	case "MatMul":
		rank := len(inShape)
		if src == 0 {
			switch {
			case rank >= 2 && a == rank-1:
				return batchTag{}, false // the contracted dimension
			case rank == 1:
				return batchTag{}, false
			}
			return batchTag{len(out) - rank + a, in.Major}, true
		}
		if rank >= 2 && a < rank-2 {
			return batchTag{len(out) - rank + a, in.Major}, true
		}
		if rank >= 2 && a == rank-1 {
			return batchTag{len(out) - 1, in.Major}, true
		}
		return batchTag{}, false
	case "Gemm":
		trans := n.AttrInt("transA", 0) == 1
		if src == 0 && ((!trans && a == 0) || (trans && a == 1)) {
			return batchTag{0, in.Major}, true
		}
		return batchTag{}, false
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin":
		if src != 0 {
			return batchTag{}, false
		}
		var axes []int64
		if n.OpType == "ArgMax" || n.OpType == "ArgMin" {
			axes = []int64{n.AttrInt("axis", 0)}
		} else if axes = attrInts(n, "axes"); axes == nil && len(n.Inputs) > 1 {
			var ok bool
			if axes, ok = constInts(g, producers, n.Inputs[1]); !ok {
				axes = folded[n.Inputs[1]]
			}
		}
		keep := n.AttrInt("keepdims", 1) == 1
		if len(axes) == 0 {
			if n.OpType != "ArgMax" && n.OpType != "ArgMin" && n.AttrInt("noop_with_empty_axes", 0) == 1 {
				return in, true
			}
			return batchTag{}, false // every axis: across the batch
		}
		shift := 0
		for _, x := range axes {
			if x < 0 {
				x += int64(len(inShape))
			}
			switch {
			case int(x) == a:
				return batchTag{}, false
			case int(x) < a && !keep:
				shift++
			}
		}
		return batchTag{a - shift, in.Major}, true
	}
	// Elementwise and same-rank ops (Conv, pools, norms, Concat, Slice,
	// Split, Pad, Expand, ...): the axis aligned from the right, where the
	// output still has the input's dimension there.
	k := len(out) - len(inShape) + a
	if k < 0 || k >= len(out) || out[k] != inShape[a] {
		return batchTag{}, false
	}
	return batchTag{k, in.Major}, true
}

// reshapeTag finds where a reshape from inShape to out puts the batch: the
// axis whose span of the flat layout holds the batch's first element.
func reshapeTag(inShape, out []int, in batchTag, b int) (batchTag, bool) {
	outer := in.Major
	for _, d := range inShape[:in.Axis] {
		outer *= d
	}
	p := 1
	for k, d := range out {
		if d <= 0 {
			return batchTag{}, false
		}
		if b == 1 && d == 1 && outer == p && in.Major == 1 {
			return batchTag{k, 1}, true // the first axis of 1 where the batch was
		}
		if outer >= p && outer < p*d {
			if outer%p != 0 {
				return batchTag{}, false
			}
			m := outer / p
			if d%(m*b) != 0 {
				return batchTag{}, false // the batch itself split over axes
			}
			return batchTag{k, m}, true
		}
		p *= d
	}
	return batchTag{}, false
}

// attrInts returns an ints attribute, or nil.
func attrInts(n *graph.Node, name string) []int64 {
	if a := n.Attr(name); a != nil {
		return a.Ints
	}
	return nil
}
