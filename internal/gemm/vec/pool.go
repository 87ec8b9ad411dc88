package vec

// MaxPool2DRuns reports whether MaxPool2D runs this geometry (see there).
func MaxPool2DRuns(h, w, kh, kw, sh, sw, ph, pw, oh, ow int) bool {
	if lv := level(); lv != avx512 && lv != avx2 || kw > 16 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || int64(h)*int64(w) >= 1<<31 {
		return false
	}
	// Every window must hold an element.
	for i := range oh {
		if r := i*sh - ph; r+kh <= 0 || r >= h {
			return false
		}
	}
	for j := range ow {
		if c := j*sw - pw; c+kw <= 0 || c >= w {
			return false
		}
	}
	return true
}

// MaxPool2D runs a 2-D max pool over planes of h×w elements of x (plane
// after plane) into y, planes of oh×ow: output (i, j) of a plane takes the
// window of kh×kw elements at rows i*sh-ph+a and columns j*sw-pw+b (a <
// kh, b < kw) that are inside the plane. Without arg, y gets Go's max of
// the window (the values of a loop of max calls in any order; a NaN in
// the window gives a NaN); with arg, the first maximum in row-major order
// (a NaN: the last NaN) and arg its index in the plane.
//
// It reports false and does nothing where there is no vector loop (the
// generic level), for windows wider than 16 or planes of 2^31 elements or
// more, or when a window has no element inside the plane. The AVX-512 loop
// does 16 outputs of a row at a time, the AVX2 loop 8.
func MaxPool2D(x []float32, planes, h, w, kh, kw, sh, sw, ph, pw int, y []float32, oh, ow int, arg []int) bool {
	if !MaxPool2DRuns(h, w, kh, kw, sh, sw, ph, pw, oh, ow) {
		return false
	}
	inN, P := h*w, oh*ow
	_ = x[planes*inN-1]
	_ = y[planes*P-1]
	if arg != nil {
		_ = arg[planes*P-1]
	}
	// Per chunk of 16 outputs of a row (8 with AVX2): tap 0's columns and
	// the taps' masks, the same for every row. Windows 3 wide at stride 2
	// (ResNet's stem pool) load each row once and split it: their columns
	// are 2j and each chunk's first column, c0s, goes into the row
	// offsets; loads masks the 48 elements from c0 that are inside the row
	// (loads2 the 18 of AVX2's 8 outputs).
	lw := 16 // outputs a call
	wide := level() == avx512
	if !wide {
		lw = 8
	}
	split := kw == 3 && sw == 2
	chunks := (ow + lw - 1) / lw
	cols := make([]int32, chunks*lw)
	masks := make([]uint16, chunks*kw)
	loads := make([]uint16, chunks*3)
	loads2 := make([]uint32, chunks)
	c0s := make([]int32, chunks)
	for j := range chunks * lw {
		cols[j] = int32(j*sw - pw) // past ow: masked off
		if j >= ow {
			continue
		}
		for t := range kw {
			if c := j*sw - pw + t; c >= 0 && c < w {
				masks[j/lw*kw+t] |= 1 << (j % lw)
			}
		}
	}
	if split {
		for c := range chunks {
			c0 := c*lw*sw - pw
			c0s[c] = int32(c0)
			for e := range 48 {
				if x := c0 + e; x >= 0 && x < w {
					loads[c*3+e/16] |= 1 << (e % 16)
					if e < 32 {
						loads2[c] |= 1 << e
					}
				}
			}
			for j := range lw {
				cols[c*lw+j] = int32(2 * j)
			}
		}
	}
	if split && !wide && arg == nil && kh <= 3 && !pool3S2Off {
		maxPool3S2Planes(x, planes, h, w, kh, sh, ph, y, oh, ow, c0s, masks, loads2)
		return true
	}
	var rows, shifted [64]int32
	rs, sr := rows[:], shifted[:]
	if kh > len(rows) {
		rs, sr = make([]int32, kh), make([]int32, kh)
	}
	for p := range planes {
		xp := x[p*inN:]
		for i := range oh {
			n := windowRows(rs, i*sh-ph, kh, h, w)
			for c := range chunks {
				o := p*P + i*ow + c*lw
				lanes := min(lw, ow-c*lw)
				var ap *int64
				if arg != nil {
					// int and int64 have the same size on amd64.
					ap = int64Ptr(&arg[o])
				}
				if split {
					for a := range n {
						sr[a] = rs[a] + c0s[c]
					}
					if !wide {
						maxPoolRow3S2AVX2(&xp[0], &sr[0], n, &cols[c*8], &masks[c*kw], &y[o], ap, 1<<lanes-1, &loads2[c])
						continue
					}
					maxPoolRowAVX512(&xp[0], &sr[0], n, &cols[c*16], &masks[c*kw], kw, &y[o], ap, 1<<lanes-1, &loads[c*3])
					continue
				}
				if !wide {
					maxPoolRowAVX2(&xp[0], &rs[0], n, &cols[c*8], &masks[c*kw], kw, &y[o], ap, 1<<lanes-1)
					continue
				}
				maxPoolRowAVX512(&xp[0], &rs[0], n, &cols[c*16], &masks[c*kw], kw, &y[o], ap, 1<<lanes-1, nil)
			}
		}
	}
	return true
}

