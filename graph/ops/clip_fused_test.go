package ops

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// clipChain is x -> Conv(w, b) -> Clip(lo, hi) -> BatchNormalization ->
// Clip(lo, hi), the bounds from a Constant node (lo) and an initializer
// (hi), in float32 or float64. Output channels 0 and 1 of the Conv have
// zero weights and the biases lo and hi, so their values sit exactly on a
// bound (where Clip's gradient passes) unless smooth is set (finite
// differences need the chain differentiable). exposed adds the Conv's and the
// BatchNormalization's outputs as graph outputs, which keeps both Clips
// nodes of their own.
func clipChain(exposed, smooth bool, dt tensor.Dtype) (*graph.Model, map[string][]int, []arg) {
	const lo, hi = -0.5, 0.75
	w := randF64(3, -1, 1, 4, 3, 3, 3)
	b := randF64(4, -1, 1, 4)
	if !smooth {
		wd, _ := Data[float64](w)
		clear(wd[:2*27])
		bd, _ := Data[float64](b)
		bd[0], bd[1] = lo, hi
	}
	// BatchNormalization keeps those two channels inside the bounds.
	scale, bias := randF64(5, 0.5, 1.5, 4), randF64(6, -0.5, 0.5, 4)
	sd, _ := Data[float64](scale)
	sd[0], sd[1] = 0.5, 0.5
	bs, _ := Data[float64](bias)
	bs[0], bs[1] = 0.3, 0
	args := []arg{
		{Name: "x", Value: randF64(1, -1, 1, 2, 3, 5, 5)},
		{Name: "w", Value: w},
		{Name: "b", Value: b},
		{Name: "scale", Value: scale},
		{Name: "bias", Value: bias},
		{Name: "mean", Value: randF64(7, -0.2, 0.2, 4), Const: true},
		{Name: "var", Value: randF64(8, 0.5, 1.5, 4), Const: true},
		{Name: "hi", Value: tensor.New(tensor.FromScalar(float64(hi))), Const: true},
	}
	if dt == tensor.Float32 {
		for i := range args {
			args[i].Value = clipF32(args[i].Value)
		}
	}
	var loT *tensor.Dense
	if dt == tensor.Float32 {
		loT = tensor.New(tensor.FromScalar(float32(lo)))
	} else {
		loT = tensor.New(tensor.FromScalar(float64(lo)))
	}
	nodes := []*graph.Node{
		{Name: "lo", OpType: "Constant", Outputs: []string{"lo"},
			Attrs: []*graph.Attribute{{Name: "value", Type: graph.AttrTensor, T: irTensor("lo", loT)}}},
		{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y1"},
			Attrs: []*graph.Attribute{attrInts("pads", 1, 1, 1, 1)}},
		{Name: "clip1", OpType: "Clip", Inputs: []string{"y1", "lo", "hi"}, Outputs: []string{"c1"}},
		{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"c1", "scale", "bias", "mean", "var"}, Outputs: []string{"y2"}},
		{Name: "clip2", OpType: "Clip", Inputs: []string{"y2", "lo", "hi"}, Outputs: []string{"c2"}},
	}
	outs := []string{"c2"}
	if exposed {
		outs = append(outs, "y1", "y2")
	}
	m, shapes := chainModel(13, args, nodes, outs...)
	return m, shapes, args
}

// chainLossWeights are chainRunGrads's fixed weights w: the gradient of its
// loss with respect to the output.
func chainLossWeights[T Float](n int) []T {
	wr := rand.New(rand.NewSource(99))
	w := make([]T, n)
	for i := range w {
		w[i] = T(wr.Float64()*2 - 1)
	}
	return w
}

func clipF32(t *tensor.Dense) *tensor.Dense {
	v, _ := Data[float64](t)
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	if t.Shape().IsScalar() {
		return tensor.New(tensor.FromScalar(f[0]))
	}
	return Dense(Shape(t), f)
}

