package ops

import (
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

func convAttrStr(name, v string) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrString, S: []byte(v)}
}

type convCase struct {
	name  string
	x, w  []int
	bias  bool
	attrs []*graph.Attribute
}

var convCases = []convCase{
	{name: "plain", x: []int{2, 3, 5, 5}, w: []int{4, 3, 3, 3}, bias: true},
	{name: "padded_strided", x: []int{2, 3, 7, 6}, w: []int{4, 3, 3, 2}, bias: true,
		attrs: []*graph.Attribute{attrInts("pads", 1, 2, 0, 1), attrInts("strides", 2, 2)}},
	{name: "grouped", x: []int{2, 4, 5, 5}, w: []int{6, 2, 3, 3}, bias: true,
		attrs: []*graph.Attribute{attrInt("group", 2), attrInts("pads", 1, 1, 1, 1)}},
	{name: "depthwise", x: []int{2, 4, 6, 6}, w: []int{4, 1, 3, 3}, bias: true,
		attrs: []*graph.Attribute{attrInt("group", 4), attrInts("pads", 1, 1, 1, 1)}},
	{name: "depthwise_multiplier_strided", x: []int{2, 3, 7, 7}, w: []int{6, 1, 3, 3},
		attrs: []*graph.Attribute{attrInt("group", 3), attrInts("pads", 1, 1, 1, 1), attrInts("strides", 2, 2)}},
	{name: "dilated", x: []int{2, 2, 7, 7}, w: []int{3, 2, 3, 3}, bias: true,
		attrs: []*graph.Attribute{attrInts("dilations", 2, 2), attrInts("pads", 2, 1, 2, 1)}},
	{name: "1d", x: []int{2, 3, 9}, w: []int{4, 3, 3}, bias: true,
		attrs: []*graph.Attribute{attrInts("strides", 2), attrInts("pads", 1, 1)}},
	{name: "pointwise", x: []int{3, 4, 3, 3}, w: []int{5, 4, 1, 1}, bias: true},
	{name: "same_lower", x: []int{1, 2, 5, 6}, w: []int{2, 2, 3, 3},
		attrs: []*graph.Attribute{convAttrStr("auto_pad", "SAME_LOWER"), attrInts("strides", 2, 2)}},
	{name: "same_upper", x: []int{1, 2, 5, 6}, w: []int{2, 2, 2, 2},
		attrs: []*graph.Attribute{convAttrStr("auto_pad", "SAME_UPPER")}},
	{name: "valid_3d", x: []int{1, 2, 4, 4, 3}, w: []int{2, 2, 2, 2, 2}, bias: true,
		attrs: []*graph.Attribute{convAttrStr("auto_pad", "VALID"), attrInts("strides", 1, 2, 1)}},
}

func convArgs(c convCase) []arg {
	args := []arg{{Name: "x", Value: randF64(1, -1, 1, c.x...)}, {Name: "w", Value: randF64(2, -1, 1, c.w...)}}
	if c.bias {
		args = append(args, arg{Name: "b", Value: randF64(3, -1, 1, c.w[0])})
	}
	return args
}

// withColLimit runs f with the im2col size bound set to limit: 1 forces one
// GEMM per sample, the default batches small feature maps.
func withColLimit(limit int, f func()) {
	old := convColLimit
	convColLimit = limit
	defer func() { convColLimit = old }()
	f()
}

func TestConvGradients(t *testing.T) {
	for _, c := range convCases {
		for _, limit := range []int{convColLimit, 1} {
			name := c.name
			if limit == 1 {
				name += "/per_sample"
			}
			t.Run(name, func(t *testing.T) {
				withColLimit(limit, func() { gradCheck(t, "Conv", 13, c.attrs, convArgs(c)...) })
			})
		}
	}
}

