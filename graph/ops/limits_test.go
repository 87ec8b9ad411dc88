package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// hugeCases are one-node models whose attributes or constant inputs size an
// output far beyond any memory (or beyond int): compiling them must fail
// with a *graph.LimitError naming the node, not run out of memory.
func hugeCases() []struct {
	name  string
	op    string
	opset int64
	attrs []*graph.Attribute
	args  []arg
	train bool
} {
	i64 := func(v ...int64) arg { return arg{Name: "k", Value: Dense([]int{len(v)}, v), Const: true} }
	x := func(shape ...int) arg { return arg{Name: "x", Value: randF64(1, -1, 1, shape...)} }
	scalar := func(name string, v float64) arg {
		return arg{Name: name, Value: Dense([]int{}, []float64{v}), Const: true}
	}
	const big = 1 << 40
	return []struct {
		name  string
		op    string
		opset int64
		attrs []*graph.Attribute
		args  []arg
		train bool
	}{
		{"ConstantOfShape", "ConstantOfShape", 13, nil, []arg{i64(1<<20, 1<<20)}, false},
		{"ConstantOfShape overflowing int", "ConstantOfShape", 13, nil, []arg{i64(1<<32, 1<<32, 1<<32)}, false},
		{"Range", "Range", 13, nil, []arg{scalar("start", 0), scalar("limit", 1<<31), scalar("delta", 1)}, false},
		{"Tile", "Tile", 13, nil, []arg{x(2), i64(big)}, false},
		{"Tile overflowing int", "Tile", 13, nil, []arg{x(2, 2), i64(1<<62, 1<<62)}, false},
		{"Expand", "Expand", 13, nil, []arg{x(1), i64(big)}, false},
		{"Expand overflowing int", "Expand", 13, nil, []arg{x(1), i64(1<<32, 1<<32, 1<<32)}, false},
		{"Pad", "Pad", 13, nil, []arg{x(2), i64(big, 0)}, false},
		{"Pad overflowing int", "Pad", 13, nil, []arg{x(2), i64(1<<62, 1<<62)}, false},
		{"Pad attribute", "Pad", 2, []*graph.Attribute{attrInts("pads", 0, big)}, []arg{x(2)}, false},
		{"MaxPool pads", "MaxPool", 13, []*graph.Attribute{attrInts("kernel_shape", 1, 1), attrInts("pads", big, big, big, big)}, []arg{x(1, 1, 2, 2)}, false},
		{"MaxPool pads in training", "MaxPool", 13, []*graph.Attribute{attrInts("kernel_shape", 1, 1), attrInts("pads", big, big, big, big)}, []arg{x(1, 1, 2, 2)}, true},
		{"MaxPool pads overflowing int", "MaxPool", 13, []*graph.Attribute{attrInts("kernel_shape", 1), attrInts("pads", 1<<62, 1<<62)}, []arg{x(1, 1, 2)}, false},
		{"AveragePool pads", "AveragePool", 13, []*graph.Attribute{attrInts("kernel_shape", 1, 1), attrInts("pads", big, big, big, big)}, []arg{x(1, 1, 2, 2)}, false},
		{"Conv pads", "Conv", 13, []*graph.Attribute{attrInts("pads", big, big, big, big)},
			[]arg{x(1, 1, 2, 2), {Name: "w", Value: randF64(2, -1, 1, 1, 1, 1, 1), Const: true}}, false},
		{"Conv pads in training", "Conv", 13, []*graph.Attribute{attrInts("pads", big, big, big, big)},
			[]arg{x(1, 1, 2, 2), {Name: "w", Value: randF64(2, -1, 1, 1, 1, 1, 1)}}, true},
	}
}

func TestCompileRefusesHugeSizes(t *testing.T) {
	for _, tc := range hugeCases() {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode(tc.op, tc.opset, tc.attrs, 1, tc.args...)
			p, err := Compile(m, shapes, Options{Train: tc.train})
			if err == nil {
				p.Close()
				t.Fatalf("compiled; want a size limit error")
			}
			var le *graph.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("error %q is not a *graph.LimitError", err)
			}
			if le.Limit != graph.DefaultMaxBytes {
				t.Errorf("limit %d, want the default %d", le.Limit, graph.DefaultMaxBytes)
			}
			node := m.Graph.Nodes[0].String()
			if !strings.Contains(err.Error(), node) {
				t.Errorf("error %q does not name node %s", err, node)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

// TestCompileHonoursMaxBytes compiles small models whose output size comes
// from the model, with MaxBytes exactly the output's size (accepted) and
// one byte less (refused, the error carrying that limit).
func TestCompileHonoursMaxBytes(t *testing.T) {
	i64 := func(v ...int64) arg { return arg{Name: "k", Value: Dense([]int{len(v)}, v), Const: true} }
	x := arg{Name: "x", Value: randF64(1, -1, 1, 1, 1, 3, 3)}
	for _, tc := range []struct {
		name  string
		op    string
		attrs []*graph.Attribute
		args  []arg
	}{
		{"ConstantOfShape", "ConstantOfShape", nil, []arg{i64(3, 5, 7)}},
		{"Tile", "Tile", nil, []arg{x, i64(1, 2, 3, 4)}},
		{"Expand", "Expand", nil, []arg{x, i64(5, 1, 3, 1)}},
		{"Pad", "Pad", nil, []arg{x, i64(0, 0, 1, 2, 0, 0, 3, 4)}},
		{"MaxPool", "MaxPool", []*graph.Attribute{attrInts("kernel_shape", 1, 1), attrInts("pads", 2, 3, 4, 5)}, []arg{x}},
		{"Conv", "Conv", []*graph.Attribute{attrInts("pads", 2, 3, 4, 5)}, []arg{x, {Name: "w", Value: randF64(2, -1, 1, 2, 1, 1, 1), Const: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode(tc.op, 13, tc.attrs, 1, tc.args...)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatalf("compile without a limit: %v", err)
			}
			out := p.Outputs[0]
			p.Close()
			need := int64(out.Size()) * elemBytes(out.DType)
			p, err = Compile(m, shapes, Options{MaxBytes: need})
			if err != nil {
				t.Fatalf("compile with MaxBytes %d, the output's size: %v", need, err)
			}
			p.Close()
			_, err = Compile(m, shapes, Options{MaxBytes: need - 1})
			var le *graph.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("compile with MaxBytes %d: error %v, want a *graph.LimitError", need-1, err)
			}
			if le.Limit != need-1 || le.Bytes != need {
				t.Errorf("limit error for %d bytes over %d, want %d over %d", le.Bytes, le.Limit, need, need-1)
			}
		})
	}
}

// TestTensorFromIRBadDims: dims whose product overflows are an error, not
// a panic or a tensor that claims more elements than it holds.
func TestTensorFromIRBadDims(t *testing.T) {
	for _, dims := range [][]int64{{1 << 32, 1 << 32}, {-1, 0}} {
		ir := &graph.Tensor{Name: "w", DType: graph.Float32, Dims: dims}
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("dims %v: panic %v", dims, r)
				}
			}()
			_, err = TensorFromIR(ir)
		}()
		if err == nil || !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("dims %v: error %v, want one naming the tensor", dims, err)
		}
	}
}
