package ops

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// winoCase is a 3x3 stride-1 convolution for the Winograd tests.
type winoCase struct {
	n, c, m, h, w int
	pb, pe        []int
	limit         int // convWinogradLimit, 0 for the default
}

var winoCases = []winoCase{
	{n: 16, c: 64, m: 64, h: 16, w: 16, pb: two(1, 1), pe: two(1, 1)},                       // ResNet-18's layer 1 at 64px
	{n: 16, c: 32, m: 40, h: 2, w: 2, pb: two(1, 1), pe: two(1, 1)},                         // layer 4's planes: a tile each
	{n: 3, c: 5, m: 7, h: 7, w: 9, pb: two(1, 1), pe: two(1, 1)},                            // odd planes
	{n: 2, c: 3, m: 4, h: 6, w: 5, pb: two(0, 0), pe: two(0, 0)},                            // no padding, odd width
	{n: 4, c: 8, m: 6, h: 6, w: 6, pb: two(2, 1), pe: two(1, 0)},                            // uneven padding
	{n: 2, c: 4, m: 4, h: 1, w: 1, pb: two(1, 1), pe: two(1, 1)},                            // 1x1 planes
	{n: 17, c: 16, m: 12, h: 4, w: 8, pb: two(1, 1), pe: two(1, 1), limit: 16 * 16 * 8 * 3}, // chunks of 3 samples
}

func (c winoCase) String() string {
	return fmt.Sprintf("n%d_c%d_m%d_%dx%d_pad%v%v", c.n, c.c, c.m, c.h, c.w, c.pb, c.pe)
}

// dims returns the case's convDims with its Winograd weights.
func (c winoCase) dims(w []float32) *convDims {
	oh, ow := c.h+c.pb[0]+c.pe[0]-2, c.w+c.pb[1]+c.pe[1]-2
	cd := &convDims{n: c.n, c: c.c, m: c.m, group: 1, g: newConvGeom(two(c.h, c.w), two(oh, ow),
		two(3, 3), two(1, 1), two(1, 1), c.pb, c.pe)}
	if c.limit > 0 {
		old := convWinogradLimit
		convWinogradLimit = c.limit
		defer func() { convWinogradLimit = old }()
	}
	if !convWinogradFits(cd) {
		panic("not a Winograd case: " + c.String())
	}
	cd.wino = newConvWinograd(cd, w)
	return cd
}

func (c winoCase) inputs() (x, w, b []float32) {
	x = to32(must(Data[float64](randF64(1, -2, 2, c.n, c.c, c.h, c.w))))
	w = to32(must(Data[float64](randF64(2, -0.5, 0.5, c.m, c.c, 3, 3))))
	b = to32(must(Data[float64](randF64(3, -1, 1, c.m))))
	b[0] = 0
	// Output channel 1 is its bias throughout: exact hits on the Clip's
	// lower bound (runEpilogue sets it to b[1]).
	clear(w[c.c*9 : 2*c.c*9])
	return x, w, b
}

// convTaps calls f for every product of cd's convolution (3x3 windows):
// the indexes of its output (n, m, out), input (n, c, in) and weight
// (m, c, 3, 3).
func convTaps(cd *convDims, f func(o, i, w int)) {
	g := &cd.g
	H, W, Ho, Wo := g.in[1], g.in[2], g.out[1], g.out[2]
	for s := range cd.n {
		for m := range cd.m {
			for oh := range Ho {
				for ow := range Wo {
					o := ((s*cd.m+m)*Ho+oh)*Wo + ow
					for c := range cd.c {
						for kh := range 3 {
							for kw := range 3 {
								ih, iw := oh+kh-g.pb[1], ow+kw-g.pb[2]
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								f(o, ((s*cd.c+c)*H+ih)*W+iw, ((m*cd.c+c)*3+kh)*3+kw)
							}
						}
					}
				}
			}
		}
	}
}

// convNaive64 is the convolution in float64, straight from its
// definition, and the sum of |w·x| of each output (the scale of its
// rounding errors).
func convNaive64(x, w, b []float32, cd *convDims) (y, mag []float64) {
	P := cd.g.outSize()
	y, mag = make([]float64, cd.n*cd.m*P), make([]float64, cd.n*cd.m*P)
	convTaps(cd, func(o, i, k int) {
		p := float64(w[k]) * float64(x[i])
		y[o] += p
		mag[o] += math.Abs(p)
	})
	if b != nil {
		for o := range y {
			y[o] += float64(b[o/P%cd.m])
		}
	}
	return y, mag
}