// TestConvMatchesDirectLoop checks every kernel path (im2col batched and per
// sample, pointwise, depthwise; float32 and float64) against a
// straightforward loop over the definition.
func TestConvMatchesDirectLoop(t *testing.T) {
	for _, c := range convCases {
		if a := attrOf(c.attrs, "auto_pad"); a != nil {
			continue // the direct loop takes explicit pads
		}
		t.Run(c.name, func(t *testing.T) {
			args := convArgs(c)
			want := naiveConv(t, c, args)
			for _, limit := range []int{convColLimit, 1} {
				withColLimit(limit, func() {
					got, _ := Data[float64](run(t, "Conv", 13, c.attrs, 1, args...)[0])
					convCompare(t, "float64", got, want, 1e-12)
					a32 := make([]arg, len(args))
					for i, a := range args {
						a32[i] = arg{Name: a.Name, Value: toF32(a.Value)}
					}
					g32, _ := Data[float32](run(t, "Conv", 13, c.attrs, 1, a32...)[0])
					got = make([]float64, len(g32))
					for i, v := range g32 {
						got[i] = float64(v)
					}
					convCompare(t, "float32", got, want, 1e-5)
				})
			}
		})
	}
}

func convCompare(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*max(1, math.Abs(want[i])) {
			t.Fatalf("%s: y[%d] = %g, direct loop gives %g", what, i, got[i], want[i])
		}
	}
}

func attrOf(attrs []*graph.Attribute, name string) *graph.Attribute {
	for _, a := range attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func toF32(t *tensor.Dense) *tensor.Dense {
	d, _ := Data[float64](t)
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = float32(v)
	}
	return Dense(Shape(t), out)
}

// naiveConv evaluates Conv by its definition, one output element at a time.
func naiveConv(t *testing.T, c convCase, args []arg) []float64 {
	t.Helper()
	sp := len(c.x) - 2
	ints := func(name string, def int, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = def
		}
		if a := attrOf(c.attrs, name); a != nil {
			for i, v := range a.Ints {
				out[i] = int(v)
			}
		}
		return out
	}
	group := 1
	if a := attrOf(c.attrs, "group"); a != nil {
		group = int(a.I)
	}
	st, dil, pads := ints("strides", 1, sp), ints("dilations", 1, sp), ints("pads", 0, 2*sp)
	x, _ := Data[float64](args[0].Value)
	w, _ := Data[float64](args[1].Value)
	var b []float64
	if len(args) > 2 {
		b, _ = Data[float64](args[2].Value)
	}
	N, C, M := c.x[0], c.x[1], c.w[0]
	in, k := c.x[2:], c.w[2:]
	out := make([]int, sp)
	for i := range out {
		out[i] = (in[i]+pads[i]+pads[sp+i]-(k[i]-1)*dil[i]-1)/st[i] + 1
	}
	cg, mg := C/group, M/group
	var y []float64
	for n := 0; n < N; n++ {
		for m := 0; m < M; m++ {
			gi := m / mg
			for _, o := range odometer(out) {
				s := 0.0
				if b != nil {
					s = b[m]
				}
				for ci := 0; ci < cg; ci++ {
					for _, kk := range odometer(k) {
						xi := n*C + gi*cg + ci
						wi := m*cg + ci
						ok := true
						for d := 0; d < sp; d++ {
							p := o[d]*st[d] - pads[d] + kk[d]*dil[d]
							if p < 0 || p >= in[d] {
								ok = false
								break
							}
							xi = xi*in[d] + p
							wi = wi*k[d] + kk[d]
						}
						if ok {
							s += x[xi] * w[wi]
						}
					}
				}
				y = append(y, s)
			}
		}
	}
	return y
}

// odometer lists every index of a shape in row-major order.
func odometer(shape []int) [][]int {
	var out [][]int
	idx := make([]int, len(shape))
	for {
		out = append(out, append([]int(nil), idx...))
		d := len(shape) - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return out
		}
	}
}

