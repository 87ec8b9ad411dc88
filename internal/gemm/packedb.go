package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// PackedB is op(B) packed once for many products with different A (a
// classifier's weights at inference, where the batch is A): Sgemm then
// reads the packed panels instead of packing B at every call, which for a
// large B that is not in cache costs more than the product itself.
type PackedB struct {
	kern   *kernel
	k, n   int
	kc     int
	blocks [][]float32 // by k block: kb × n, in panels of nr columns
}

// PackB packs op(B), k×n (tB: B is stored n×k), for PackedB.Sgemm with the
// kernel in use when it runs.
func PackB(tB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension k=%d n=%d", k, n))
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	checkMatrix("B", br, bc, b, ldb)
	kn := current()
	pb := &PackedB{kern: kn, k: k, n: n}
	if k == 0 || n == 0 {
		return pb
	}
	_, pb.kc = blocks(k, kn.kcMax, 1)
	for pc := 0; pc < k; pc += pb.kc {
		kb := min(pb.kc, k-pc)
		dst := getBlock(ceilDiv(n, kn.nr) * kn.nr * kb)
		if tB {
			packB(kn, dst, true, b[pc:], ldb, kb, n)
		} else {
			packB(kn, dst, false, b[pc*ldb:], ldb, kb, n)
		}
		pb.blocks = append(pb.blocks, dst)
	}
	return pb
}

// Release hands pb's packed blocks back for later PackB calls to reuse; pb
// must not be used after. A caller that packs the same operand at every
// call (a recurrent layer's weights, a few megabytes a training step) then
// allocates them once instead of leaving them to the collector (the LSTM
// training benchmark's step allocated five times less with it). PackB
// writes every element of a block it reuses (it clears the padding of a
// last panel, whose products the kernels compute and drop).
func (pb *PackedB) Release() {
	for _, b := range pb.blocks {
		putBlock(b)
	}
	pb.blocks = nil
}

// blockPools holds released blocks by length, a sync.Pool each (which the
// collector empties over two cycles when they stay unused).
var blockPools sync.Map

// getBlock returns a released block of length n, or a new one.
func getBlock(n int) []float32 {
	if p, ok := blockPools.Load(n); ok {
		if v := p.(*sync.Pool).Get(); v != nil {
			return *v.(*[]float32)
		}
	}
	return make([]float32, n)
}

// putBlock keeps b for getBlock.
func putBlock(b []float32) {
	p, _ := blockPools.LoadOrStore(len(b), new(sync.Pool))
	p.(*sync.Pool).Put(&b)
}

// Sgemm computes C = alpha*op(A)*B + beta*C with the packed B (k×n), op(A)
// m×k (tA: A stored k×m), split by columns among up to GOMAXPROCS
// goroutines when large enough. Each element is summed as Sgemm sums it
// (the same k blocks and micro-kernel), so the bits are Sgemm's.
func (pb *PackedB) Sgemm(tA bool, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	k, n, kn := pb.k, pb.n, pb.kern
	if m < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d", m))
	}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	p := product{tA: tA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc, kern: kn}
	panels := ceilDiv(n, kn.nr)
	tasks := 1
	if procs := runtime.GOMAXPROCS(0); procs > 1 && m*n*k >= parallelMin {
		tasks = min(panels, 2*procs)
	}
	run := func(t int) {
		j0, j1 := panels*t/tasks*kn.nr, min(n, panels*(t+1)/tasks*kn.nr)
		if j0 >= j1 {
			return
		}
		_, mc := blocks(m, kn.mcMax, kn.mr)
		buf := pool.get()
		own := buf.b // buf.b points into the packed blocks while in use
		defer func() { buf.b = own; pool.put(buf) }()
		buf.a = grow(buf.a, mc*pb.kc)
		for pc, blk := range pb.blocks {
			pc *= pb.kc
			kb := min(pb.kc, k-pc)
			buf.b = blk[j0*kb:]
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				p.packA(buf.a, ic, pc, mb, kb)
				p.macro(buf, buf.a, ic, j0, pc, mb, j1-j0, kb)
			}
		}
	}
	if tasks == 1 {
		run(0)
		return
	}
	Parallel(tasks, run)
}
