package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
)

// kernels runs f once per micro-kernel this machine runs (avx512, avx2,
// generic), with that kernel forced.
func kernels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, k := range available() {
		t.Run(k.name, func(t *testing.T) {
			defer func(old *kernel) { forced = old }(forced)
			forced = k
			f(t)
		})
	}
}

// problem is one Sgemm call with its inputs.
type problem struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	lda, ldb, ldc int
	a, b, c       []float32
}

// newProblem makes random matrices with strides padded by up to pad.
func newProblem(rng *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32, pad int) *problem {
	p := &problem{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	p.lda = max(1, ac) + rng.IntN(pad+1)
	p.ldb = max(1, bc) + rng.IntN(pad+1)
	p.ldc = max(1, n) + rng.IntN(pad+1)
	p.a = randSlice(rng, ar*p.lda)
	p.b = randSlice(rng, br*p.ldb)
	p.c = randSlice(rng, m*p.ldc)
	if beta == 0 {
		for i := range p.c {
			p.c[i] = float32(math.NaN())
		}
	}
	return p
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func (p *problem) opA(i, l int) float64 {
	if p.tA {
		return float64(p.a[l*p.lda+i])
	}
	return float64(p.a[i*p.lda+l])
}

func (p *problem) opB(l, j int) float64 {
	if p.tB {
		return float64(p.b[j*p.ldb+l])
	}
	return float64(p.b[l*p.ldb+j])
}

// run calls Sgemm on a copy of C and compares every element with a float64
// reference, allowing a relative error of tol·(k+4) of the sum of the
// magnitudes of the terms. Padding between rows of C must stay untouched.
func (p *problem) run(t *testing.T) {
	t.Helper()
	c := append([]float32(nil), p.c...)
	Sgemm(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	const tol = 1e-6
	bad := 0
	for i := range p.m {
		for j := range p.ldc {
			got := c[i*p.ldc+j]
			old := p.c[i*p.ldc+j]
			if j >= p.n {
				if math.Float32bits(got) != math.Float32bits(old) {
					t.Fatalf("C[%d][%d] is padding but changed from %v to %v", i, j, old, got)
				}
				continue
			}
			var sum, mag float64
			for l := range p.k {
				v := p.opA(i, l) * p.opB(l, j)
				sum += v
				mag += math.Abs(v)
			}
			want := float64(p.alpha) * sum
			mag *= math.Abs(float64(p.alpha))
			if p.beta != 0 {
				want += float64(p.beta) * float64(old)
				mag += math.Abs(float64(p.beta) * float64(old))
			}
			if d := math.Abs(float64(got) - want); !(d <= tol*float64(p.k+4)*mag+1e-30) {
				t.Errorf("C[%d][%d] = %v, want %v (|diff| %g, scale %g)", i, j, got, want, d, mag)
				if bad++; bad > 5 {
					t.FailNow()
				}
			}
		}
	}
}

func (p *problem) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,alpha=%v,beta=%v", p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.beta)
}

func TestSgemmSizes(t *testing.T) {
	sizes := []int{1, 2, 3, 5, 6, 7, 16, 17, 33, 65}
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, m := range sizes {
					for _, n := range sizes {
						k := sizes[rng.IntN(len(sizes))]
						p := newProblem(rng, tA, tB, m, n, k, 1, 0, 3)
						t.Run(p.String(), p.run)
					}
				}
			}
		}
	})
}

func TestSgemmAlphaBeta(t *testing.T) {
	scalars := []float32{0, 1, -0.5, 2}
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, alpha := range scalars {
					for _, beta := range scalars {
						m, n, k := 1+rng.IntN(40), 1+rng.IntN(40), 1+rng.IntN(40)
						p := newProblem(rng, tA, tB, m, n, k, alpha, beta, 5)
						t.Run(p.String(), p.run)
					}
				}
			}
		}
	})
}

// TestSgemmBlocks crosses the kc, mc and nc block boundaries, where packing
// restarts and later k blocks accumulate into C.
func TestSgemmBlocks(t *testing.T) {
	kernels(t, func(t *testing.T) {
		kn := current()
		cases := []struct{ m, n, k int }{
			{257, 33, 257},
			{kn.mcMax + 1, 17, 2*kn.kcMax + 3},
			{7, kn.ncMax + 21, 9},
			{kn.mcMax*2 + 5, kn.nr*3 + 1, kn.kcMax},
			{13, 300, 600},
		}
		if testing.Short() {
			cases = cases[:2]
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for _, tc := range cases {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					p := newProblem(rng, tA, tB, tc.m, tc.n, tc.k, -0.5, 2, 4)
					t.Run(p.String(), p.run)
				}
			}
		}
	})
}