func TestConvTransposeGradients(t *testing.T) {
	cases := []struct {
		name  string
		x, w  []int
		bias  bool
		attrs []*graph.Attribute
	}{
		{name: "plain", x: []int{2, 2, 3, 3}, w: []int{2, 3, 3, 3}, bias: true},
		{name: "strided_padded_output_padding", x: []int{2, 2, 3, 4}, w: []int{2, 2, 3, 3}, bias: true,
			attrs: []*graph.Attribute{attrInts("strides", 2, 3), attrInts("pads", 1, 0, 0, 1), attrInts("output_padding", 1, 2)}},
		{name: "grouped", x: []int{2, 4, 3, 3}, w: []int{4, 2, 2, 2}, bias: true,
			attrs: []*graph.Attribute{attrInt("group", 2), attrInts("strides", 2, 2)}},
		{name: "dilated", x: []int{1, 2, 3, 3}, w: []int{2, 2, 2, 2},
			attrs: []*graph.Attribute{attrInts("dilations", 2, 2)}},
		{name: "output_shape", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3},
			attrs: []*graph.Attribute{attrInts("strides", 3, 2), attrInts("output_shape", 10, 8)}},
		{name: "same_upper", x: []int{1, 2, 3, 3}, w: []int{2, 2, 3, 3}, bias: true,
			attrs: []*graph.Attribute{convAttrStr("auto_pad", "SAME_UPPER"), attrInts("strides", 2, 2)}},
		{name: "1d", x: []int{2, 2, 4}, w: []int{2, 3, 3}, bias: true,
			attrs: []*graph.Attribute{attrInts("strides", 2), attrInts("pads", 1, 1)}},
	}
	for _, c := range cases {
		for _, limit := range []int{convColLimit, 1} {
			name := c.name
			if limit == 1 {
				name += "/per_sample"
			}
			t.Run(name, func(t *testing.T) {
				args := []arg{{Name: "x", Value: randF64(4, -1, 1, c.x...)}, {Name: "w", Value: randF64(5, -1, 1, c.w...)}}
				if c.bias {
					group := 1
					if a := attrOf(c.attrs, "group"); a != nil {
						group = int(a.I)
					}
					args = append(args, arg{Name: "b", Value: randF64(6, -1, 1, c.w[1]*group)})
				}
				withColLimit(limit, func() { gradCheck(t, "ConvTranspose", 13, c.attrs, args...) })
			})
		}
	}
}

func TestConvConstantWeightHasNoGradient(t *testing.T) {
	// A constant weight (not a parameter) gets no gradient node; the input
	// still does.
	gradCheck(t, "Conv", 13, []*graph.Attribute{attrInts("pads", 1, 1, 1, 1)},
		arg{Name: "x", Value: randF64(7, -1, 1, 1, 2, 4, 4)},
		arg{Name: "w", Value: randF64(8, -1, 1, 3, 2, 3, 3), Const: true})
}

