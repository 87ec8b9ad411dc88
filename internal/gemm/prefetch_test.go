package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// asked records prefetchAsk's calls as the addresses of the floats asked
// for, in order, until restore.
type asked struct {
	addrs []uintptr
	calls int
}

func (r *asked) record() (restore func()) {
	old := prefetchAsk
	prefetchAsk = func(p *float32, n int) {
		r.calls++
		for i := range n {
			r.addrs = append(r.addrs, uintptr(unsafe.Pointer(p))+uintptr(4*i))
		}
	}
	return func() { prefetchAsk = old }
}

// addrsOf is the addresses of the floats of ranges, in order.
func addrsOf(ranges [][]float32) []uintptr {
	var out []uintptr
	for _, x := range ranges {
		for i := range x {
			out = append(out, uintptr(unsafe.Pointer(&x[i])))
		}
	}
	return out
}

// randRanges cuts a random slice into n ranges of random lengths (some
// empty), in a random order.
func randRanges(rng *rand.Rand, n int) [][]float32 {
	all := randSlice(rng, 40*n+1)
	var ranges [][]float32
	for range n {
		i := rng.IntN(len(all))
		ranges = append(ranges, all[i:i+rng.IntN(min(80, len(all)-i))])
	}
	return ranges
}

// TestPrefetcher checks that the prefetcher asks, over its calls, for
// every float of its ranges once and in order, at most per floats a call
// and spread over the calls (not all at the first), and for nothing after.
func TestPrefetcher(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for _, tc := range []struct{ ranges, calls int }{{1, 1}, {1, 5}, {7, 3}, {30, 16}, {100, 7}, {5, 200}} {
		t.Run(fmt.Sprintf("%d ranges %d calls", tc.ranges, tc.calls), func(t *testing.T) {
			ranges := randRanges(rng, tc.ranges)
			var r asked
			defer r.record()()
			f := newPrefetcher(ranges, tc.calls)
			want := addrsOf(ranges)
			if f.ranges == nil {
				t.Fatalf("no prefetcher for %d floats", len(want))
			}
			for c := range tc.calls {
				before := len(r.addrs)
				f.step()
				if got := len(r.addrs) - before; got > f.per {
					t.Fatalf("call %d asked for %d floats, more than %d", c, got, f.per)
				}
				if c == 0 && tc.calls > 1 && len(want) > 2*lineFloats*tc.ranges && len(r.addrs) == len(want) {
					t.Fatalf("the first of %d calls asked for all %d floats", tc.calls, len(want))
				}
			}
			n := len(r.addrs)
			f.step()
			if len(r.addrs) != n {
				t.Fatalf("asked for %d floats past the calls", len(r.addrs)-n)
			}
			if len(r.addrs) != len(want) {
				t.Fatalf("asked for %d floats, want %d", len(r.addrs), len(want))
			}
			for i, a := range want {
				if r.addrs[i] != a {
					t.Fatalf("float %d asked at %#x, want %#x", i, r.addrs[i], a)
				}
			}
		})
	}
	var r asked
	defer r.record()()
	if f := newPrefetcher([][]float32{nil, {}}, 4); f.ranges != nil {
		t.Fatal("a prefetcher for no floats")
	}
	if f := newPrefetcher([][]float32{{1}}, 0); f.ranges != nil {
		t.Fatal("a prefetcher over no calls")
	}
}

// TestSgemmPackedPrefetch checks SgemmPackedPrefetch against SgemmPacked,
// bit for bit, with this build's prefetches and with them recorded: C
// gets the same bits, and the product asks for every float of the ranges
// in order (m, n and k past the kernel's tiles and blocks, edge tiles,
// beta 0, 1 and other, every kernel).
func TestSgemmPackedPrefetch(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(83, 84))
		for _, sz := range [][3]int{{1, 1, 1}, {32, 64, 1024}, {16, 64, 1024}, {7, 33, 5}, {150, 40, 300}, {17, 97, 600}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, beta := range []float32{0, 1, -0.5} {
				name := fmt.Sprintf("%dx%dx%d beta=%v", m, n, k, beta)
				p := newProblem(rng, false, false, m, n, k, 1.5, beta, 3)
				pa, pb := PackA(false, m, k, p.a, p.lda), PackB(false, k, n, p.b, p.ldb)
				want := append([]float32(nil), p.c...)
				pa.SgemmPacked(pb, p.alpha, beta, want, p.ldc)
				ranges := randRanges(rng, 1+rng.IntN(60))
				for _, rec := range []bool{false, true} {
					var r asked
					if rec {
						defer r.record()()
					}
					got := append([]float32(nil), p.c...)
					pa.SgemmPackedPrefetch(pb, p.alpha, beta, got, p.ldc, ranges)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s (recorded %v): C[%d] = %v, SgemmPacked gives %v", name, rec, i, got[i], want[i])
						}
					}
					if !rec {
						continue
					}
					wa := addrsOf(ranges)
					if len(r.addrs) != len(wa) {
						t.Fatalf("%s: asked for %d floats, want %d", name, len(r.addrs), len(wa))
					}
					for i, a := range wa {
						if r.addrs[i] != a {
							t.Fatalf("%s: float %d asked at %#x, want %#x", name, i, r.addrs[i], a)
						}
					}
				}
			}
		}
	})
}
