package ops

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestPoolGradients(t *testing.T) {
	cases := []struct {
		name, op string
		opset    int64
		x        []int
		attrs    []*graph.Attribute
	}{
		{name: "max_2d", op: "MaxPool", opset: 12, x: []int{2, 3, 6, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1)}},
		{name: "max_ceil", op: "MaxPool", opset: 12, x: []int{1, 2, 5, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 3), attrInts("strides", 2, 2), attrInt("ceil_mode", 1)}},
		{name: "max_dilated", op: "MaxPool", opset: 12, x: []int{1, 2, 6, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInts("dilations", 2, 2), attrInts("pads", 1, 0, 1, 1)}},
		{name: "max_same_upper", op: "MaxPool", opset: 12, x: []int{1, 2, 5, 5},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2), convAttrStr("auto_pad", "SAME_UPPER")}},
		{name: "max_1d", op: "MaxPool", opset: 12, x: []int{2, 2, 9},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 3), attrInts("strides", 2)}},
		{name: "max_3d", op: "MaxPool", opset: 12, x: []int{1, 2, 4, 4, 4},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2, 2), attrInts("strides", 2, 1, 2)}},
		{name: "avg_exclude_pad", op: "AveragePool", opset: 11, x: []int{2, 3, 6, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1)}},
		{name: "avg_include_pad", op: "AveragePool", opset: 11, x: []int{2, 3, 6, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1),
				attrInt("count_include_pad", 1)}},
		{name: "avg_ceil_include_pad", op: "AveragePool", opset: 11, x: []int{1, 2, 5, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("pads", 1, 0, 0, 1),
				attrInt("ceil_mode", 1), attrInt("count_include_pad", 1)}},
		{name: "avg_dilated", op: "AveragePool", opset: 19, x: []int{1, 2, 6, 6},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInts("dilations", 2, 1), attrInt("ceil_mode", 1)}},
		{name: "avg_same_lower", op: "AveragePool", opset: 11, x: []int{1, 2, 5, 5},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), convAttrStr("auto_pad", "SAME_LOWER"), attrInt("count_include_pad", 1)}},
		{name: "avg_1d", op: "AveragePool", opset: 7, x: []int{2, 2, 7},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2), attrInts("strides", 2)}},
		{name: "global_average", op: "GlobalAveragePool", opset: 13, x: []int{2, 3, 4, 5}},
		{name: "global_average_1d", op: "GlobalAveragePool", opset: 13, x: []int{2, 3, 4}},
		{name: "global_max", op: "GlobalMaxPool", opset: 13, x: []int{2, 3, 4, 5}},
		{name: "global_max_3d", op: "GlobalMaxPool", opset: 13, x: []int{1, 2, 2, 3, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, c.op, c.opset, c.attrs, arg{Name: "x", Value: randF64(11, -1, 1, c.x...)})
		})
	}
}

// TestMaxPoolTies checks that a tie sends the whole gradient to the first
// maximum of the window, as PyTorch does.
func TestMaxPoolTies(t *testing.T) {
	x := []float64{1, 1, 1, 1}
	dy := []float64{1}
	g := newConvGeom([]int{2, 2}, []int{1, 1}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{0, 0}, []int{0, 0})
	dx := make([]float64, 4)
	poolMaxGrad(dy, x, 1, &g, dx, nil)
	if dx[0] != 1 || dx[1]+dx[2]+dx[3] != 0 {
		t.Fatalf("gradient %v, want all of it on the first element", dx)
	}
	dx = poolGlobalMaxGrad(dy, x, 1, 4)
	if dx[0] != 1 || dx[1]+dx[2]+dx[3] != 0 {
		t.Fatalf("global: gradient %v, want all of it on the first element", dx)
	}
}

