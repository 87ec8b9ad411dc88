package ops

import (
	"math/bits"
	"sync"
)

// Scratch buffers (im2col matrices, packed weights, the recurrences'
// pre-activations) are reused across kernel calls through pools by size
// class. A single pool of buffers of every size, as before, handed a
// caller whatever buffer came first: one too small was dropped and a new
// one allocated, so a step with buffers of a few sizes (LeNet's two
// convolutions and their gradients) made megabytes of garbage a step,
// and the collections and page faults that come with it. A class holds
// buffers of one capacity (four classes an octave, so a buffer is at most
// a quarter larger than asked), so a Get finds a buffer that fits whenever
// one of its class was put back. Like internal/gemm's buffers, the free
// lists keep their buffers across collections and whichever P a goroutine
// runs on (a sync.Pool gives a P's last buffer back only on that P, and a
// collection every few steps emptied it), at most scratchKeep a class.

// scratchClasses is the number of size classes: four an octave up to 2^48.
const scratchClasses = 4 * 49

// scratchClass returns the smallest class whose size holds n elements.
func scratchClass(n int) int {
	if n <= 4 {
		return max(n, 1) - 1 // sizes 1, 2, 3, 4: classes 0-3
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	// Sizes 2^e·(1 + q/4) for q = 1..4 follow 2^e.
	q := ((n-1)>>(e-2))&3 + 1
	return 4*(e-1) + q - 1
}

// scratchSize is the capacity of class c's buffers.
func scratchSize(c int) int {
	if c < 4 {
		return c + 1
	}
	e, q := c/4+1, c%4+1
	return (1 << e) + q<<(e-2)
}

// scratchFits returns the largest class whose size is at most n (-1 if
// none): where a buffer of capacity n goes back.
func scratchFits(n int) int {
	c := scratchClass(n)
	if scratchSize(c) > n {
		c--
	}
	return c
}

// scratchKeep is the most buffers a class keeps (two a core and more:
// the kernels that split across the cores take one a range).
const scratchKeep = 8

// scratchPools holds the free buffers of one element type by class.
type scratchPools[T Float] struct {
	mu    sync.Mutex
	class [scratchClasses][][]T
}

var (
	scratch32 scratchPools[float32]
	scratch64 scratchPools[float64]
)

func scratchOf[T Float]() *scratchPools[T] {
	if p, ok := any(&scratch32).(*scratchPools[T]); ok {
		return p
	}
	return any(&scratch64).(*scratchPools[T])
}

// getScratch returns a buffer of n elements with arbitrary contents.
func getScratch[T Float](n int) []T {
	if n <= 0 {
		return nil
	}
	c := scratchClass(n)
	if c >= scratchClasses {
		return make([]T, n)
	}
	p := scratchOf[T]()
	p.mu.Lock()
	if free := p.class[c]; len(free) > 0 {
		b := free[len(free)-1]
		free[len(free)-1] = nil
		p.class[c] = free[:len(free)-1]
		p.mu.Unlock()
		return b[:n]
	}
	p.mu.Unlock()
	return make([]T, n, scratchSize(c))
}

// putScratch returns a buffer from getScratch for reuse.
func putScratch[T Float](b []T) {
	c := scratchFits(cap(b))
	if c < 0 || c >= scratchClasses {
		return
	}
	p := scratchOf[T]()
	p.mu.Lock()
	if len(p.class[c]) < scratchKeep {
		if p.class[c] == nil {
			p.class[c] = make([][]T, 0, scratchKeep)
		}
		p.class[c] = append(p.class[c], b[:0])
	}
	p.mu.Unlock()
}
