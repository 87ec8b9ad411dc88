package ops

import (
	"errors"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestAttrErrors: an attribute of the wrong type or length is an
// *AttrError whose message names the node, whatever op reads it.
func TestAttrErrors(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, -1, 1, 1, 2, 5, 5)}
	w := arg{Name: "w", Value: randF64(2, -1, 1, 3, 2, 3, 3), Const: true}
	for _, tc := range []struct {
		name, op string
		attrs    []*graph.Attribute
		args     []arg
		want     string
	}{
		{"conv strides float", "Conv", []*graph.Attribute{attrFloat("strides", 2)}, []arg{x, w},
			`node "/test/Conv" (Conv): attribute "strides": want ints, got FLOAT`},
		{"conv pads length", "Conv", []*graph.Attribute{attrInts("pads", 1, 1)}, []arg{x, w},
			`node "/test/Conv" (Conv): attribute "pads": has 2 values, want 4`},
		{"gemm alpha int", "Gemm", []*graph.Attribute{attrInt("alpha", 2)},
			[]arg{{Name: "a", Value: randF64(3, -1, 1, 2, 3)}, {Name: "b", Value: randF64(4, -1, 1, 3, 2)}},
			`node "/test/Gemm" (Gemm): attribute "alpha": want float, got INT`},
		{"elu alpha ints", "Elu", []*graph.Attribute{attrInts("alpha", 1)}, []arg{x},
			`node "/test/Elu" (Elu): attribute "alpha": want float, got INTS`},
		{"maxpool kernel float", "MaxPool", []*graph.Attribute{attrFloat("kernel_shape", 2)}, []arg{x},
			`node "/test/MaxPool" (MaxPool): attribute "kernel_shape": want ints, got FLOAT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, shapes := oneNode(tc.op, 17, tc.attrs, 1, tc.args...)
			_, err := Compile(m, shapes, Options{})
			var ae *AttrError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *AttrError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q\nwant  %q", err, tc.want)
			}
		})
	}
}

// TestAttrFloatRule: float attributes read as the shortest decimal of the
// stored float32, which converts back to the same float32.
func TestAttrFloatRule(t *testing.T) {
	n := &graph.Node{Name: "n", OpType: "Gemm", Attrs: []*graph.Attribute{attrFloat("alpha", 0.9)}}
	r := attrsOf(n)
	if got := r.Float("alpha", 1); got != 0.9 || float32(got) != float32(0.9) {
		t.Errorf("alpha = %v, want 0.9", got)
	}
	if got := r.Float("beta", 1e-5); got != 1e-5 {
		t.Errorf("default beta = %v, want 1e-05", got)
	}
	if r.Err() != nil {
		t.Error(r.Err())
	}
}
