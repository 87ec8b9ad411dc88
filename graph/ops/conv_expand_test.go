package ops

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// expandBlock is an inverted-residual block of MobileNetV2's shape: x (n,
// c, h, h) -> Conv 1x1 (c -> m) -> act -> depthwise Conv 3x3 (stride) ->
// act -> Conv 1x1 (m -> c/2), with act a Clip(0, 6), a Relu or nothing,
// every weight an initializer. With hits, expansion channel 0 has zero
// weights and a zero bias, so the Clip's lower bound is hit exactly, and
// depthwise channel 1 has zero weights and the bias 6, its upper bound.
func expandBlock(n, c, m, h, stride int, act string, hits bool) (*graph.Model, map[string][]int, map[string]*tensor.Dense) {
	f32 := func(t *tensor.Dense) *tensor.Dense { return clipF32(t) }
	w1, b1 := f32(randF64(2, -0.5, 0.5, m, c, 1, 1)), f32(randF64(3, -1, 1, m))
	wd, bd := f32(randF64(4, -0.5, 0.5, m, 1, 3, 3)), f32(randF64(5, -1, 1, m))
	w3 := f32(randF64(6, -0.5, 0.5, c/2, m, 1, 1))
	if hits {
		w1d, _ := Data[float32](w1)
		clear(w1d[:c])
		b1d, _ := Data[float32](b1)
		b1d[0] = 0
		wdd, _ := Data[float32](wd)
		clear(wdd[9:18])
		bdd, _ := Data[float32](bd)
		bdd[1] = 6
	}
	x := f32(randF64(1, -2, 2, n, c, h, h))
	args := []arg{{Name: "x", Value: x}, {Name: "w1", Value: w1, Const: true}, {Name: "b1", Value: b1, Const: true},
		{Name: "wd", Value: wd, Const: true}, {Name: "bd", Value: bd, Const: true}, {Name: "w3", Value: w3, Const: true},
		{Name: "lo", Value: tensor.New(tensor.FromScalar(float32(0))), Const: true},
		{Name: "hi", Value: tensor.New(tensor.FromScalar(float32(6))), Const: true}}
	nodes := []*graph.Node{{Name: "expand", OpType: "Conv", Inputs: []string{"x", "w1", "b1"}, Outputs: []string{"e"}}}
	actOf := func(name, in string) string {
		switch act {
		case "clip":
			nodes = append(nodes, &graph.Node{Name: name, OpType: "Clip", Inputs: []string{in, "lo", "hi"}, Outputs: []string{name}})
		case "relu":
			nodes = append(nodes, &graph.Node{Name: name, OpType: "Relu", Inputs: []string{in}, Outputs: []string{name}})
		default:
			return in
		}
		return name
	}
	e := actOf("e_act", "e")
	s := int64(stride)
	nodes = append(nodes, &graph.Node{Name: "dw", OpType: "Conv", Inputs: []string{e, "wd", "bd"}, Outputs: []string{"d"},
		Attrs: []*graph.Attribute{attrInt("group", int64(m)), attrInts("pads", 1, 1, 1, 1), attrInts("strides", s, s)}})
	d := actOf("d_act", "d")
	nodes = append(nodes, &graph.Node{Name: "project", OpType: "Conv", Inputs: []string{d, "w3"}, Outputs: []string{"y"}})
	model, shapes := chainModel(13, args, nodes, "y", d)
	return model, shapes, map[string]*tensor.Dense{"x": x}
}

// expandRun runs m by a Runner with the fusion on or off, and returns its
// outputs and the fused runs it made.
func expandRun(t *testing.T, m *graph.Model, in map[string]*tensor.Dense, off bool) ([][]float32, int64) {
	t.Helper()
	old := convExpandOff
	convExpandOff = off
	defer func() { convExpandOff = old }()
	r, err := NewRunner(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	runs := convExpandRuns.Load()
	var outs [][]float32
	for range 2 { // the second run reuses the first one's buffers
		got, err := r.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		outs = outs[:0]
		for _, o := range got {
			v, err := Data[float32](o)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, append([]float32(nil), v...))
		}
	}
	return outs, convExpandRuns.Load() - runs
}

func sameBitsOuts(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, the two nodes give %d", what, len(got), len(want))
	}
	for k := range want {
		if len(got[k]) != len(want[k]) {
			t.Fatalf("%s: output %d has %d elements, the two nodes give %d", what, k, len(got[k]), len(want[k]))
		}
		for i := range want[k] {
			if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
				t.Fatalf("%s: output %d element %d is %v, the two nodes give %v", what, k, i, got[k][i], want[k][i])
			}
		}
	}
}