func TestSgemmRandom(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		scalars := []float32{0, 1, -0.5, 2}
		for range n {
			p := newProblem(rng, rng.IntN(2) == 0, rng.IntN(2) == 0,
				1+rng.IntN(100), 1+rng.IntN(100), 1+rng.IntN(300),
				scalars[rng.IntN(4)], scalars[rng.IntN(4)], 8)
			t.Run(p.String(), p.run)
		}
	})
}

// TestSgemmParallel runs products big enough to be split among goroutines
// (run it with -race).
func TestSgemmParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	cases := []struct{ m, n, k int }{
		{160, 160, 200},
		{200, 40, 600},
		{30, 800, 200},
	}
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, tc := range cases {
			if pm, pn := grid(current(), tc.m, tc.n, tc.k, 4); pm*pn < 2 {
				t.Fatalf("%v is not split", tc)
			}
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					p := newProblem(rng, tA, tB, tc.m, tc.n, tc.k, 2, -0.5, 3)
					t.Run(p.String(), p.run)
				}
			}
		}
	})
}

// TestSgemmConcurrent runs parallel products from several goroutines at
// once: one gets the helper team, the others start their own goroutines.
func TestSgemmConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	rng := rand.New(rand.NewPCG(13, 14))
	probs := make([]*problem, 4)
	for i := range probs {
		probs[i] = newProblem(rng, i%2 == 0, i/2 == 0, 120+i, 300, 150, 1, 0.5, 2)
		if pm, pn := grid(current(), probs[i].m, probs[i].n, probs[i].k, 3); pm*pn < 2 {
			t.Fatalf("%v is not split", probs[i])
		}
	}
	results := make([][]float32, len(probs))
	done := make(chan int)
	for i, p := range probs {
		go func() {
			c := append([]float32(nil), p.c...)
			for range 5 {
				copy(c, p.c)
				Sgemm(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
			}
			results[i] = c
			done <- i
		}()
	}
	for range probs {
		<-done
	}
	for i, p := range probs {
		serial := append([]float32(nil), p.c...)
		Sgemm(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, serial, p.ldc)
		for j := range serial {
			if d := math.Abs(float64(serial[j] - results[i][j])); d > 1e-3 {
				t.Fatalf("%v: C[%d] = %v concurrently, %v alone", p, j, results[i][j], serial[j])
			}
		}
	}
}

func TestSgemmDegenerate(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name        string
		m, n, k     int
		alpha, beta float32
		c, want     []float32
	}{
		{"m=0", 0, 2, 3, 1, 1, nil, nil},
		{"n=0", 2, 0, 3, 1, 1, nil, nil},
		{"k=0 beta=0", 1, 2, 0, 1, 0, []float32{nan, 3}, []float32{0, 0}},
		{"k=0 beta=2", 1, 2, 0, 1, 2, []float32{1, 3}, []float32{2, 6}},
		{"alpha=0 beta=-0.5", 1, 2, 3, 0, -0.5, []float32{1, 3}, []float32{-0.5, -1.5}},
		{"alpha=0 beta=1", 1, 2, 3, 0, 1, []float32{nan, 3}, []float32{nan, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := make([]float32, tt.m*tt.k)
			b := make([]float32, tt.k*tt.n)
			Sgemm(false, false, tt.m, tt.n, tt.k, tt.alpha, a, max(1, tt.k), b, max(1, tt.n), tt.beta, tt.c, max(1, tt.n))
			for i := range tt.want {
				got, want := tt.c[i], tt.want[i]
				if got != want && !(got != got && want != want) {
					t.Errorf("C = %v, want %v", tt.c, tt.want)
					break
				}
			}
		})
	}
}