func TestConvErrors(t *testing.T) {
	cases := []struct {
		name, op, want string
		x, w           []int
		attrs          []*graph.Attribute
	}{
		{name: "weight rank", op: "Conv", x: []int{1, 2, 4, 4}, w: []int{2, 2, 3}, want: "weight has 3 dims, want 4"},
		{name: "channels", op: "Conv", x: []int{1, 3, 4, 4}, w: []int{2, 2, 3, 3}, want: "input has 3 channels"},
		{name: "kernel_shape", op: "Conv", x: []int{1, 2, 4, 4}, w: []int{2, 2, 3, 3},
			attrs: []*graph.Attribute{attrInts("kernel_shape", 2, 2)}, want: "disagrees with the weight"},
		{name: "too small", op: "Conv", x: []int{1, 2, 2, 2}, w: []int{2, 2, 3, 3}, want: "larger than the padded input"},
		{name: "auto_pad", op: "Conv", x: []int{1, 2, 4, 4}, w: []int{2, 2, 3, 3},
			attrs: []*graph.Attribute{convAttrStr("auto_pad", "SAME")}, want: "auto_pad \"SAME\""},
		{name: "transpose channels", op: "ConvTranspose", x: []int{1, 2, 4, 4}, w: []int{3, 2, 3, 3}, want: "weight [3 2 3 3] wants 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode(c.op, 13, c.attrs, 1, arg{Name: "x", Value: randF64(1, 0, 1, c.x...)},
				arg{Name: "w", Value: randF64(1, 0, 1, c.w...)})
			_, err := Compile(m, shapes, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// benchConv times forward, input gradient and weight gradient of a float32
// convolution with x (n, c, hw, hw), w (m, c/group, 3, 3), pads 1.
func benchConv(b *testing.B, n, c, m, group, hw, stride int) {
	out := (hw+2-3)/stride + 1
	cd := &convDims{n: n, c: c, m: m, group: group, g: newConvGeom([]int{hw, hw}, []int{out, out}, []int{3, 3},
		[]int{stride, stride}, []int{1, 1}, []int{1, 1}, []int{1, 1})}
	x := toF32(randF64(1, -1, 1, n, c, hw, hw))
	w := toF32(randF64(2, -1, 1, m, c/group, 3, 3))
	xs, _ := Data[float32](x)
	ws, _ := Data[float32](w)
	dy := make([]float32, n*m*out*out)
	for i := range dy {
		dy[i] = float32(i%7) - 3
	}
	flops := 2 * float64(n*m*out*out*(c/group)*9)
	y, dx, dw := make([]float32, len(dy)), make([]float32, len(xs)), make([]float32, len(ws))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		convForward(xs, ws, nil, cd, y)
		convBackwardData(dy, ws, cd, dx)
		convBackwardWeight(dy, xs, cd, dw)
	}
	b.ReportMetric(3*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkConv3x3_b16_c64_16px(b *testing.B)          { benchConv(b, 16, 64, 64, 1, 16, 1) }
func BenchmarkConv3x3_b16_c256_4px(b *testing.B)          { benchConv(b, 16, 256, 256, 1, 4, 1) }
func BenchmarkConv3x3_b8_c64_56px(b *testing.B)           { benchConv(b, 8, 64, 64, 1, 56, 1) }
func BenchmarkConvDepthwise3x3_b16_c96_28px(b *testing.B) { benchConv(b, 16, 96, 96, 96, 28, 1) }

// TestConvSampleSplit: the forward and input-gradient passes that split the
// batch across cores (with serial GEMMs), the inference forward with its
// weights packed at compile time, and the training forward that keeps its
// im2col matrix, agree with the one-range computation.
func TestConvSampleSplit(t *testing.T) {
	n, c, m, hw := 5, 16, 12, 24
	for _, stride := range []int{1, 2} {
		out := (hw+2-3)/stride + 1
		cd := &convDims{n: n, c: c, m: m, group: 1, g: newConvGeom([]int{hw, hw}, []int{out, out}, []int{3, 3},
			[]int{stride, stride}, []int{1, 1}, []int{1, 1}, []int{1, 1})}
		if n*m*out*out*c*9 < 1<<20 {
			t.Fatalf("stride %d: too small to split", stride)
		}
		xs, _ := Data[float32](toF32(randF64(1, -1, 1, n, c, hw, hw)))
		ws, _ := Data[float32](toF32(randF64(2, -1, 1, m, c, 3, 3)))
		bs, _ := Data[float32](toF32(randF64(3, -1, 1, m)))
		dy, _ := Data[float32](toF32(randF64(4, -1, 1, n, m, out, out)))
		close := func(what string, got, want []float32) {
			t.Helper()
			for i := range want {
				if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("stride %d: %s element %d: %v, want %v", stride, what, i, got[i], want[i])
				}
			}
		}
		want := make([]float32, n*m*out*out)
		convForwardRange(xs, ws, bs, cd, want, 0, n, false)
		got := make([]float32, len(want))
		convForward(xs, ws, bs, cd, got)
		close("forward", got, want)
		packed := *cd
		packed.packed = gemm.PackA(false, m, c*9, ws, c*9)
		clear(got)
		convForward(xs, ws, bs, &packed, got)
		close("forward with weights packed beforehand", got, want)
		cached := *cd
		cached.cols = &convCols{}
		clear(got)
		convForwardCached(xs, ws, bs, &cached, got)
		close("kept im2col forward", got, want)
		if cached.cols.lookup(xs) == nil {
			t.Fatalf("stride %d: the im2col matrix was not kept", stride)
		}
		dw, dwKept := make([]float32, len(ws)), make([]float32, len(ws))
		convBackwardWeight(dy, xs, cd, dw)
		convBackwardWeightCached(dy, cached.cols.lookup(xs), cd, dwKept)
		close("weight gradient from the kept im2col", dwKept, dw)
		wantDx := make([]float32, len(xs))
		convBackwardDataRange(dy, ws, cd, wantDx, 0, n, false)
		gotDx := make([]float32, len(xs))
		for i := range gotDx {
			gotDx[i] = float32(i) // must be overwritten
		}
		convBackwardData(dy, ws, cd, gotDx)
		close("input gradient", gotDx, wantDx)
	}
}
