package ops

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"slices"
	"testing"
	"time"

	"gorgonia.org/tensor"
)

// TestLSTMFloat32Split checks the float32 LSTM that splits each step's
// units across cores (lstmForward32, lstmBackward32) against the float64
// kernels, which run the generic step loops: the pack (outputs and cache)
// and every input's gradient, for forward, reverse and bidirectional LSTMs
// with initial states, peepholes and layout 1, on 2 and 3 slices.
func TestLSTMFloat32Split(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct {
		dirs          int
		reverse       bool
		layout        int
		bias, states  bool
		peep          bool
		procs, H      int
		T, B, I       int
		wantFastSplit int
	}{
		{dirs: 1, bias: true, procs: 2, H: 70, T: 5, B: 3, I: 4, wantFastSplit: 2},
		{dirs: 1, reverse: true, states: true, procs: 2, H: 64, T: 4, B: 2, I: 3, wantFastSplit: 2},
		{dirs: 2, layout: 1, bias: true, states: true, peep: true, procs: 3, H: 96, T: 3, B: 5, I: 2, wantFastSplit: 3},
		{dirs: 1, bias: true, peep: true, procs: 1, H: 8, T: 3, B: 2, I: 2, wantFastSplit: 1},
		{dirs: 1, bias: true, states: true, procs: 2, H: 64, T: 0, B: 2, I: 2, wantFastSplit: 2}, // no steps
	}
	for k, tc := range cases {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			runtime.GOMAXPROCS(tc.procs)
			if n := len(lstmSlices(tc.H)) - 1; n != tc.wantFastSplit {
				t.Fatalf("%d slices of %d units, want %d", n, tc.H, tc.wantFastSplit)
			}
			c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse,
				layout: tc.layout, T: tc.T, B: tc.B, I: tc.I, iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1}
			for range tc.dirs {
				var acts []rnnAct
				for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
					a, _ := rnnActivation(n, 0, 0)
					acts = append(acts, a)
				}
				c.acts = append(c.acts, acts)
			}
			r := rand.New(rand.NewSource(int64(k + 1)))
			gh := 4 * tc.H
			sizes := []int{tc.T * tc.B * tc.I, tc.dirs * gh * tc.I, tc.dirs * gh * tc.H}
			add := func(pos *int, n int) {
				*pos = len(sizes)
				sizes = append(sizes, n)
			}
			if tc.bias {
				add(&c.iB, tc.dirs*2*gh)
			}
			if tc.states {
				add(&c.iH, tc.dirs*tc.B*tc.H)
				add(&c.iC, tc.dirs*tc.B*tc.H)
			}
			if tc.peep {
				add(&c.iP, tc.dirs*3*tc.H)
			}
			c.nIn = len(sizes)
			in64 := make([][]float64, len(sizes))
			for i, n := range sizes {
				scale := 0.7
				if i == 2 {
					scale = 1 / math.Sqrt(float64(tc.H)) // keep the gates off saturation
				}
				in64[i] = make([]float64, n)
				for j := range in64[i] {
					in64[i][j] = float64(float32(scale * (2*r.Float64() - 1)))
				}
			}
			dpack := make([]float64, c.packSize())
			for j := range dpack[:c.offCache()] {
				dpack[j] = float64(float32(2*r.Float64() - 1))
			}
			pack64, grad64 := lstmRun[float64](t, c, sizes, in64, dpack)
			pack32, grad32 := lstmRun[float32](t, c, sizes, in64, dpack)
			check := func(what string, got, want []float64, tol float64) {
				t.Helper()
				worst, at := 0.0, 0
				for i := range want {
					if e := math.Abs(got[i]-want[i]) / max(1, math.Abs(want[i])); e > worst {
						worst, at = e, i
					}
				}
				if worst > tol {
					t.Errorf("%s[%d] = %v, float64 gives %v (error %.3g, want at most %g)", what, at, got[at], want[at], worst, tol)
				}
			}
			check("pack", pack32, pack64, 2e-5)
			check("gradients", grad32, grad64, 1e-4)
		})
	}
}

