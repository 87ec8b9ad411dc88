package ops

import (
	"math"
	"slices"
	"testing"
)

// dwCases are depthwise convolutions the in-place kernels take (plan
// true: contiguous loads for stride 1, gathers otherwise) or leave to the
// direct loops (plan false), with MobileNetV2's shapes among them.
var dwCases = []struct {
	dc                  directCase
	plan, contig, pairs bool
}{
	{directCase{"mbv2_32px_s1", 2, 8, 8, 8, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, true, true, false},
	{directCase{"mbv2_32px_s2", 2, 3, 3, 3, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)}, true, false, true},
	{directCase{"mbv2_16px_s2", 2, 6, 6, 6, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)}, true, false, true},
	{directCase{"mbv2_8px_s1", 3, 5, 5, 5, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, true, true, false},
	{directCase{"mbv2_8px_s2", 3, 5, 5, 5, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)}, true, false, false},
	{directCase{"mbv2_4px_s1", 3, 6, 6, 6, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, true, true, false},
	{directCase{"mbv2_4px_s2", 3, 8, 8, 8, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)}, true, false, false},
	{directCase{"mbv2_2px_s1", 3, 12, 12, 12, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, true, true, false},
	{directCase{"mbv2_2px_s2_1px", 2, 16, 16, 16, two(2, 2), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)}, true, false, false},
	{directCase{"effb0_5x5_4px_s1", 2, 6, 6, 6, two(4, 4), two(5, 5), two(1, 1), two(1, 1), two(2, 2), two(2, 2)}, true, true, false},
	{directCase{"effb0_5x5_16px_s2", 2, 3, 3, 3, two(16, 16), two(5, 5), two(2, 2), two(1, 1), two(2, 2), two(2, 2)}, true, false, true},
	{directCase{"asym_pads_dilated", 2, 3, 3, 3, two(12, 14), two(3, 3), two(1, 1), two(2, 2), two(1, 3), two(3, 1)}, true, true, false},
	{directCase{"wide_rows_s1", 2, 2, 2, 2, two(3, 40), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, true, true, false},
	{directCase{"1d_s1", 3, 4, 4, 4, []int{16}, []int{3}, []int{1}, []int{1}, []int{1}, []int{1}}, true, true, false},
	{directCase{"1d_s2", 3, 4, 4, 4, []int{32}, []int{5}, []int{2}, []int{1}, []int{2}, []int{2}}, true, false, true},
	{directCase{"no_pad_4px_to_2px", 2, 8, 8, 8, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(0, 0), two(0, 0)}, true, false, false},
	{directCase{"odd_plane", 2, 8, 8, 8, two(7, 7), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, false, false, false},
	{directCase{"2px_channels_odd", 2, 5, 5, 5, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, false, false, false},
	{directCase{"multiplier2", 2, 4, 8, 4, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)}, false, false, false},
	{directCase{"3d", 2, 2, 2, 2, []int{2, 4, 4}, []int{1, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{0, 1, 1}, []int{0, 1, 1}}, false, false, false},
}

// TestDWMatchesDirect checks the in-place depthwise kernels against the
// direct loops they replace, bit for bit: with and without a bias, with
// the fused Relu and Clip (and the Clip's recorded hits), large enough
// batches to split across the cores.
func TestDWMatchesDirect(t *testing.T) {
	var ran16 []string
	for _, c := range dwCases {
		t.Run(c.dc.name, func(t *testing.T) {
			cd := c.dc.dims()
			p := newDWPlan(&cd.g, cd.c, 8)
			if cd.m != cd.c {
				p = nil
			}
			if (p != nil) != c.plan {
				t.Fatalf("plan %v, want one: %v", p != nil, c.plan)
			}
			if p == nil {
				return
			}
			if p.contig != c.contig || p.pairs != c.pairs {
				t.Fatalf("contiguous plan %v, of pairs %v, want %v and %v", p.contig, p.pairs, c.contig, c.pairs)
			}
			if !dwAsm {
				t.Skip("no in-place kernels in this build")
			}
			lanes := []int{8}
			if p16 := newDWPlan(&cd.g, cd.c, 16); dw512 && p16 != nil && (p16.contig || p16.pairs) {
				lanes = append(lanes, 16)
				ran16 = append(ran16, c.dc.name)
			}
			for _, vl := range lanes {
				old := dwLanes
				dwLanes = vl
				dwCompare(t, cd, vl)
				dwLanes = old
			}
		})
	}
	if dw512 && len(ran16) < 8 {
		t.Errorf("the 16-lane kernels ran %v only", ran16)
	}
	t.Logf("16 lanes: %v", ran16)
}

// dwCompare runs the in-place kernels and the direct loops on cd (vl lanes
// the plan), with random data, and compares.
func dwCompare(t *testing.T, cd *convDims, vl int) {
	t.Helper()
	K := cd.g.kSize()
	x := to32(must(Data[float64](randF64(1, -3, 3, cd.n*cd.c*cd.g.inSize()))))
	w := to32(must(Data[float64](randF64(2, -1, 1, cd.m, K))))
	b := to32(must(Data[float64](randF64(3, -1, 1, cd.m))))
	// Exact hits on the Clip's lower bound: channel 1's weights are
	// zero, so its output is its bias (or 0) throughout.
	clear(w[K : 2*K])
	for _, v := range []struct {
		name string
		b    []float32
		relu bool
		clip bool
	}{{"bias", b, false, false}, {"no_bias", nil, false, false}, {"relu", b, true, false}, {"clip", b, false, true}} {
		run := func(disabled bool) ([]float32, []int) {
			old := dwDisabled
			dwDisabled = disabled
			defer func() { dwDisabled = old }()
			return runEpilogue(cd, v.b, v.relu, v.clip, func(e *convDims, y []float32) { convDirectForward(x, w, v.b, e, y) })
		}
		want, wantHits := run(true)
		got, gotHits := run(false)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] == 0 && want[i] == 0) {
				t.Fatalf("%d lanes, %s: element %d is %v, the direct loops give %v", vl, v.name, i, got[i], want[i])
			}
		}
		if v.clip && len(wantHits) == 0 {
			t.Fatal("no Clip hit to compare")
		}
		if !slices.Equal(gotHits, wantHits) {
			t.Fatalf("%d lanes, %s: %d Clip hits recorded (first %v), the direct loops record %d (%v)", vl, v.name, len(gotHits), gotHits[:min(4, len(gotHits))], len(wantHits), wantHits[:min(4, len(wantHits))])
		}
	}
}