func TestSgemmPanics(t *testing.T) {
	s := make([]float32, 12)
	tests := []struct {
		name    string
		f       func()
		wantMsg string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }, "negative dimension"},
		{"lda too small", func() { Sgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) }, "A is 2×3 but its row stride is 2"},
		{"lda too small tA", func() { Sgemm(true, false, 4, 2, 3, 1, s, 3, s, 2, 0, s, 2) }, "A is 3×4 but its row stride is 3"},
		{"ldb too small tB", func() { Sgemm(false, true, 2, 2, 3, 1, s, 3, s, 2, 0, s, 2) }, "B is 2×3 but its row stride is 2"},
		{"ldc too small", func() { Sgemm(false, false, 2, 3, 2, 1, s, 2, s, 3, 0, s, 2) }, "C is 2×3 but its row stride is 2"},
		{"short A", func() { Sgemm(false, false, 4, 2, 3, 1, s[:11], 3, s, 2, 0, s, 2) }, "A is 4×3 with row stride 3 and needs 12 elements, has 11"},
		{"short B", func() { Sgemm(false, false, 2, 2, 3, 1, s, 3, s[:5], 2, 0, s, 2) }, "B is 3×2"},
		{"short C", func() { Sgemm(false, false, 2, 2, 3, 1, s, 3, s, 2, 0, s[:3], 2) }, "C is 2×2"},
		{"zero ldc", func() { Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 0) }, "row stride is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("panic %q, want one containing %q", r, tt.wantMsg)
				}
			}()
			tt.f()
		})
	}
}

// TestGrid checks that small products stay serial, that large ones get
// enough blocks for the workers but never more than C has tiles, and that
// one-dimensional products are cut along their long side.
func TestGrid(t *testing.T) {
	tests := []struct {
		m, n, k, procs int
		serial         bool
	}{
		{10, 10, 10, 8, true},
		{1024, 1024, 1024, 1, true},
		{64, 120, 256, 2, true},
		{6, 16, 100000, 4, true},
		{1024, 1024, 1024, 2, false},
		{512, 64, 4608, 2, false},
		{64, 16384, 147, 2, false},
		{1, 100000, 100, 4, false},
		{100000, 1, 100, 4, false},
		{7, 33, 100000, 3, false},
	}
	for _, kn := range available() {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%dx%dx%d/p%d", kn.name, tt.m, tt.n, tt.k, tt.procs), func(t *testing.T) {
				pm, pn := grid(kn, tt.m, tt.n, tt.k, tt.procs)
				mt, nt := ceilDiv(tt.m, kn.mr), ceilDiv(tt.n, kn.nr)
				switch {
				case tt.serial && pm*pn != 1:
					t.Errorf("grid = %d×%d, want 1×1", pm, pn)
				case tt.serial:
				case pm > mt || pn > nt:
					t.Errorf("grid = %d×%d, more than the %d×%d tiles", pm, pn, mt, nt)
				case pm*pn < min(tt.procs, mt*nt):
					t.Errorf("grid = %d×%d, fewer blocks than %d workers", pm, pn, tt.procs)
				case tt.m == 1 && pm != 1, tt.n == 1 && pn != 1:
					t.Errorf("grid = %d×%d cuts a vector the short way", pm, pn)
				}
			})
		}
	}
}

// TestSgemmAllocs checks that packing buffers are reused between calls: at
// most a few small allocations a call (for the goroutines), no buffers.
// It can fail: making pool.get allocate a fresh buffer each call trips it.
func TestSgemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // keep the pool's items
	rng := rand.New(rand.NewPCG(11, 12))
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprint("procs", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			p := newProblem(rng, false, false, 200, 300, 400, 1, 0, 0)
			c := make([]float32, len(p.c))
			call := func() {
				Sgemm(false, false, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
			}
			for range 10 { // fill the pool
				call()
			}
			const runs = 50
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				call()
			}
			runtime.ReadMemStats(&after)
			allocs := float64(after.Mallocs-before.Mallocs) / runs
			bytes := float64(after.TotalAlloc-before.TotalAlloc) / runs
			// A reallocated packing buffer would be hundreds of KiB (the
			// packed A alone is 200x256 floats); goroutine hand-offs cost a
			// few small allocations, more when the machine is busy.
			if allocs > 8 || bytes > 16<<10 {
				t.Errorf("%v allocations and %v bytes a call, want at most 8 and 16 KiB", allocs, bytes)
			}
		})
	}
}

