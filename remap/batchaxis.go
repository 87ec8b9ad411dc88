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
func batchAxes(g *graph.Graph, inputs []string, shapes map[string][]int, b int, folded map[string][]int64) map[string]batchTag {
	tags := make(map[string]batchTag)
	for _, in := range inputs {
		if s := shapes[in]; len(s) > 0 && s[0] == b {
			tags[in] = batchTag{Axis: 0, Major: 1}
		}
	}
	producers := g.Producers()
	for _, n := range g.Nodes {
		if len(n.Outputs) == 0 || n.Outputs[0] == "" {
			continue
		}
		out := shapes[n.Outputs[0]]
		if out == nil {
			continue
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
			continue
		}
		inShape := shapes[n.Inputs[src]]
		t, ok := followBatch(g, producers, folded, n, src, in, inShape, out, b)
		if !ok || t.Axis < 0 || t.Axis >= len(out) || out[t.Axis]%(t.Major*b) != 0 {
			continue
		}
		for _, o := range n.Outputs {
			if o != "" && len(shapes[o]) == len(out) {
				tags[o] = t
			}
		}
	}
	return tags
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
