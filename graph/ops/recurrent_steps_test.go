package ops

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"
	"time"

	"gorgonia.org/tensor"
)

// TestLockstep checks lockstep's meetings: at step s every worker reads
// what all the workers wrote at step s-1 (a step that sleeps makes its
// partners go through spinning, yielding and sleeping), and every body
// runs once.
func TestLockstep(t *testing.T) {
	for _, tc := range []struct {
		workers, steps int
		slow           time.Duration
	}{
		{1, 5, 0}, {2, 200, 0}, {3, 100, 0}, {2, 6, 2 * stepYield}, {2, 6, 2 * stepYieldMax}, {4, 0, 0},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.workers, tc.steps), func(t *testing.T) {
			vals := make([][]int, tc.steps)
			for s := range vals {
				vals[s] = make([]int, tc.workers)
			}
			lockstep(tc.workers, tc.steps, func(p, s int) {
				sum := 0
				if s > 0 {
					for _, v := range vals[s-1] {
						sum += v
					}
				}
				if tc.slow > 0 && p == tc.workers-1 && s%2 == 0 {
					time.Sleep(tc.slow)
				}
				vals[s][p] += sum + p + 1
			})
			want := 0
			for s := range vals {
				prev := want
				want = 0
				for p, v := range vals[s] {
					if v != prev+p+1 {
						t.Fatalf("step %d, worker %d: %d, want %d", s, p, v, prev+p+1)
					}
					want += v
				}
			}
		})
	}
}

// TestYieldFor checks how long a waiting member yields: stepYield for
// short parts, twice the part's time for longer ones, stepYieldMax at most.
func TestYieldFor(t *testing.T) {
	for _, tc := range []struct{ part, want time.Duration }{
		{0, stepYield},
		{stepYield / 2, stepYield},
		{100 * time.Microsecond, 200 * time.Microsecond},
		{stepYieldMax / 2, stepYieldMax},
		{time.Second, stepYieldMax},
	} {
		if got := yieldFor(tc.part); got != tc.want {
			t.Errorf("yieldFor(%v) = %v, want %v", tc.part, got, tc.want)
		}
	}
}

// TestLockstepPanic checks that a body's panic reaches the caller after
// every worker has left, and that no later step runs.
func TestLockstepPanic(t *testing.T) {
	for _, who := range []int{0, 1} {
		ran := make([]int, 2)
		got := func() (r any) {
			defer func() { r = recover() }()
			lockstep(2, 10, func(p, s int) {
				ran[p] = s
				if p == who && s == 3 {
					panic("boom")
				}
			})
			return nil
		}()
		if got != "boom" {
			t.Fatalf("worker %d: recovered %v, want boom", who, got)
		}
		if ran[0] > 4 || ran[1] > 4 {
			t.Fatalf("worker %d: steps ran up to %v after a panic at step 3", who, ran)
		}
	}
}

// TestLSTMFloat32Threads checks that the split float32 LSTM gives the same
// pack and gradients bit for bit on its own goroutines (lockstep) as run
// slice after slice on one (lstmStepsSerial), and whatever the number of
// slices (GOMAXPROCS 1 to 3): each unit's arithmetic is the same.
func TestLSTMFloat32Threads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { lstmSteps = lockstep }()
	for k, tc := range []struct {
		dirs    int
		reverse bool
		peep    bool
		H, T, B int
	}{
		{dirs: 1, H: 96, T: 7, B: 5},
		{dirs: 2, peep: true, H: 128, T: 4, B: 3},
		{dirs: 1, reverse: true, H: 64, T: 5, B: 33},
	} {
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse,
			T: tc.T, B: tc.B, I: 6, iB: 3, iSeq: -1, iH: 4, iC: 5, iP: -1}
		for range tc.dirs {
			var acts []rnnAct
			for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
				a, _ := rnnActivation(n, 0, 0)
				acts = append(acts, a)
			}
			c.acts = append(c.acts, acts)
		}
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh, hs, hs}
		if tc.peep {
			c.iP = len(sizes)
			sizes = append(sizes, tc.dirs*3*tc.H)
		}
		c.nIn = len(sizes)
		r := rand.New(rand.NewSource(int64(k + 7)))
		in := make([][]float64, len(sizes))
		for i, n := range sizes {
			in[i] = make([]float64, n)
			for j := range in[i] {
				in[i][j] = float64(float32((2*r.Float64() - 1) / math.Sqrt(float64(tc.H))))
			}
		}
		dpack := make([]float64, c.packSize())
		for j := range dpack[:c.offCache()] {
			dpack[j] = float64(float32(2*r.Float64() - 1))
		}
		var pack0, grad0 []float64
		for _, procs := range []int{1, 2, 3} {
			for _, serial := range []bool{false, true} {
				runtime.GOMAXPROCS(procs)
				lstmSteps = lockstep
				if serial {
					lstmSteps = lstmStepsSerial
				}
				pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
				if pack0 == nil {
					pack0, grad0 = pack, grad
					continue
				}
				for i := range pack {
					if math.Float64bits(pack[i]) != math.Float64bits(pack0[i]) {
						t.Fatalf("case %d, %d procs, serial %v: pack[%d] = %v, want %v", k, procs, serial, i, pack[i], pack0[i])
					}
				}
				for i := range grad {
					if math.Float64bits(grad[i]) != math.Float64bits(grad0[i]) {
						t.Fatalf("case %d, %d procs, serial %v: gradient[%d] = %v, want %v", k, procs, serial, i, grad[i], grad0[i])
					}
				}
			}
		}
	}
}