// TestWinogradMatchesDefinition checks F(2x2, 3x3) against the
// convolution computed in float64 from its definition: each output within
// 1e-6 of the sum of its products' magnitudes (the direct products' float32
// error, measured by the same yardstick, is logged beside it), with and
// without a bias, the fused Relu and Clip, and the Clip's hits those of
// the direct path.
func TestWinogradMatchesDefinition(t *testing.T) {
	for _, c := range winoCases {
		t.Run(c.String(), func(t *testing.T) {
			x, w, b := c.inputs()
			cd := c.dims(w)
			direct := *cd
			direct.wino = nil
			ref, mag := convNaive64(x, w, b, cd)
			for _, v := range epiVariants(b) {
				got, gotHits := runEpilogue(cd, v.b, v.relu, v.clip, func(e *convDims, y []float32) { e.wino.forward(x, v.b, e, y) })
				want, wantHits := runEpilogue(&direct, v.b, v.relu, v.clip, func(e *convDims, y []float32) { convForward(x, w, v.b, e, y) })
				ref := ref
				if v.b == nil {
					ref = slices.Clone(ref)
					for i := range ref {
						ref[i] -= float64(b[i/cd.g.outSize()%cd.m])
					}
				}
				var worst, worstDirect float64
				for i, r := range ref {
					switch {
					case v.relu:
						r = max(r, 0)
					case v.clip:
						lo := 0.0
						if v.b != nil {
							lo = float64(v.b[1])
						}
						r = min(max(r, lo), 0.5)
					}
					scale := mag[i] + 1e-30
					worst = max(worst, math.Abs(float64(got[i])-r)/scale)
					worstDirect = max(worstDirect, math.Abs(float64(want[i])-r)/scale)
					if math.IsNaN(float64(got[i])) {
						t.Fatalf("%s: output %d is NaN", v.name, i)
					}
				}
				t.Logf("%s: largest error %.2g of the products' magnitude (direct products %.2g)", v.name, worst, worstDirect)
				if worst > 1e-6 {
					t.Fatalf("%s: Winograd output off by %.3g of its products' magnitude, over 1e-6", v.name, worst)
				}
				if v.clip && len(wantHits) == 0 {
					t.Fatal("no Clip hit to compare")
				}
				if !slices.Equal(gotHits, wantHits) {
					t.Fatalf("%s: %d Clip hits recorded, the direct path records %d", v.name, len(gotHits), len(wantHits))
				}
			}
		})
	}
}

