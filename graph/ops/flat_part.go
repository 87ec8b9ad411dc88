package ops

import G "gorgonia.org/gorgonia"

// flatPart says what a copying kernel's output holds: elements [from,
// from+n) of src's output at [off, off+n), every other element 0. A
// reader that knows this may read src in place instead, and leave the
// copy unread (a training step runs only what its roots read).
type flatPart struct {
	src          *G.Node
	from, off, n int
}

// markFlat records on n, a kernel's node, that its output is p.
func markFlat(n *G.Node, p flatPart) {
	if k, ok := n.Op().(*kernelOp); ok {
		k.part = &p
	}
}

// flatSource returns the node and the element at which the n elements
// at off of n's output can be read in place, following copies of copies;
// n itself and off when n is no such copy. zeros says every element of
// n's output outside [off, off+cnt) is 0 (n's part is that range).
func flatSource(n *G.Node, off, cnt int) (src *G.Node, from int, zeros bool) {
	src, from = n, off
	for {
		k, ok := src.Op().(*kernelOp)
		if !ok || k.part == nil {
			return src, from, zeros
		}
		p := k.part
		if from < p.off || from+cnt > p.off+p.n {
			return src, from, zeros
		}
		if src == n {
			zeros = p.off == off && p.n == cnt // n outside its part
		}
		src, from = p.src, p.from+from-p.off
	}
}

// flatReads lets readers use flatSource (a variable so that tests can
// compare the reads in place with the copies they skip).
var flatReads = true