func TestPoolOpsetAttributes(t *testing.T) {
	cases := []struct {
		name, op string
		opset    int64
		attrs    []*graph.Attribute
		want     string // "" for no error
	}{
		{name: "ceil_mode before 10", op: "MaxPool", opset: 9,
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInt("ceil_mode", 1)}, want: "ceil_mode needs opset 10"},
		{name: "average dilations before 19", op: "AveragePool", opset: 18,
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInts("dilations", 2, 2)}, want: "dilations needs opset 19"},
		{name: "max dilations at 10", op: "MaxPool", opset: 10,
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInts("dilations", 2, 2)}},
		{name: "storage_order before 8", op: "MaxPool", opset: 7,
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2), attrInt("storage_order", 0)}, want: "storage_order needs opset 8"},
		{name: "no kernel_shape", op: "AveragePool", opset: 11, want: "kernel_shape is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode(c.op, c.opset, c.attrs, 1, arg{Name: "x", Value: randF64(1, 0, 1, 1, 1, 5, 5)})
			_, err := Compile(m, shapes, Options{})
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestMaxPool2x2Argmax checks the 2x2 loop's values and positions against
// a plain search (first maximum; a NaN wins, the last of several, as
// PyTorch's max_pool2d),
// on data full of ties and some NaNs.
func TestMaxPool2x2Argmax(t *testing.T) {
	const planes, h, w = 3, 6, 7 // odd width: the last column is dropped
	g := newConvGeom([]int{h, w}, []int{h / 2, w / 2}, []int{2, 2}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0})
	r := rand.New(rand.NewSource(5))
	x := make([]float32, planes*h*w)
	for i := range x {
		x[i] = float32(r.Intn(3))
		if r.Intn(10) == 0 {
			x[i] = float32(math.NaN())
		}
	}
	P := (h / 2) * (w / 2)
	y, arg := make([]float32, planes*P), make([]int, planes*P)
	poolMax(x, planes, &g, y, arg)
	for p := 0; p < planes; p++ {
		for oh := 0; oh < h/2; oh++ {
			for ow := 0; ow < w/2; ow++ {
				at := -1
				var best float32
				for _, i := range []int{2*oh*w + 2*ow, 2*oh*w + 2*ow + 1, (2*oh+1)*w + 2*ow, (2*oh+1)*w + 2*ow + 1} {
					v := x[p*h*w+i]
					if at < 0 || v > best || v != v {
						best, at = v, i
					}
				}
				o := p*P + oh*(w/2) + ow
				if arg[o] != at || (y[o] != best && !(y[o] != y[o] && best != best)) {
					t.Fatalf("plane %d window (%d,%d): got %v at %d, want %v at %d", p, oh, ow, y[o], arg[o], best, at)
				}
			}
		}
	}
}

// TestMaxPoolValueLoops: the value-only loops of inference (Go's max, the
// 3x3 stride-2 nine-load case, edges clipped by padding) give the values of
// the argmax search training uses.
func TestMaxPoolValueLoops(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, c := range []struct{ h, w, k, s, pad int }{{9, 11, 3, 2, 1}, {8, 8, 3, 2, 0}, {7, 10, 3, 1, 1}, {12, 9, 2, 3, 1}} {
		oh, ow := (c.h+2*c.pad-c.k)/c.s+1, (c.w+2*c.pad-c.k)/c.s+1
		g := newConvGeom([]int{c.h, c.w}, []int{oh, ow}, []int{c.k, c.k}, []int{c.s, c.s}, []int{1, 1},
			[]int{c.pad, c.pad}, []int{c.pad, c.pad})
		const planes = 3
		x := make([]float32, planes*c.h*c.w)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			if r.Intn(25) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		fast, ref := make([]float32, planes*oh*ow), make([]float32, planes*oh*ow)
		poolMax(x, planes, &g, fast, nil)
		poolMax(x, planes, &g, ref, make([]int, len(ref)))
		for i := range ref {
			if fast[i] != ref[i] && !(fast[i] != fast[i] && ref[i] != ref[i]) {
				t.Fatalf("%+v: output %d is %v, the argmax search gives %v", c, i, fast[i], ref[i])
			}
		}
	}
}