// chainRunGrads compiles m, runs it with the gradients of sum(w * out0)
// (w fixed) with respect to every non-constant input, and returns the
// first output, those gradients, and the count of kernels by label.
func chainRunGrads[T Float](t *testing.T, m *graph.Model, shapes map[string][]int, args []arg, train bool) ([]T, [][]T, map[string]int) {
	t.Helper()
	p, err := Compile(m, shapes, Options{Train: train})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := p.Outputs[0]
	w := chainLossWeights[T](out.Size())
	dt := out.DType
	loss, err := NewNode(p.Graph, "loss", Spec{Name: "WeightedSum", Shape: []int{}, DType: dt,
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			y, _ := Data[T](in[0])
			var s T
			for i := range y {
				s += y[i] * w[i]
			}
			return tensor.New(tensor.FromScalar(s)), nil
		},
		WRT: []bool{true},
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), "lossgrad", Spec{Name: "WeightedSumGrad", Shape: out.Shape, DType: dt,
				Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
					g, _ := Data[T](in[0])
					r := make([]T, len(w))
					for i := range r {
						r[i] = g[0] * w[i]
					}
					return Dense(out.Shape, r), nil
				}}, grad)
			return G.Nodes{n}, err
		}}, out.Node)
	if err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	for _, a := range args {
		if !a.Const {
			wrt = append(wrt, p.Inputs[a.Name])
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for _, a := range args {
		if !a.Const {
			if err := G.Let(p.Inputs[a.Name], a.Value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	od, err := asDense(out.Node.Value())
	if err != nil {
		t.Fatal(err)
	}
	y, _ := Data[T](od)
	y = append([]T(nil), y...)
	gs := make([][]T, len(grads))
	for i, g := range grads {
		d, err := asDense(g.Value())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := Data[T](d)
		gs[i] = append([]T(nil), v...)
	}
	labels := map[string]int{}
	for _, n := range p.Graph.AllNodes() {
		if n.Op() != nil {
			labels[kernelName(n.Op().String())]++
		}
	}
	return y, gs, labels
}

// TestClipFusion: a Clip with constant bounds runs inside the Conv or
// BatchNormalization before it, with the same outputs and gradients
// (bit for bit, values on the bounds included) as the unfused chain, in
// float32 and float64, for inference and training; and the fused kernels'
// gradients agree with finite differences.
func TestClipFusion(t *testing.T) {
	fm, _, _ := clipChain(false, false, tensor.Float64)
	if f := reluFusions(fm.Graph, NewRegistry()); len(f) != 4 {
		t.Errorf("reluFusions found %d nodes, want 4 (the Conv, the BatchNormalization and their Clips)", len(f))
	}
	um, _, _ := clipChain(true, false, tensor.Float64)
	if f := reluFusions(um.Graph, NewRegistry()); len(f) != 0 {
		t.Errorf("reluFusions fused %d nodes whose output is a graph output", len(f))
	}
	for _, train := range []bool{false, true} {
		name := map[bool]string{false: "inference", true: "training"}[train]
		t.Run(name+"/float64", func(t *testing.T) { clipFusionSame[float64](t, tensor.Float64, train) })
		t.Run(name+"/float32", func(t *testing.T) { clipFusionSame[float32](t, tensor.Float32, train) })
	}
	m, shapes, args := clipChain(false, true, tensor.Float64)
	gradCheckModel(t, m, shapes, args)
}

func clipFusionSame[T Float](t *testing.T, dt tensor.Dtype, train bool) {
	fm, shapes, args := clipChain(false, false, dt)
	um, _, _ := clipChain(true, false, dt)
	fy, fg, fl := chainRunGrads[T](t, fm, shapes, args, train)
	uy, ug, ul := chainRunGrads[T](t, um, shapes, args, train)
	bn := "BatchNormalization"
	if fl["ConvClip"] != 1 || fl["BatchNormClip"] != 1 || fl["Clip"] != 0 {
		t.Errorf("fused program's kernels: %v", fl)
	}
	if ul["Conv"] != 1 || ul[bn] != 1 || ul["Clip"] != 2 {
		t.Errorf("unfused program's kernels: %v", ul)
	}
	for i := range fy {
		if fy[i] != uy[i] {
			t.Fatalf("output %d: fused %v, unfused %v", i, fy[i], uy[i])
		}
	}
	for k := range fg {
		for i := range fg[k] {
			if fg[k][i] != ug[k][i] {
				t.Fatalf("gradient of input %d, element %d: fused %v, unfused %v", k, i, fg[k][i], ug[k][i])
			}
		}
	}
	// Channels 0 and 1 sit on the bounds: their weights' gradients are
	// non-zero only if the exact hits pass the gradient.
	for ch := 0; ch < 2; ch++ {
		if countNonZero(fg[1][ch*27:(ch+1)*27]) == 0 {
			t.Errorf("no gradient reached the weights of channel %d, on a bound", ch)
		}
	}
}

func countNonZero[T Float](v []T) int {
	n := 0
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	return n
}

// TestClipEpiApply: the fused clamp and its gradient agree with Clip's
// kernels on the awkward values: NaN, signed zeros, infinities, the bounds,
// in float32 and float64.
func TestClipEpiApply(t *testing.T) {
	nan := math.NaN()
	xs := []float64{nan, -nan, math.Inf(-1), math.Inf(1), 0, math.Copysign(0, -1), -1, -0.5, 0.25, 6, 7, 6.0000001, -1e-30, 1e-30}
	for _, b := range [][2]float64{{0, 6}, {-0.5, 6}, {-2, -1}, {1, 1}} {
		clipEpiSame[float32](t, b, xs)
		clipEpiSame[float64](t, b, xs)
	}
	// Long runs (the AVX2 loops take blocks of 8), a few values on the
	// bounds among them.
	r := rand.New(rand.NewSource(3))
	for _, n := range []int{8, 13, 64, 100, 1003} {
		for _, hits := range []int{0, 1, 5} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(float32(r.Float64()*10 - 2))
			}
			for range hits {
				v[r.Intn(n)] = []float64{0, 6, nan}[r.Intn(3)]
			}
			clipEpiSame[float32](t, [2]float64{0, 6}, v)
			clipEpiSame[float64](t, [2]float64{0, 6}, v)
		}
	}
}

func clipEpiSame[T Float](t *testing.T, b [2]float64, xs []float64) {
	t.Helper()
	x := make([]T, len(xs))
	for i, v := range xs {
		x[i] = T(v)
	}
	lo, hi := T(b[0]), T(b[1])
	cs := clipSpec{lo: true, hi: true, loC: tensor.New(tensor.FromScalar(lo)), hiC: tensor.New(tensor.FromScalar(hi))}
	xt := Dense([]int{len(x)}, append([]T(nil), x...))
	want, err := clipOf[T](cs)([]*tensor.Dense{xt})
	if err != nil {
		t.Fatal(err)
	}
	wy, _ := Data[T](want)
	e := &clipEpi{lo: b[0], hi: b[1]}
	y := Dense([]int{len(x)}, append([]T(nil), x...))
	yd, _ := Data[T](y)
	e.start(y)
	clipEpiApply(e, yd[:5])
	clipEpiApply(e, yd[5:])
	for i := range yd {
		same := yd[i] == wy[i] || (yd[i] != yd[i] && wy[i] != wy[i])
		if !same {
			t.Errorf("%T bounds %v: clip(%v) = %v, Clip says %v", yd[i], b, x[i], yd[i], wy[i])
		}
	}
	dy := make([]T, len(x))
	for i := range dy {
		dy[i] = T(i + 1)
	}
	dyt := Dense([]int{len(x)}, dy)
	wg, err := clipGradOf[T](cs, 0, nil)([]*tensor.Dense{dyt, xt})
	if err != nil {
		t.Fatal(err)
	}
	wgd, _ := Data[T](wg)
	dx := Dense([]int{len(x)}, make([]T, len(x)))
	if err := clipFusedGradInto[T](e)([]*tensor.Dense{dyt, y}, dx); err != nil {
		t.Fatal(err)
	}
	dxd, _ := Data[T](dx)
	for i := range dxd {
		if dxd[i] != wgd[i] {
			t.Errorf("%T bounds %v: gradient at x = %v is %v, Clip's is %v", dxd[i], b, x[i], dxd[i], wgd[i])
		}
	}
}

// TestConvBiasClip32 checks the one-pass bias and Clip of Conv's epilogue
// against the add followed by clipEpiApply: the same bits, and the same
// recorded hits; without a Clip, against the add alone.
func TestConvBiasClip32(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	nan := float32(math.NaN())
	for _, n := range []int{1, 7, 8, 16, 29, 64, 1003} {
		for _, hits := range []int{0, 1, 6} {
			for _, bv := range []float32{0.5, -1.25} {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.Float64()*10 - 3)
				}
				for range hits {
					// Sums on a bound (from either sign of zero), NaN, infinities.
					x[r.Intn(n)] = []float32{-bv, 6 - bv, nan, float32(math.Inf(1)), float32(math.Copysign(0, -1))}[r.Intn(5)]
				}
				want := append([]float32(nil), x...)
				for i := range want {
					want[i] += bv
				}
				plain := make([]float32, n) // from x, into another slice
				convBiasClip32(plain, x, bv, nil)
				for i := range plain {
					if math.Float32bits(plain[i]) != math.Float32bits(want[i]) {
						t.Errorf("n %d: %v + %v without Clip = %v, want %v", n, x[i], bv, plain[i], want[i])
					}
				}
				we := &clipEpi{lo: 0, hi: 6}
				wt := Dense([]int{n}, want)
				we.start(wt)
				clipEpiApply(we, want)
				got := append([]float32(nil), x...)
				ge := &clipEpi{lo: 0, hi: 6}
				ge.start(Dense([]int{n}, got))
				convBiasClip32(got, got, bv, ge)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Errorf("n %d: clip(%v + %v) = %v, want %v", n, x[i], bv, got[i], want[i])
					}
				}
				if !slices.Equal(ge.hits, we.hits) {
					t.Errorf("n %d: hits %v, want %v", n, ge.hits, we.hits)
				}
			}
		}
	}
}

