package ops

import (
	"fmt"
	"math"

	"github.com/onnxtune/onnxtune/graph"
)

// Sizes the engine derives from a model (attributes, constant shape inputs,
// pads) are checked before anything of that size is allocated: centrally in
// Ctx.Apply for every op's output, and in the lowerings that build tables
// or buffers from attribute values before their output (Expand, Tile, Pad,
// the pools' window lists, Conv's im2col). A size above Options.MaxBytes,
// or one whose element count overflows int, is a *graph.LimitError. The
// values a program holds are also counted as they are made (see hold): their
// total must stay within MaxBytes too.

// limit is the bound on one tensor the engine sizes from the model.
func (c *Ctx) limit() int64 { return graph.LimitBytes(c.maxBytes) }

// checkShape returns an error when a tensor of shape and element type dt
// would exceed the limit, when its element count overflows int, or when a
// dimension is negative. what names the tensor ("Expand output").
func (c *Ctx) checkShape(what string, shape []int, dt graph.DType) error {
	n, ok := shapeSize(shape)
	if !ok {
		for _, d := range shape {
			if d < 0 {
				return fmt.Errorf("%s: negative dimension in %v", what, shape)
			}
		}
		return &graph.LimitError{What: fmt.Sprintf("%s %s%v", what, dt, shape), Bytes: -1, Limit: c.limit()}
	}
	return graph.CheckBytes(fmt.Sprintf("%s %s%v", what, dt, shape), int64(n), elemBytes(dt), c.limit())
}

// checkElems is checkShape for elems values of size bytes each (tables of
// ints or structs that a lowering builds from the model's sizes).
func (c *Ctx) checkElems(what string, elems, size int) error {
	return graph.CheckBytes(what, int64(elems), int64(size), c.limit())
}

// hold counts a value of shape and element type dt that the program keeps
// (an op's output, folded or computed at run time) into the program's total,
// and fails with a *graph.LimitError naming the node when the total passes
// the limit. In training a float value computed at run time counts twice:
// its gradient is as large. Lowerings call it (through Apply) before
// allocating the value; checkShape has already bounded it alone.
func (c *Ctx) hold(shape []int, dt graph.DType, runtime bool) error {
	n, ok := shapeSize(shape)
	if !ok {
		return c.overflow(fmt.Sprintf("%s%v", dt, shape))
	}
	b := int64(n) * elemBytes(dt)
	if c.Train && runtime && dt.IsFloat() {
		b *= 2
	}
	if c.total == nil {
		return nil
	}
	if *c.total > math.MaxInt64-b {
		*c.total = math.MaxInt64
	} else {
		*c.total += b
	}
	if *c.total > c.limit() {
		return &graph.LimitError{What: "values of the program", Bytes: *c.total, Limit: c.limit(), At: "node " + c.Node.String()}
	}
	return nil
}

// holdValue counts v with hold unless it is counted already (an output of
// Apply, or a value a node passes on), and marks it counted.
func (c *Ctx) holdValue(v *Value) error {
	if v == nil || v.held {
		return nil
	}
	v.held = true
	return c.hold(v.Shape, v.DType, !v.IsConst())
}

// overflow is the *graph.LimitError of a size that does not fit an int.
func (c *Ctx) overflow(what string) error {
	return &graph.LimitError{What: what, Bytes: -1, Limit: c.limit()}
}

// elemBytes is the in-memory size of one element of dt (1 for bool and
// sub-byte types).
func elemBytes(dt graph.DType) int64 {
	return int64(max(dt.Bits()/8, 1))
}

// shapeSize is the number of elements of shape; false when a dimension is
// negative or the product overflows int.
func shapeSize(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		var ok bool
		if n, ok = mulInt(n, d); !ok {
			return 0, false
		}
	}
	return n, true
}

// mulInt is a*b for non-negative a and b; false when either is negative
// or the product overflows.
func mulInt(a, b int) (int, bool) {
	if a < 0 || b < 0 || a != 0 && b > math.MaxInt/a {
		return 0, false
	}
	return a * b, true
}

// addInt is a+b; false when it overflows.
func addInt(a, b int) (int, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}
