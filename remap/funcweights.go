package remap

import (
	"bytes"
	"slices"

	"github.com/onnxtune/onnxtune/graph"
)

// UnfoldFunctionWeights undoes a fold of torch.onnx.dynamo_export (PyTorch
// 2.1-2.4): a module's function receives its weight as an input but reads,
// instead, a Constant in its body that holds the weight's values, or their
// transpose (a Linear's W^T folded for MatMul). Training the weight would
// then change nothing the model computes. Where every call passes the same
// initializer at an input the body never reads, and the Constant equals it
// or its 2-D transpose, the Constant becomes an Identity or a Transpose of
// that input: the weight lives in its initializer, under its name, where
// training updates it and export writes it. The function is then written
// from the IR (graph.Model.Functions[i] = nil). It returns how many
// Constants it replaced; m.Params follows (graph.Model.Edit).
func UnfoldFunctionWeights(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil || len(m.LocalFunctions) == 0 {
		return 0, nil
	}
	g := m.Graph
	type change struct {
		fn    int
		node  int
		input string
		trans bool
	}
	var changes []change
	for fi, f := range m.LocalFunctions {
		if f == nil || fi >= len(m.Functions) {
			continue
		}
		var calls []*graph.Node
		for _, n := range g.Nodes {
			if m.Function(n) == f {
				calls = append(calls, n)
			}
		}
		if len(calls) == 0 || calledInBodies(m, f) {
			continue
		}
		read := make(map[string]bool)
		for _, n := range f.Nodes {
			for _, in := range n.Inputs {
				read[in] = true
			}
		}
		for ni, n := range f.Nodes {
			if n.OpType != "Constant" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Outputs) != 1 || len(n.Attrs) != 1 ||
				n.Attrs[0].Name != "value" || n.Attrs[0].T == nil || !n.Attrs[0].T.DType.IsFloat() {
				continue
			}
			c := n.Attrs[0].T
			for k, formal := range f.Inputs {
				if read[formal] {
					continue
				}
				trans, ok := sameWeight(g, calls, k, c)
				if ok {
					changes = append(changes, change{fi, ni, formal, trans})
					read[formal] = true
					break
				}
			}
		}
	}
	if len(changes) == 0 {
		return 0, nil
	}
	return len(changes), m.Edit(func(*graph.Graph) error {
		for _, c := range changes {
			f := m.LocalFunctions[c.fn]
			old := f.Nodes[c.node]
			n := &graph.Node{Name: old.Name, OpType: "Identity", Inputs: []string{c.input}, Outputs: old.Outputs, Metadata: old.Metadata}
			if c.trans {
				n.OpType = "Transpose"
				n.Attrs = []*graph.Attribute{{Name: "perm", Type: graph.AttrInts, Ints: []int64{1, 0}}}
			}
			f.Nodes[c.node] = n
			m.Functions[c.fn] = nil // written from the IR now
		}
		return nil
	})
}

// calledInBodies reports whether a function body calls f.
func calledInBodies(m *graph.Model, f *graph.Function) bool {
	for _, h := range m.LocalFunctions {
		if h == nil {
			continue
		}
		for _, n := range h.Nodes {
			if m.Function(n) == f {
				return true
			}
		}
	}
	return false
}

// sameWeight reports whether every call passes, at input k, an initializer
// whose values are c's (false) or the transpose of c's (true).
func sameWeight(g *graph.Graph, calls []*graph.Node, k int, c *graph.Tensor) (trans, ok bool) {
	for i, call := range calls {
		if k >= len(call.Inputs) {
			return false, false
		}
		a := g.Initializer(call.Inputs[k])
		if a == nil || a.DType != c.DType || len(a.Raw) != len(c.Raw) || len(a.Raw) == 0 {
			return false, false
		}
		var t bool
		switch {
		case slices.Equal(a.Dims, c.Dims) && bytes.Equal(a.Raw, c.Raw):
		case len(a.Dims) == 2 && len(c.Dims) == 2 && a.Dims[0] == c.Dims[1] && a.Dims[1] == c.Dims[0] && transposedBytes(a, c):
			t = true
		default:
			return false, false
		}
		if i > 0 && t != trans {
			return false, false
		}
		trans = t
	}
	return trans, true
}

// transposedBytes reports whether 2-D c holds a's elements transposed.
func transposedBytes(a, c *graph.Tensor) bool {
	r, k := int(a.Dims[0]), int(a.Dims[1])
	size := a.DType.Bits() / 8
	if size == 0 || r*k*size != len(a.Raw) {
		return false
	}
	for i := 0; i < r; i++ {
		for j := 0; j < k; j++ {
			x := a.Raw[(i*k+j)*size : (i*k+j+1)*size]
			y := c.Raw[(j*r+i)*size : (j*r+i+1)*size]
			if !bytes.Equal(x, y) {
				return false
			}
		}
	}
	return true
}