// TestParallel: every index once, for counts around the number of workers,
// and a nested call (which cannot use the posted team) finishes too.
func TestParallel(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100} {
		seen := make([]atomic.Int32, n)
		Parallel(n, func(i int) {
			seen[i].Add(1)
			if i == 0 {
				var inner atomic.Int32
				Parallel(5, func(int) { inner.Add(1) })
				if inner.Load() != 5 {
					t.Errorf("nested Parallel ran %d of 5", inner.Load())
				}
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Errorf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
}

// TestPackedARowBands: a narrow product with A packed beforehand, computed
// in bands of rows (rowBands, what PackedA.Sgemm does where the columns
// are too few to split), equals SgemmSerial's bit for bit: any number of
// bands, bands across pa's row blocks (m past mcMax) and k blocks, the
// last rows short of a tile, both layouts of B, beta 0 over a C full of
// NaN, 1 and another. PackedA.Sgemm runs the classifier's transposed
// product (1000×16×1280) in bands when there are cores for them.
func TestPackedARowBands(t *testing.T) {
	kernels(t, testPackedARowBands)
	if got := rowBandsFor(current(), 1000, 16, 1280, 2); got != 4 {
		t.Errorf("rowBandsFor(1000×16×1280, 2 procs) = %d bands, want 4", got)
	}
	if got := rowBandsFor(current(), 1000, 16, 1280, 1); got != 1 {
		t.Errorf("rowBandsFor(1000×16×1280, 1 proc) = %d bands, want 1", got)
	}
	if got := rowBandsFor(current(), 64, 16, 64, 2); got != 1 {
		t.Errorf("rowBandsFor(64×16×64, 2 procs) = %d bands, want 1 (too small)", got)
	}
}

func testPackedARowBands(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, sz := range [][3]int{{1, 1, 1}, {7, 5, 33}, {53, 16, 300}, {150, 16, 515}, {1000, 16, 1280}, {301, 9, 700}} {
		for _, tB := range []bool{false, true} {
			for _, beta := range []float32{0, 1, -0.5} {
				p := newProblem(rng, false, tB, sz[0], sz[1], sz[2], 1.5, beta, 3)
				pa := PackA(false, p.m, p.k, p.a, p.lda)
				want := append([]float32(nil), p.c...)
				pa.SgemmSerial(tB, p.n, p.alpha, p.b, p.ldb, beta, want, p.ldc)
				for _, bands := range []int{1, 2, 3, 4, 7} {
					got := append([]float32(nil), p.c...)
					q := product{tB: tB, m: p.m, n: p.n, k: p.k, alpha: p.alpha, b: p.b, ldb: p.ldb, beta: beta, c: got, ldc: p.ldc, pre: pa, kern: pa.kern}
					pa.rowBands(&q, bands)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v tB=%v beta=%v, %d bands: C[%d] = %v, SgemmSerial gives %v", sz, tB, beta, bands, i, got[i], want[i])
						}
					}
				}
				got := append([]float32(nil), p.c...)
				pa.Sgemm(tB, p.n, p.alpha, p.b, p.ldb, beta, got, p.ldc)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v tB=%v beta=%v: PackedA.Sgemm gives C[%d] = %v, SgemmSerial %v", sz, tB, beta, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestPackedA: products with A packed beforehand equal Sgemm's bit for bit
// (the same blocks, the same kernel), across block boundaries in m and k,
// both layouts of A and B, and beta 0 over a C full of NaN; PackedA.Sgemm,
// split in column blocks, too.
func TestPackedA(t *testing.T) {
	kernels(t, testPackedA)
}

func testPackedA(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sz := range [][3]int{{1, 1, 1}, {7, 33, 5}, {64, 100, 576}, {150, 40, 300}, {300, 17, 515}, {512, 32, 600}, {64, 1500, 600}} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float32{0, 1, -0.5} {
					p := newProblem(rng, tA, tB, sz[0], sz[1], sz[2], 1.5, beta, 3)
					want := append([]float32(nil), p.c...)
					got := append([]float32(nil), p.c...)
					if beta == 0 {
						for i := range got {
							got[i] = float32(math.NaN())
						}
					}
					Sgemm(tA, tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, beta, want, p.ldc)
					split := append([]float32(nil), got...)
					pa := PackA(tA, p.m, p.k, p.a, p.lda)
					pa.SgemmSerial(tB, p.n, p.alpha, p.b, p.ldb, beta, got, p.ldc)
					pa.Sgemm(tB, p.n, p.alpha, p.b, p.ldb, beta, split, p.ldc)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v tA=%v tB=%v beta=%v: C[%d] = %v, Sgemm gives %v", sz, tA, tB, beta, i, got[i], want[i])
						}
						if math.Float32bits(split[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v tA=%v tB=%v beta=%v: PackedA.Sgemm gives C[%d] = %v, Sgemm %v", sz, tA, tB, beta, i, split[i], want[i])
						}
					}
				}
			}
		}
	}
}