// TestConvSmallPlanesClip runs a 1x1 Conv with 2x2 and 1x3 outputs (planes
// under 8 elements: the bias and Clip over the product's rows) and a fused
// Clip(0, 6), in float32 and float64: the outputs are the clamped sums of
// a plain loop, and the recorded hits are where those sums sit on a bound
// (channel 0 has zero weights and bias 6, channel 1 bias 0).
func TestConvSmallPlanesClip(t *testing.T) {
	for _, hw := range [][2]int{{2, 2}, {1, 3}} {
		t.Run(fmt.Sprintf("%dx%d", hw[0], hw[1]), func(t *testing.T) {
			convSmallPlanesClip[float32](t, hw)
			convSmallPlanesClip[float64](t, hw)
		})
	}
}

func convSmallPlanesClip[T Float](t *testing.T, hw [2]int) {
	t.Helper()
	const n, c, m = 5, 3, 4
	P := hw[0] * hw[1]
	r := rand.New(rand.NewSource(9))
	x, w, b := make([]T, n*c*P), make([]T, m*c), []T{6, 0, 0.5, -1.5}
	for i := range x {
		x[i] = T(float32(r.Float64()*8 - 4))
	}
	for i := c; i < len(w); i++ { // channel 0: zero weights
		w[i] = T(float32(r.Float64()*2 - 1))
	}
	for i := range c { // channel 1: zero weights at sample 0's first position
		x[i*P] = 0
	}
	e := &clipEpi{lo: 0, hi: 6}
	cd := &convDims{n: n, c: c, m: m, group: 1, clip: e, g: newConvGeom(hw[:], hw[:], []int{1, 1},
		[]int{1, 1}, []int{1, 1}, []int{0, 0}, []int{0, 0})}
	y := make([]T, n*m*P)
	e.start(Dense([]int{len(y)}, y))
	convForward(x, w, b, cd, y)
	var want []int
	for s := range n {
		for o := range m {
			for p := range P {
				i := (s*m+o)*P + p
				sum := b[o]
				var acc T
				for ci := range c {
					acc += w[o*c+ci] * x[(s*c+ci)*P+p]
				}
				sum += acc
				if sum == 0 || sum == 6 {
					want = append(want, i)
				}
				if v := min(max(sum, 0), 6); math.Abs(float64(y[i]-v)) > 1e-5 {
					t.Errorf("%T y[%d] = %v, want %v", y[i], i, y[i], v)
				}
			}
		}
	}
	got := slices.Clone(e.hits)
	slices.Sort(got)
	if len(want) < n*P || !slices.Equal(got, want) {
		t.Errorf("%T hits %v, want %v", y[0], got, want)
	}
}
