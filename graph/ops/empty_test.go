package ops

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// TestEmptyBatch runs kernels on a batch of 0 examples, as Runner.Run does
// for an input of shape [0, ...]: the output has 0 elements too. Some
// kernels indexed their arrays at -1 (a bounds-check hint of the last
// element): ResNet-18's first MaxPool and MobileNetV2's first depthwise
// Conv failed with "runtime error: index out of range [-1]" where PyTorch
// and ONNX Runtime return logits of shape [0, 1000].
func TestEmptyBatch(t *testing.T) {
	empty := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	}
	w := make([]float32, 4*1*3*3)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	for _, tc := range []struct {
		name  string
		op    string
		attrs []*graph.Attribute
		args  []arg
		want  []int
	}{
		{"MaxPool 3x3 stride 2", "MaxPool", []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1)},
			[]arg{{Name: "x", Value: empty(0, 4, 8, 8)}}, []int{0, 4, 4, 4}},
		{"depthwise Conv", "Conv", []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInt("group", 4), attrInts("pads", 1, 1, 1, 1)},
			[]arg{{Name: "x", Value: empty(0, 4, 8, 8)}, {Name: "w", Value: tensor.New(tensor.WithShape(4, 1, 3, 3), tensor.WithBacking(w)), Const: true}}, []int{0, 4, 8, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs := run(t, tc.op, 13, tc.attrs, 1, tc.args...)
			if got := Shape(outs[0]); !sameShape(tensor.Shape(got), tc.want) {
				t.Errorf("output shape %v, want %v", got, tc.want)
			}
		})
	}
}