// TestLSTMGatesBias checks that lstmGatesPart adding the biases gives, bit
// for bit, what it gives on inputs with the biases added first, as
// rnnForwardDir did before the float32 LSTM's gates took them over.
func TestLSTMGatesBias(t *testing.T) {
	const H, hw, j0, rs = 48, 40, 8, 3
	r := rand.New(rand.NewSource(3))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(4 * (2*r.Float64() - 1))
		}
		return v
	}
	x, wb, rb, rt, cp := vec(4*H), vec(4*H), vec(4*H), vec(4*hw*rs), vec(hw)
	run := func(x, wb, rb []float32) [][]float32 {
		pre, post := make([]float32, 4*H), make([]float32, 4*H)
		cell, hc, h := make([]float32, hw), make([]float32, hw), make([]float32, hw)
		lstmGatesPart(x[j0:], sub(wb, j0, 4*H), sub(rb, j0, 4*H), rt, rs, hw*rs, H,
			pre[j0:], post[j0:], cp, cell, hc, h, nil, nil, nil)
		return [][]float32{pre, post, cell, hc, h}
	}
	got := run(x, wb, rb)
	xb := append([]float32(nil), x...)
	for j := range xb {
		xb[j] += wb[j]
		xb[j] += rb[j]
	}
	want := run(xb, nil, nil)
	for k := range want {
		for i := range want[k] {
			if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
				t.Fatalf("output %d [%d] = %v, want %v", k, i, got[k][i], want[k][i])
			}
		}
	}
}

// TestRNNBackwardOverwrites checks that the backward kernel sets every
// gradient whatever its output buffer held (the buffer is kept from one
// step to the next, and parts of it are no longer cleared first): a run
// into a buffer of NaNs gives, bit for bit, the run into zeros.
func TestRNNBackwardOverwrites(t *testing.T) {
	for _, tc := range []struct {
		kind   rnnKind
		dirs   int
		layout int
	}{
		{kindLSTM, 1, 0}, {kindLSTM, 2, 0}, {kindLSTM, 2, 1}, {kindGRU, 2, 0}, {kindRNN, 1, 1},
	} {
		t.Run(fmt.Sprintf("%d_%d_%d", tc.kind, tc.dirs, tc.layout), func(t *testing.T) {
			testBackwardOverwrites[float32](t, tc.kind, tc.dirs, tc.layout)
			testBackwardOverwrites[float64](t, tc.kind, tc.dirs, tc.layout)
		})
	}
}

func testBackwardOverwrites[T Float](t *testing.T, kind rnnKind, dirs, layout int) {
	t.Helper()
	G := [...]int{1, 3, 4}[kind]
	H, T_, B, I := 32, 4, 3, 5
	c := &rnnCfg{kind: kind, name: "RNN", G: G, H: H, dirs: dirs, layout: layout,
		T: T_, B: B, I: I, iB: 3, iSeq: -1, iH: 4, iC: -1, iP: -1}
	for range dirs {
		var acts []rnnAct
		for _, n := range rnnDefaults[kind] {
			a, _ := rnnActivation(n, 0, 0)
			acts = append(acts, a)
		}
		c.acts = append(c.acts, acts)
	}
	gh, hs := G*H, dirs*B*H
	sizes := []int{T_ * B * I, dirs * gh * I, dirs * gh * H, dirs * 2 * gh, hs}
	if kind == kindLSTM {
		c.iC = len(sizes)
		sizes = append(sizes, hs)
	}
	c.nIn = len(sizes)
	r := rand.New(rand.NewSource(5))
	ins := make([]*tensor.Dense, len(sizes))
	for i, n := range sizes {
		v := make([]T, n)
		for j := range v {
			v[j] = T(0.5 * (2*r.Float64() - 1))
		}
		ins[i] = Dense([]int{n}, v)
	}
	pack := Dense([]int{c.packSize()}, make([]T, c.packSize()))
	if err := rnnForward[T](c)(ins, pack); err != nil {
		t.Fatal(err)
	}
	dp := make([]T, c.packSize())
	for j := range dp[:c.offCache()] {
		dp[j] = T(2*r.Float64() - 1)
	}
	_, total := rnnGradLayout(sizes, c)
	run := func(fill T) []T {
		g := make([]T, total)
		for i := range g {
			g[i] = fill
		}
		grad := Dense([]int{total}, g)
		if err := rnnBackward[T](c, sizes)(append([]*tensor.Dense{Dense([]int{len(dp)}, dp), pack}, ins...), grad); err != nil {
			t.Fatal(err)
		}
		return g
	}
	want, got := run(0), run(T(math.NaN()))
	for i := range want {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("%T: gradient[%d] = %v over NaNs, %v over zeros", want[0], i, got[i], want[i])
		}
	}
}
