package ops

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// Attributes are read through an attrReader, one per node: each getter
// takes the ONNX default, checks the attribute's type, and the first
// mismatch is kept (Err) so that a lowering reads all it needs and checks
// once. Every op reads its attributes this way.

// AttrError is an attribute of the wrong type or value. Its message names
// the node: `node "/conv1/Conv" (Conv): attribute "strides": want ints, got FLOAT`.
type AttrError struct {
	Node *graph.Node
	Name string // the attribute
	Msg  string // what is wrong
}

func (e *AttrError) Error() string {
	return fmt.Sprintf("node %s: attribute %q: %s", e.Node, e.Name, e.Msg)
}

// attrReader reads one node's attributes.
type attrReader struct {
	n   *graph.Node
	err *AttrError
}

// attrs returns the reader of the node being lowered. Compile checks its
// error after the lowering returns, before any other error: a lowering may
// read attributes without checking, and an attribute of the wrong type is
// what the user sees.
func (c *Ctx) attrs() *attrReader {
	if c.attr == nil {
		c.attr = &attrReader{n: c.Node}
	}
	return c.attr
}

// attrsOf returns the reader of a node.
func attrsOf(n *graph.Node) *attrReader { return &attrReader{n: n} }

// Err returns the first error met, or nil.
func (r *attrReader) Err() error {
	if r.err == nil {
		return nil
	}
	return r.err
}

// Fail records an error about attribute name (the first one is kept).
func (r *attrReader) Fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &AttrError{Node: r.n, Name: name, Msg: fmt.Sprintf(format, args...)}
	}
}

// Has tells whether the node sets the attribute.
func (r *attrReader) Has(name string) bool { return r.n.Attr(name) != nil }

// get returns the attribute if present and of type want (an attribute whose
// type is undefined, as in some old files, is taken as want), else nil;
// a present attribute of another type is an error.
func (r *attrReader) get(name string, want graph.AttrType) *graph.Attribute {
	a := r.n.Attr(name)
	if a == nil {
		return nil
	}
	if a.Type != want && a.Type != graph.AttrUndefined {
		r.Fail(name, "want %s, got %s", attrTypeWord(want), attrTypeName(a.Type))
		return nil
	}
	return a
}

// Int reads an int attribute.
func (r *attrReader) Int(name string, def int64) int64 {
	if a := r.get(name, graph.AttrInt); a != nil {
		return a.I
	}
	return def
}

// Bool reads an int attribute used as a flag: any value but 0 is true.
func (r *attrReader) Bool(name string, def bool) bool {
	if a := r.get(name, graph.AttrInt); a != nil {
		return a.I != 0
	}
	return def
}

// Float reads a float attribute. ONNX stores float32; the value returned
// is the shortest decimal that rounds to it (0.9, not 0.8999999762), the
// number PyTorch held when it exported the model. This is the engine's one
// rule for float attributes; converted back to float32 it is the stored
// value exactly.
func (r *attrReader) Float(name string, def float32) float64 {
	v := def
	if a := r.get(name, graph.AttrFloat); a != nil {
		v = a.F
	}
	return shortestFloat(v)
}

func shortestFloat(v float32) float64 {
	d, err := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	if err != nil {
		return float64(v)
	}
	return d
}

// String reads a string attribute.
func (r *attrReader) String(name, def string) string {
	if a := r.get(name, graph.AttrString); a != nil {
		return string(a.S)
	}
	return def
}

// Ints reads an ints attribute as ints; nil when absent.
func (r *attrReader) Ints(name string) []int {
	a := r.get(name, graph.AttrInts)
	if a == nil {
		return nil
	}
	return graph.Convert[int64, int](a.Ints)
}

// IntsN reads an ints attribute of size values, or size copies of def when
// it is absent or empty (the window attributes: strides, pads, ...). A
// list of another length is an error (then the defaults are returned).
func (r *attrReader) IntsN(name string, size, def int) []int {
	out := make([]int, size)
	vals := r.Ints(name)
	if len(vals) == 0 || len(vals) != size {
		if len(vals) != 0 {
			r.Fail(name, "has %d values, want %d", len(vals), size)
		}
		for i := range out {
			out[i] = def
		}
		return out
	}
	copy(out, vals)
	return out
}

// Int64s reads an ints attribute as stored; nil when absent.
func (r *attrReader) Int64s(name string) []int64 {
	if a := r.get(name, graph.AttrInts); a != nil {
		return a.Ints
	}
	return nil
}

// Floats reads a floats attribute, each value by Float's rule; nil when
// absent.
func (r *attrReader) Floats(name string) []float64 {
	a := r.get(name, graph.AttrFloats)
	if a == nil {
		return nil
	}
	out := make([]float64, len(a.Floats))
	for i, x := range a.Floats {
		out[i] = shortestFloat(x)
	}
	return out
}

// Tensor reads a tensor attribute; nil when absent.
func (r *attrReader) Tensor(name string) *graph.Tensor {
	if a := r.get(name, graph.AttrTensor); a != nil {
		return a.T
	}
	return nil
}

// attrTypeName is ONNX's name of an attribute type (AttributeProto's enum).
func attrTypeName(t graph.AttrType) string {
	names := [...]string{"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
		"STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"}
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type %d", int32(t))
}

// attrTypeWord is how a message asks for a type: "int", "ints", "float".
func attrTypeWord(t graph.AttrType) string {
	switch t {
	case graph.AttrFloat, graph.AttrInt, graph.AttrString, graph.AttrTensor, graph.AttrFloats, graph.AttrInts:
		return strings.ToLower(attrTypeName(t))
	}
	return attrTypeName(t)
}