// TestMaxPool3x3Argmax checks the unrolled 3x3 stride-2 windows of the
// training loop (ResNet's stem pool, edges clipped by padding) against a
// plain search (first maximum; the last NaN wins), on data full of ties and
// some NaNs.
func TestMaxPool3x3Argmax(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, c := range []struct{ h, w, pad int }{{9, 11, 1}, {8, 8, 0}, {16, 16, 1}} {
		oh, ow := (c.h+2*c.pad-3)/2+1, (c.w+2*c.pad-3)/2+1
		g := newConvGeom([]int{c.h, c.w}, []int{oh, ow}, []int{3, 3}, []int{2, 2}, []int{1, 1},
			[]int{c.pad, c.pad}, []int{c.pad, c.pad})
		const planes = 2
		x := make([]float32, planes*c.h*c.w)
		for i := range x {
			x[i] = float32(r.Intn(3))
			if r.Intn(12) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		P := oh * ow
		y, arg := make([]float32, planes*P), make([]int, planes*P)
		poolMax(x, planes, &g, y, arg)
		for p := range planes {
			for i := range oh {
				for j := range ow {
					at := -1
					var best float32
					for h := 2*i - c.pad; h < 2*i-c.pad+3; h++ {
						for w := 2*j - c.pad; w < 2*j-c.pad+3; w++ {
							if h < 0 || h >= c.h || w < 0 || w >= c.w {
								continue
							}
							if v := x[p*c.h*c.w+h*c.w+w]; at < 0 || v > best || v != v {
								best, at = v, h*c.w+w
							}
						}
					}
					o := p*P + i*ow + j
					if arg[o] != at || (y[o] != best && !(y[o] != y[o] && best != best)) {
						t.Fatalf("%+v plane %d window (%d,%d): got %v at %d, want %v at %d", c, p, i, j, y[o], arg[o], best, at)
					}
				}
			}
		}
	}
}

// TestMaxPoolVector: vec.MaxPool2D (where it runs: AVX-512, AVX2) gives the
// argmax, and the values, of the loops it replaces: bit for bit with the
// argmax, and without it the same values up to a NaN's bits, on the stem
// pool of ResNet-18 at 64 px and smaller planes with ties and NaNs.
func TestMaxPoolVector(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, c := range []struct{ h, w, k, s, pad int }{{32, 32, 3, 2, 1}, {9, 11, 3, 2, 1}, {7, 10, 3, 1, 1}, {40, 36, 3, 2, 1}} {
		oh, ow := (c.h+2*c.pad-c.k)/c.s+1, (c.w+2*c.pad-c.k)/c.s+1
		g := newConvGeom([]int{c.h, c.w}, []int{oh, ow}, []int{c.k, c.k}, []int{c.s, c.s}, []int{1, 1},
			[]int{c.pad, c.pad}, []int{c.pad, c.pad})
		const planes = 40
		x := make([]float32, planes*c.h*c.w)
		for i := range x {
			x[i] = float32(r.Intn(4))
			if r.Intn(30) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		P := planes * oh * ow
		for _, withArg := range []bool{false, true} {
			y, ref := make([]float32, P), make([]float32, P)
			var arg, refArg []int
			if withArg {
				arg, refArg = make([]int, P), make([]int, P)
			}
			poolMax(x, planes, &g, y, arg)
			poolVector = false
			poolMax(x, planes, &g, ref, refArg)
			poolVector = true
			for i := range ref {
				same := math.Float32bits(y[i]) == math.Float32bits(ref[i]) || !withArg && y[i] != y[i] && ref[i] != ref[i]
				if !same || withArg && arg[i] != refArg[i] {
					t.Fatalf("%+v arg %v: output %d", c, withArg, i)
				}
			}
		}
	}
}