// epiVariant is one way of ending a convolution the epilogue tests run:
// with bias b or none, and a fused Relu or Clip (runEpilogue's).
type epiVariant struct {
	name       string
	b          []float32
	relu, clip bool
}

// epiVariants returns the variants: bias, no bias, Relu, Clip, and Clip
// without a bias.
func epiVariants(b []float32) []epiVariant {
	return []epiVariant{{"bias", b, false, false}, {"no_bias", nil, false, false}, {"relu", b, true, false},
		{"clip", b, false, true}, {"clip_no_bias", nil, false, true}}
}

// runEpilogue runs fwd with cd's epilogue set to Relu or a Clip (lower
// bound the bias of channel 1, or 0; upper 0.5) into an output full of NaNs,
// and returns it with the Clip's recorded hits, sorted.
func runEpilogue(cd *convDims, b []float32, relu, clip bool, fwd func(e *convDims, y []float32)) ([]float32, []int) {
	e := *cd
	e.relu = relu
	if clip {
		e.clip = &clipEpi{lo: 0, hi: 0.5}
		if b != nil {
			e.clip.lo = float64(b[1])
		}
	}
	y := make([]float32, cd.n*cd.m*cd.g.outSize())
	for i := range y {
		y[i] = float32(math.NaN())
	}
	if e.clip == nil {
		fwd(&e, y)
		return y, nil
	}
	e.clip.start(Dense([]int{len(y)}, y))
	fwd(&e, y)
	slices.Sort(e.clip.hits)
	return y, e.clip.hits
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