// TestWinogradAsmMatchesGo checks the AVX2 transforms against the Go
// loops they replace, bit for bit (the values of every output, -0 and
// NaN included), with tiles in groups of 8 and a tail.
func TestWinogradAsmMatchesGo(t *testing.T) {
	if !winoAsm {
		t.Skip("this CPU (or build) has no AVX2 transforms: the Go loops run alone")
	}
	for _, c := range winoCases {
		t.Run(c.String(), func(t *testing.T) {
			x, w, b := c.inputs()
			// Specials: a NaN, infinities and a -0 input, and an output
			// plane whose sums are -0 (zero weights, no bias).
			x[3], x[len(x)/2], x[len(x)-5], x[7] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1))
			cd := c.dims(w)
			for _, v := range []struct {
				name string
				b    []float32
				relu bool
			}{{"bias", b, false}, {"no_bias", nil, false}, {"relu", b, true}, {"relu_no_bias", nil, true}} {
				run := func(asm bool) []float32 {
					old := winoAsm
					winoAsm = asm
					defer func() { winoAsm = old }()
					y, _ := runEpilogue(cd, v.b, v.relu, false, func(e *convDims, y []float32) { e.wino.forward(x, v.b, e, y) })
					return y
				}
				want, got := run(false), run(true)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: output %d is %v (%#x), the Go loops give %v (%#x)", v.name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		})
	}
}

// TestWinogradChoice checks which convolutions take F(2x2, 3x3): 3x3,
// stride 1, dilation 1, one group, 2-D, and planes whose V fits
// convWinogradMax; in training, only where the batch has at least twice as
// many tiles as channels.
func TestWinogradChoice(t *testing.T) {
	dims := func(n, c, m, h, k, s, d, group int) *convDims {
		o := (h+2-d*(k-1)-1)/s + 1
		return &convDims{n: n, c: c, m: m, group: group, g: newConvGeom(two(h, h), two(o, o), two(k, k), two(s, s), two(d, d), two(1, 1), two(1, 1))}
	}
	// infer: inference takes F(2x2, 3x3); train: training does too (the
	// batch has at least twice as many tiles as channels).
	for _, c := range []struct {
		name         string
		cd           *convDims
		infer, train bool
	}{
		{"resnet_layer1", dims(16, 64, 64, 16, 3, 1, 1, 1), true, true},
		{"resnet_layer2", dims(16, 128, 128, 8, 3, 1, 1, 1), true, true},
		{"resnet_layer3", dims(16, 256, 256, 4, 3, 1, 1, 1), true, false},
		{"resnet_layer4", dims(16, 512, 512, 2, 3, 1, 1, 1), true, false},
		{"resnet_layer2_b4", dims(4, 128, 128, 8, 3, 1, 1, 1), true, false},
		{"stride2", dims(16, 64, 128, 16, 3, 2, 1, 1), false, false},
		{"dilation2", dims(2, 8, 8, 16, 3, 1, 2, 1), false, false},
		{"5x5", dims(2, 8, 8, 16, 5, 1, 1, 1), false, false},
		{"groups", dims(2, 8, 8, 16, 3, 1, 1, 2), false, false},
		{"1d", &convDims{n: 2, c: 4, m: 4, group: 1, g: newConvGeom([]int{9}, []int{9}, []int{3}, []int{1}, []int{1}, []int{1}, []int{1})}, false, false},
		{"huge_planes", dims(1, 64, 64, 1024, 3, 1, 1, 1), false, false},
		// Conv3d, a (1, 3, 3) window over one input plane with depth
		// padding: three output planes, or one of padding at depth stride 3.
		{"3d_depth_padded", &convDims{n: 2, c: 4, m: 5, group: 1, g: newConvGeom([]int{1, 9, 9}, []int{3, 9, 9}, []int{1, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1})}, false, false},
		{"3d_depth_padded_s3", &convDims{n: 2, c: 4, m: 5, group: 1, g: newConvGeom([]int{1, 9, 9}, []int{1, 9, 9}, []int{1, 3, 3}, []int{3, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1})}, false, false},
		{"3d_one_plane", &convDims{n: 2, c: 4, m: 5, group: 1, g: newConvGeom([]int{1, 9, 9}, []int{1, 9, 9}, []int{1, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{0, 1, 1}, []int{0, 1, 1})}, true, true},
	} {
		infer := convWinogradFits(c.cd)
		if infer != c.infer {
			t.Errorf("%s: Winograd %v, want %v", c.name, infer, c.infer)
		}
		if train := infer && convWinogradTrains(c.cd); train != c.train {
			t.Errorf("training %s: Winograd %v, want %v", c.name, train, c.train)
		}
	}
}

// TestWinogradTrainMatchesDefinition checks training's F(2x2, 3x3), its
// weights transformed and packed at each run: the forward pass after two
// different sets of weights (the second must replace the first), the data
// gradient through the adjoint convolution and the weight gradient
// (F(3x3, 2x2)), against float64 sums from the definition, within 4e-6 of
// the products' magnitudes (the gradients' sums run over transformed
// values up to a few times a product's size: up to 1e-6 seen, 1.9e-7 for
// the forward pass).
func TestWinogradTrainMatchesDefinition(t *testing.T) {
	for _, c := range winoCases {
		t.Run(c.String(), func(t *testing.T) {
			x, w, b := c.inputs()
			cd := c.dims(w)
			cd.wino = nil
			if c.limit > 0 {
				old := convWinogradLimit
				convWinogradLimit = c.limit
				defer func() { convWinogradLimit = old }()
			}
			wg := newConvWinogradTrain(cd)
			check := func(what string, got []float32, ref, mag []float64) {
				t.Helper()
				var worst float64
				for i, r := range ref {
					worst = max(worst, math.Abs(float64(got[i])-r)/(mag[i]+1e-30))
				}
				t.Logf("%s: largest error %.2g of the products' magnitude", what, worst)
				if worst > 4e-6 || math.IsNaN(worst) {
					t.Fatalf("%s: off by %.3g of the products' magnitude, over 4e-6", what, worst)
				}
			}
			// Forward, with w then with other weights.
			w2 := to32(must(Data[float64](randF64(4, -0.5, 0.5, c.m, c.c, 3, 3))))
			for i, wi := range [][]float32{w, w2} {
				y := make([]float32, c.n*c.m*cd.g.outSize())
				wg.setWeights(wi, cd)
				wg.forward(x, b, cd, y)
				ref, mag := convNaive64(x, wi, b, cd)
				check(fmt.Sprintf("forward, weights %d", i+1), y, ref, mag)
			}
			// The data gradient: dx = conv(dy, W') with the adjoint's padding.
			adj := &convDims{n: c.n, c: c.m, m: c.c, group: 1, g: convGeom{in: cd.g.out, out: cd.g.in, k: cd.g.k, s: cd.g.s, d: cd.g.d}}
			for i := range 3 {
				adj.g.pb[i], adj.g.pe[i] = cd.g.k[i]-1-cd.g.pb[i], cd.g.k[i]-1-cd.g.pe[i]
			}
			if !convWinogradFits(adj) {
				t.Fatal("the adjoint convolution is not one F(2x2, 3x3) does")
			}
			adj.winoTrain = newConvWinogradTrain(adj)
			dy := to32(must(Data[float64](randF64(5, -1, 1, c.n, c.m, cd.g.out[1], cd.g.out[2]))))
			dx := make([]float32, len(x))
			convBackwardDataAdjoint(dy, w, cd, adj, dx)
			// Its definition: dx[s,c,ih,iw] = Σ dy[s,m,oh,ow]·w[m,c,kh,kw], ih = oh+kh-pb.
			ref, mag := make([]float64, len(dx)), make([]float64, len(dx))
			convTaps(cd, func(o, i, k int) {
				p := float64(dy[o]) * float64(w[k])
				ref[i] += p
				mag[i] += math.Abs(p)
			})
			check("data gradient", dx, ref, mag)
			// The weight gradient: dw[m,c,kh,kw] = Σ dy[s,m,oh,ow]·x[s,c,oh+kh-pb,ow+kw-pb].
			dw := make([]float32, len(w))
			wg.weightGrad(dy, x, cd, dw)
			ref, mag = make([]float64, len(dw)), make([]float64, len(dw))
			convTaps(cd, func(o, i, k int) {
				p := float64(dy[o]) * float64(x[i])
				ref[k] += p
				mag[k] += math.Abs(p)
			})
			check("weight gradient", dw, ref, mag)
		})
	}
}

// TestWinogradGradAsmMatchesGo checks winoGradAVX2 against the Go loop of
// gradTiles bit for bit (NaN, ±Inf and -0 among dy), the tiles of each
// group of 8 where winoInputAVX2 puts them (0 2 4 6 1 3 5 7).
func TestWinogradGradAsmMatchesGo(t *testing.T) {
	if !winoAsm {
		t.Skip("this CPU (or build) has no AVX2 transforms: the Go loops run alone")
	}
	pos := [8]int{0, 4, 1, 5, 2, 6, 3, 7}
	for _, c := range winoCases {
		t.Run(c.String(), func(t *testing.T) {
			_, w, _ := c.inputs()
			cd := c.dims(w)
			wg := cd.wino
			cnt := min(wg.nb, c.n)
			T := cnt * wg.th * wg.tw
			// dy as the even planes the offsets address (y itself or the
			// uncropped planes).
			size := int(wg.out[T-1]) + 2*2*wg.tw + 2
			d := to32(must(Data[float64](randF64(6, -3, 3, size))))
			d[1], d[5], d[2*wg.tw], d[size/2] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1)), float32(math.Inf(-1))
			ms := T + 16
			run := func(asm bool) []float32 {
				old := winoAsm
				winoAsm = asm
				defer func() { winoAsm = old }()
				dm := make([]float32, 16*ms)
				wg.gradTiles(d, dm, ms, T)
				return dm
			}
			want, got := run(false), run(true)
			groups := T &^ 7
			for xi := range 16 {
				for k := range T {
					at := k
					if k < groups {
						at = k&^7 + pos[k&7]
					}
					g, w := got[xi*ms+at], want[xi*ms+k]
					if math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("dM_%d of tile %d is %v (%#x), the Go loop gives %v (%#x)", xi, k, g, math.Float32bits(g), w, math.Float32bits(w))
					}
				}
			}
		})
	}
}
