package ops

import (
	"errors"
	"fmt"
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

// TestCompileBoundsTotalBytes: values each under MaxBytes but together over
// it (four ConstantOfShape outputs added up, a chain of run-time nodes, the
// gradients of training) are refused at compile time, with one line naming
// the node where the total crossed the limit; the same models compile with
// a limit that holds them all.
func TestCompileBoundsTotalBytes(t *testing.T) {
	const elems = 24 << 10 // 96 KiB of float32 per value
	const limit = 256 << 10
	// Folded: c0..c3 = ConstantOfShape([elems]), a1 = c0+c1, a2 = a1+c2, ...
	var folded []*graph.Node
	prev := ""
	for i := range 4 {
		c := fmt.Sprintf("c%d", i)
		folded = append(folded, &graph.Node{Name: "cos" + c, OpType: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{c}})
		if prev == "" {
			prev = c
			continue
		}
		a := fmt.Sprintf("a%d", i)
		folded = append(folded, &graph.Node{Name: "add" + a, OpType: "Add", Inputs: []string{prev, c}, Outputs: []string{a}})
		prev = a
	}
	fm, fshapes := chainModel(13, []arg{{Name: "shape", Value: Dense([]int{1}, []int64{elems}), Const: true}}, folded, prev)
	// Run time: r1 = Relu(x), r2 = Relu(r1), ... on an input of elems floats.
	var chain []*graph.Node
	prev = "x"
	for i := range 4 {
		r := fmt.Sprintf("r%d", i)
		chain = append(chain, &graph.Node{Name: "relu" + r, OpType: "Relu", Inputs: []string{prev}, Outputs: []string{r}})
		prev = r
	}
	x := arg{Name: "x", Value: Dense([]int{elems}, make([]float32, elems))}
	cm, cshapes := chainModel(13, []arg{x}, chain, prev)
	// Training: two run-time values and their gradients.
	tm, tshapes := chainModel(13, []arg{x}, chain[:2], "r1")
	for _, tc := range []struct {
		name   string
		m      *graph.Model
		shapes map[string][]int
		train  bool
		node   string // where the total crosses limit
	}{
		{"folded constants", fm, fshapes, false, `"adda1" (Add)`},
		{"run-time nodes", cm, cshapes, false, `"relur2" (Relu)`},
		{"gradients in training", tm, tshapes, true, `"relur1" (Relu)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.m, tc.shapes, Options{Train: tc.train, MaxBytes: 4 * limit})
			if err != nil {
				t.Fatalf("compile with room for every value: %v", err)
			}
			p.Close()
			_, err = Compile(tc.m, tc.shapes, Options{Train: tc.train, MaxBytes: limit})
			var le *graph.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("compile with MaxBytes %d: error %v, want a *graph.LimitError", limit, err)
			}
			if le.Limit != limit || le.Bytes <= limit {
				t.Errorf("limit error for %d bytes over %d, want more than %d over %d", le.Bytes, le.Limit, limit, limit)
			}
			msg := err.Error()
			for _, want := range []string{"values of the program would need", "in all at node " + tc.node, "over the limit of 256 KiB", "--max-bytes"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Count(msg, "node ") != 1 || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the node once", msg)
			}
		})
	}
	// The training model's values alone fit the limit.
	p, err := Compile(tm, tshapes, Options{MaxBytes: limit})
	if err != nil {
		t.Fatalf("inference compile of the training case: %v", err)
	}
	p.Close()
}