// windowRows puts in rs the offsets (r·w) of the rows r0 .. r0+kh-1 of a
// window that lie in the h rows of a plane, and returns how many.
func windowRows(rs []int32, r0, kh, h, w int) int {
	n := 0
	for r := max(r0, 0); r < min(r0+kh, h); r++ {
		rs[n] = int32(r * w)
		n++
	}
	return n
}

// pool3S2Off keeps AVX2's 3-wide stride-2 pools (values only) on
// maxPoolRow3S2AVX2, a call per chunk of 8 outputs (tests compare the
// two).
var pool3S2Off bool

// maxPool3S2Planes is MaxPool2D's AVX2 loop for windows 3 wide at stride
// 2 without arg and of 3 rows or fewer, in one call of maxPool3S2AVX2 for
// all the planes: the jobs (a chunk of 8 outputs of a row each) and the
// chunks' lane masks are made once, from MaxPool2D's c0s, tap masks and
// loads2 (AVX2's).
func maxPool3S2Planes(x []float32, planes, h, w, kh, sh, ph int, y []float32, oh, ow int, c0s []int32, masks []uint16, loads2 []uint32) {
	chunks := len(c0s)
	lanes := func(bits uint32) [8]int32 {
		var v [8]int32
		for j := range v {
			if bits>>j&1 != 0 {
				v[j] = -1
			}
		}
		return v
	}
	lm := make([]int32, chunks*64)
	for c := range chunks {
		m := lm[c*64:]
		for q, bits := range []uint32{loads2[c], loads2[c] >> 8, loads2[c] >> 2, loads2[c] >> 10,
			uint32(masks[c*3]), uint32(masks[c*3+1]), uint32(masks[c*3+2]), 1<<min(8, ow-c*8) - 1} {
			v := lanes(bits & 0xff)
			copy(m[q*8:], v[:])
		}
	}
	jobs := make([]int32, 0, oh*chunks*7)
	for i := range oh {
		var rs [3]int32
		n := windowRows(rs[:], i*sh-ph, kh, h, w)
		for c := range chunks {
			full := int32(0)
			if ow-c*8 >= 8 {
				full = 1
			}
			jobs = append(jobs, int32(n))
			for a := range rs {
				jobs = append(jobs, rs[a]+c0s[c])
			}
			jobs = append(jobs, int32(i*ow+c*8), int32(c), full)
		}
	}
	_ = x[planes*h*w-1]
	_ = y[planes*oh*ow-1]
	maxPool3S2AVX2(&x[0], &y[0], &jobs[0], oh*chunks, &lm[0], planes, h*w, oh*ow)
}