// lstmRun runs c's forward and backward kernels in type T on the inputs in
// (as float64) with the pack's gradient dpack; it returns the pack and the
// flat gradients as float64.
func lstmRun[T Float](t *testing.T, c *rnnCfg, sizes []int, in [][]float64, dpack []float64) ([]float64, []float64) {
	t.Helper()
	conv := func(v []float64) *tensor.Dense {
		s := make([]T, len(v))
		for i, x := range v {
			s[i] = T(x)
		}
		return Dense([]int{len(s)}, s)
	}
	back := func(d *tensor.Dense) []float64 {
		s, err := Data[T](d)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float64, len(s))
		for i, x := range s {
			v[i] = float64(x)
		}
		return v
	}
	ins := make([]*tensor.Dense, len(in))
	for i, v := range in {
		ins[i] = conv(v)
	}
	pack := conv(make([]float64, c.packSize()))
	if err := rnnForward[T](c)(ins, pack); err != nil {
		t.Fatal(err)
	}
	_, total := rnnGradLayout(sizes, c)
	grad := conv(make([]float64, total))
	if err := rnnBackward[T](c, sizes)(append([]*tensor.Dense{conv(dpack), pack}, ins...), grad); err != nil {
		t.Fatal(err)
	}
	return back(pack), back(grad)
}

// BenchmarkLSTM32 times one forward and backward of a float32 LSTM layer
// of the sequence benchmark's size (T 64, B 32, I = H = 256); it reports
// the CPU time (every thread's) and the fastest run besides the mean.
func BenchmarkLSTM32(b *testing.B) { benchLSTM32(b, true) }

// BenchmarkLSTM32Forward is BenchmarkLSTM32's forward alone.
func BenchmarkLSTM32Forward(b *testing.B) { benchLSTM32(b, false) }

func benchLSTM32(b *testing.B, backward bool) {
	T, B, I, H := 64, 32, 256, 256
	c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: H, dirs: 1, T: T, B: B, I: I, iB: 3, iSeq: -1, iH: -1, iC: -1, iP: -1, nIn: 4}
	var acts []rnnAct
	for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
		a, _ := rnnActivation(n, 0, 0)
		acts = append(acts, a)
	}
	c.acts = [][]rnnAct{acts}
	r := rand.New(rand.NewSource(1))
	sizes := []int{T * B * I, 4 * H * I, 4 * H * H, 8 * H}
	ins := make([]*tensor.Dense, len(sizes))
	for i, n := range sizes {
		v := make([]float32, n)
		for j := range v {
			v[j] = float32(0.1 * (2*r.Float64() - 1))
		}
		ins[i] = Dense([]int{n}, v)
	}
	pack := Dense([]int{c.packSize()}, make([]float32, c.packSize()))
	dp := make([]float32, c.packSize())
	for j := range dp[:c.offCache()] {
		dp[j] = float32(2*r.Float64() - 1)
	}
	dpack := Dense([]int{len(dp)}, dp)
	_, total := rnnGradLayout(sizes, c)
	grad := Dense([]int{total}, make([]float32, total))
	fwd, bwd := rnnForward[float32](c), rnnBackward[float32](c, sizes)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, fastest := procCPUTime(), time.Duration(math.MaxInt64)
	for range b.N {
		t0 := time.Now()
		if err := fwd(ins, pack); err != nil {
			b.Fatal(err)
		}
		if backward {
			if err := bwd(append([]*tensor.Dense{dpack, pack}, ins...), grad); err != nil {
				b.Fatal(err)
			}
		}
		fastest = min(fastest, time.Since(t0))
	}
	b.ReportMetric(float64((procCPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(fastest.Microseconds())/1000, "min-ms/op")
}

// TestLSTMDHDirect: the backward recurrences adding dG·R straight into d H
// and summing d H + d Y in place (lstmDHDirect) give the bits of the
// product buffer and copy they replace, every gradient: cut by examples
// and by units (peepholes, a batch too small to share; one part and
// several), initial states and d Y_h, d Y_c, forward, reverse and
// bidirectional, products over one and several blocks of the sum (H 300),
// at GOMAXPROCS 1 to 3.
func TestLSTMDHDirect(t *testing.T) {
	defer func() { lstmDHDirect = true }()
	lstmSwitchCases(t, func(on bool) { lstmDHDirect = on })
}

// TestLSTMPrefetch: the backward recurrences' products asking for the
// next gate gradients' rows (lstmPrefetch) give the bits of the products
// without, every gradient, in TestLSTMDHDirect's cases.
func TestLSTMPrefetch(t *testing.T) {
	defer func() { lstmPrefetch = true }()
	lstmSwitchCases(t, func(on bool) { lstmPrefetch = on })
}

// lstmSwitchCases runs float32 LSTMs with set(false) and set(true) and
// checks that every gradient gets the same bits: cut by examples and by
// units (peepholes, a batch too small to share; one part and several),
// initial states and d Y_h, d Y_c, forward, reverse and bidirectional,
// products over one and several blocks of the sum (H 300), at GOMAXPROCS
// 1 to 3.
func lstmSwitchCases(t *testing.T, set func(on bool)) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for k, tc := range []lstmCase{
		{dirs: 1, bias: true, H: 256, T: 6, B: 32, I: 16},
		{dirs: 1, reverse: true, states: true, H: 300, T: 4, B: 17, I: 5},
		{dirs: 2, bias: true, states: true, H: 96, T: 3, B: 24, I: 2},
		{dirs: 1, peeps: true, states: true, H: 96, T: 5, B: 32, I: 3},
		{dirs: 1, bias: true, H: 64, T: 5, B: 9, I: 3},
		{dirs: 1, H: 8, T: 5, B: 9, I: 3},
	} {
		c, sizes, in, dpack := tc.build(int64(k + 51))
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			set(false)
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			set(true)
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			sameBits64(t, fmt.Sprintf("case %d, %d procs: gradient", k, procs), got, want)
		}
	}
}

