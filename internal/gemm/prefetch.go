package gemm

// lineFloats is the floats of a 64-byte cache line.
const lineFloats = 16

// prefetcher spreads the prefetches of a list of ranges over the
// micro-kernel's calls of a product: a burst of them all before the
// product would stall on the cache's misses in flight as the reads
// themselves would, where a few lines a call overlap with the kernel's
// arithmetic.
type prefetcher struct {
	ranges [][]float32
	r, off int // the next line: range r, from float off
	per    int // floats a call
}

// newPrefetcher returns the prefetcher of ranges over calls kernel calls
// (none, with no ranges, without prefetches in this build or with nothing
// to ask for).
func newPrefetcher(ranges [][]float32, calls int) prefetcher {
	if prefetchAsk == nil || calls <= 0 {
		return prefetcher{}
	}
	n := 0
	for _, x := range ranges {
		n += len(x)
	}
	if n == 0 {
		return prefetcher{}
	}
	lines := ceilDiv(n, lineFloats) + len(ranges) // each range may straddle one more line
	return prefetcher{ranges: ranges, per: ceilDiv(lines, calls) * lineFloats}
}

// step asks for the next lines of the ranges, about per floats.
func (f *prefetcher) step() {
	left := f.per
	for left > 0 && f.r < len(f.ranges) {
		x := f.ranges[f.r][f.off:]
		if len(x) == 0 {
			f.r, f.off = f.r+1, 0
			continue
		}
		n := min(len(x), left)
		prefetchAsk(&x[0], n)
		f.off += n
		left -= n
	}
}