// TestConvExpandMatchesTwoNodes runs expansion and depthwise pairs fused
// and as two nodes: the same bits, and the fused runs happened.
func TestConvExpandMatchesTwoNodes(t *testing.T) {
	oldMin := convExpandMinPlane
	defer func() { convExpandMinPlane = oldMin }()
	for _, c := range []struct {
		n, c, m, h, stride int
		act                string
		minPlane           int
	}{
		{16, 16, 96, 32, 2, "clip", 64}, {3, 24, 144, 16, 1, "clip", 64}, {2, 24, 144, 16, 2, "relu", 64},
		{4, 8, 48, 16, 1, "", 64}, {5, 32, 192, 8, 1, "clip", 64}, {16, 64, 384, 4, 1, "clip", 1},
		{10, 64, 384, 4, 1, "clip", 1}, {3, 16, 32, 4, 2, "clip", 1}, {1, 160, 960, 2, 1, "clip", 1}, {16, 160, 960, 2, 1, "relu", 1}, {2, 8, 40, 12, 1, "clip", 1},
	} {
		name := fmt.Sprintf("b%d_%dx%d_%dch_s%d_%s", c.n, c.h, c.h, c.m, c.stride, c.act)
		t.Run(name, func(t *testing.T) {
			convExpandMinPlane = c.minPlane
			m, _, in := expandBlock(c.n, c.c, c.m, c.h, c.stride, c.act, true)
			want, offRuns := expandRun(t, m, in, true)
			got, onRuns := expandRun(t, m, in, false)
			want2 := int64(0) // without the depthwise kernels (purego), no fusion
			if dwAsm {
				want2 = 2
			}
			if offRuns != 0 || onRuns != want2 {
				t.Fatalf("fused runs: %d with the fusion off, %d on (want 0 and %d)", offRuns, onRuns, want2)
			}
			sameBitsOuts(t, name, got, want)
		})
	}
	// Below the smallest plane fused, and for planes the depthwise
	// kernels do not take (7x7: 49 positions), the two nodes run apart.
	for _, c := range []struct{ h, minPlane int }{{4, 64}, {8, 256}, {7, 1}} {
		h := c.h
		convExpandMinPlane = c.minPlane
		m, _, in := expandBlock(2, 16, 96, h, 1, "clip", true)
		want, _ := expandRun(t, m, in, true)
		got, runs := expandRun(t, m, in, false)
		if runs != 0 {
			t.Fatalf("%dx%d planes, fused from %d positions: %d fused runs, want none", h, h, convExpandMinPlane, runs)
		}
		sameBitsOuts(t, fmt.Sprintf("%dx%d", h, h), got, want)
	}
}

// TestConvExpandNotWhenShared leaves the pair apart when the expansion's
// output is also a graph output (the depthwise node is not its only
// reader).
func TestConvExpandNotWhenShared(t *testing.T) {
	m, _, in := expandBlock(2, 16, 96, 32, 2, "clip", true)
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.ValueInfo{Name: "e_act"})
	want, _ := expandRun(t, m, in, true)
	got, runs := expandRun(t, m, in, false)
	if runs != 0 {
		t.Fatalf("%d fused runs with the expansion's output exposed", runs)
	}
	sameBitsOuts(t, "exposed", got, want)
}

// TestConvExpandMobileNetV3 runs the committed MobileNetV3 (torchvision's
// blocks, Relu after its expansions) with every pair fused and with none.
func TestConvExpandMobileNetV3(t *testing.T) {
	oldMin := convExpandMinPlane
	defer func() { convExpandMinPlane = oldMin }()
	convExpandMinPlane = 1 // its planes are 16x16 and smaller
	m, err := importer.Load(filepath.Join("..", "..", "models", "arch", "mobilenet_v3_ts.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	x := clipF32(randF64(1, -2, 2, 2, 3, 32, 32))
	in := map[string]*tensor.Dense{InputNames(m)[0]: x}
	want, _ := expandRun(t, m, in, true)
	got, runs := expandRun(t, m, in, false)
	if dwAsm && runs == 0 {
		t.Fatal("no pair of the model ran fused")
	}
	t.Logf("%d fused runs in 2 runs", runs)
	sameBitsOuts(t, "mobilenet_v3", got, want)
}