// TestLSTMStepRows: lstmStepRows names every element that lstmStepGrads
// reads of the cache, d Y, dxw and the initial cell, for a range of
// examples and units: with all else NaN, the step writes the same bits
// into dxw, d H and d C (layouts 0 and 1, both directions, the first step
// and a later one, a part of the examples and of the units and all).
func TestLSTMStepRows(t *testing.T) {
	nan := float32(math.NaN())
	for k, tc := range []struct {
		layout, dirs, d, s      int
		b0, b1, j0, j1, H, T, B int
	}{
		{0, 1, 0, 2, 0, 5, 0, 32, 32, 4, 5},
		{1, 2, 1, 0, 1, 4, 16, 48, 48, 3, 6},
		{0, 2, 0, 1, 2, 3, 0, 16, 16, 3, 4},
		{1, 1, 0, 3, 0, 3, 5, 21, 24, 4, 3},
	} {
		H, B := tc.H, tc.B
		GH := 4 * H
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: H, dirs: tc.dirs, T: tc.T, B: B, I: 3, layout: tc.layout,
			iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1}
		r := rand.New(rand.NewSource(int64(k + 61)))
		rnd := func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.Float64())
			}
			return x
		}
		pack, dy, dxw, c0 := rnd(c.packSize()), rnd(c.ySize()), rnd(c.T*B*GH), rnd(B*H)
		dH, dC := rnd(B*H), rnd(B*H)
		blk := tc.T - 1 - tc.s
		rows := lstmStepRows(nil, c, pack, dy, dxw, c0, tc.d, tc.s, blk, tc.b0, tc.b1, tc.j0, tc.j1)
		if len(rows) != lstmStepRowsLen(tc.b1-tc.b0) {
			t.Fatalf("case %d: %d rows for %d examples, lstmStepRowsLen says %d", k, len(rows), tc.b1-tc.b0, lstmStepRowsLen(tc.b1-tc.b0))
		}
		poison := func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = nan
			}
			return x
		}
		pack2, dy2, dxw2, c02 := poison(len(pack)), poison(len(dy)), poison(len(dxw)), poison(len(c0))
		dH2, dC2 := slices.Clone(dH), slices.Clone(dC)
		for i, row := range lstmStepRows(nil, c, pack2, dy2, dxw2, c02, tc.d, tc.s, blk, tc.b0, tc.b1, tc.j0, tc.j1) {
			copy(row, rows[i])
		}
		lstmStepGrads(c, pack, dy, dxw, nil, dH, dC, nil, c0, nil, tc.d, tc.s, blk, tc.b0, tc.b1, tc.j0, tc.j1, [6][]float32{})
		lstmStepGrads(c, pack2, dy2, dxw2, nil, dH2, dC2, nil, c02, nil, tc.d, tc.s, blk, tc.b0, tc.b1, tc.j0, tc.j1, [6][]float32{})
		same := func(what string, got, want []float32) {
			t.Helper()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("case %d: %s[%d] = %v with the rest NaN, want %v", k, what, i, got[i], want[i])
				}
			}
		}
		same("d H", dH2, dH)
		same("d C", dC2, dC)
		for b := tc.b0; b < tc.b1; b++ {
			for q := range 4 {
				o := blk*B*GH + b*GH + q*H
				same("dxw", dxw2[o+tc.j0:o+tc.j1], dxw[o+tc.j0:o+tc.j1])
			}
		}
	}
}
