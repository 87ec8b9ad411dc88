package ops

import "math"

// Direct loops for grouped convolutions (depthwise, channel multipliers,
// small groups): no im2col matrix and no GEMM. One sample's input channels
// of a group are copied once into a stride-phased buffer (convPhased), in
// which every tap of an output row reads a contiguous run; an output row is
// then a weighted sum of such runs (convTapRows), the weight gradient a dot
// product of each run with the output gradient's row (convTapDots), and the
// input gradient the same weighted sum over the output gradient, copied
// with column padding, read through the adjoint taps.

// convPhased lays out one sample's input channels of a group so that the
// input read by output column ow through width tap kw is element
// q[kw] + ow of a row: row r of channel ci in phase p holds input columns
// j*s + p - pb (zero outside the input), and a tap reads phase p[kw].
// Without padded rows, input rows are not padded: a tap on a padding row
// reads the zero row. With them (newConvPhasedPadded), each depth slice
// holds ht zero rows, its in1 input rows, then zero rows up to hp: the
// taps of every output row of a slice are then those of the first moved
// on by whole rows, and an output plane is one run (convRuns).
type convPhased struct {
	s, pb    int   // width stride and begin padding
	p, q     []int // per width tap: phase and column offset
	lo, hi   []int // per phase: the columns [lo, hi) that hold input
	wj       int   // row length
	rows, ch int   // buffer rows per channel (depth × hp), channels
	in0, in1 int   // input depth and height
	ht, hp   int   // zero rows before a depth slice's input rows; rows a slice
	zero     int   // offset of the zero row
}

func newConvPhased(g *convGeom, ch int) convPhased { return newConvPhasedRows(g, ch, 0, 0) }

// newConvPhasedPadded is newConvPhased with the height padding held as zero
// rows, for the forward pass (the weight gradient sums its runs in the
// unpadded layout's order).
func newConvPhasedPadded(g *convGeom, ch int) convPhased {
	ht, hb := convPaddedRows(g)
	return newConvPhasedRows(g, ch, ht, hb)
}

func newConvPhasedRows(g *convGeom, ch, ht, hb int) convPhased {
	s, d := g.s[2], g.d[2]
	hp := ht + g.in[1] + hb
	ph := convPhased{s: s, pb: g.pb[2], rows: g.in[0] * hp, ch: ch, in0: g.in[0], in1: g.in[1], ht: ht, hp: hp,
		p: make([]int, g.k[2]), q: make([]int, g.k[2])}
	for kw := range g.k[2] {
		ph.p[kw], ph.q[kw] = kw*d%s, kw*d/s
	}
	ph.wj = g.out[2] + ph.q[g.k[2]-1]
	ph.zero = ch * s * ph.rows * ph.wj
	ph.lo, ph.hi = make([]int, s), make([]int, s)
	for p := range s {
		// Columns j with 0 <= j*s + p - pb < in2.
		ph.lo[p], ph.hi[p] = convSpan(p-ph.pb, s, ph.wj, g.in[2])
	}
	return ph
}

// size is the buffer's length in elements.
func (ph *convPhased) size() int { return ph.zero + ph.wj }

// convFillPhased copies channels [0, ch) of x (planes of rows × in2
// elements) into buf, writing only the columns that hold input: the
// padding and the zero row are left as they are, zero since the buffer
// was cleared (they never change).
func convFillPhased[T Float](ph *convPhased, x, buf []T, in2 int) {
	s, wj := ph.s, ph.wj
	switch s {
	case 1:
		convFillPhased1(ph, x, buf, in2)
		return
	case 2:
		convFillPhased2(ph, x, buf, in2)
		return
	}
	for ci := range ph.ch {
		for ir := range ph.in0 * ph.in1 {
			src := x[(ci*ph.in0*ph.in1+ir)*in2:][:in2]
			r := ph.row(ir)
			for p := range s {
				lo, hi := ph.lo[p], ph.hi[p]
				dst := buf[((ci*s+p)*ph.rows+r)*wj:][lo:hi]
				if s == 1 {
					copyShort(dst, src[lo-ph.pb:])
					continue
				}
				for j, iw := 0, lo*s+p-ph.pb; j < len(dst); j, iw = j+1, iw+s {
					dst[j] = src[iw]
				}
			}
		}
	}
}

// row is the buffer row of input row ir (depth × height) in a channel.
func (ph *convPhased) row(ir int) int { return ir/ph.in1*ph.hp + ph.ht + ir%ph.in1 }

// convFillPhased1 is convFillPhased for width stride 1: one phase, whose
// rows are the input rows shifted by the begin padding.
func convFillPhased1[T Float](ph *convPhased, x, buf []T, in2 int) {
	lo, hi, wj, in1 := ph.lo[0], ph.hi[0], ph.wj, ph.in1
	n, from := hi-lo, lo-ph.pb
	if n <= 0 {
		return
	}
	// A depth slice sl's input rows are rows sl*hp + ht + ih of buf.
	for sl := range ph.ch * ph.in0 {
		b, xs := buf[(sl*ph.hp+ph.ht)*wj:][:in1*wj], x[sl*in1*in2:][:in1*in2]
		for ih := range in1 {
			copyShort(b[ih*wj+lo:][:n], xs[ih*in2+from:][:n])
		}
	}
}

// convFillPhased2 is convFillPhased for width stride 2: each input row
// splits into its two phases.
func convFillPhased2[T Float](ph *convPhased, x, buf []T, in2 int) {
	wj, rows, pb, nin := ph.wj, ph.rows, ph.pb, ph.in0*ph.in1
	lo0, n0, lo1, n1 := ph.lo[0], ph.hi[0]-ph.lo[0], ph.lo[1], ph.hi[1]-ph.lo[1]
	f0, f1 := 2*lo0-pb, 2*lo1+1-pb
	for ci := range ph.ch {
		b0, b1 := buf[2*ci*rows*wj:], buf[(2*ci+1)*rows*wj:]
		for ir := range nin {
			src, r := x[(ci*nin+ir)*in2:][:in2], ph.row(ir)
			if n0 > 0 {
				gather2(b0[r*wj+lo0:][:n0], src[f0:])
			}
			if n1 > 0 {
				gather2(b1[r*wj+lo1:][:n1], src[f1:])
			}
		}
	}
}

// copyShort is copy, by a loop for the short rows of small feature maps.
func copyShort[T Float](dst, src []T) {
	if len(dst) > 16 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i]
	}
}

// taps writes into off the offset in the phased buffer of every tap (in
// the weight's order: channel, depth, height, width) of output row
// (od, oh); a tap on a padding row reads the zero row.
func (ph *convPhased) taps(g *convGeom, od, oh int, off []int32) {
	t := 0
	for ci := range ph.ch {
		for kd := range g.k[0] {
			id := od*g.s[0] - g.pb[0] + kd*g.d[0]
			for kh := range g.k[1] {
				ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
				if id < 0 || id >= g.in[0] || ih < -ph.ht || ih >= ph.hp-ph.ht {
					for range g.k[2] {
						off[t] = int32(ph.zero)
						t++
					}
					continue
				}
				r := id*ph.hp + ph.ht + ih
				for kw := range g.k[2] {
					off[t] = int32(((ci*ph.s+ph.p[kw])*ph.rows+r)*ph.wj + ph.q[kw])
					t++
				}
			}
		}
	}
}

// convDirectFits reports whether the direct loops' buffers of this
// convolution are addressed by int32 offsets.
func (cd *convDims) convDirectFits() bool {
	g := &cd.g
	cg, mg := cd.c/cd.group, cd.m/cd.group
	ht, hb := convPaddedRows(g)
	return convPhasedSize(g, cg, 0, 0) < math.MaxInt32 && convPhasedSize(g, cg, ht, hb) < math.MaxInt32 &&
		convDyPadSize(g, mg) < math.MaxInt32
}

// convPaddedRows is the zero rows newConvPhasedPadded puts before and after
// a depth slice's input rows.
func convPaddedRows(g *convGeom) (ht, hb int) {
	last := (g.out[1]-1)*g.s[1] - g.pb[1] + (g.k[1]-1)*g.d[1] // the last input row read
	return max(0, g.pb[1]), max(0, last-(g.in[1]-1))
}

// convPhasedSize is newConvPhasedRows(g, ch, ht, hb).size() without
// building the layout (convDirectFits runs at every forward pass, and the
// layout's slices were most of a MobileNetV2 run's allocations).
func convPhasedSize(g *convGeom, ch, ht, hb int) int {
	s := g.s[2]
	wj := g.out[2] + (g.k[2]-1)*g.d[2]/s
	return ch*s*g.in[0]*(ht+g.in[1]+hb)*wj + wj
}

// convDyPadSize is newConvDyPad(g, ch).size() without building it.
func convDyPadSize(g *convGeom, ch int) int {
	s, pb := g.s[2], g.pb[2]
	width := g.out[2]
	for p := range s {
		_, hi := convSpan(p-pb, s, math.MaxInt32, g.in[2])
		width = max(width, hi)
	}
	wd := (g.k[2]-1)*g.d[2]/s + width
	return (ch*g.out[0]*g.out[1] + 1) * wd
}

// convDirectForward computes y = conv(x, w) + b (and the fused Relu) by the
// direct loops, one (sample, group) at a time across the cores.
func convDirectForward[T Float](x, w, b []T, cd *convDims, y []T) {
	if p := dwPlanFor(cd); p != nil && dwForward(p, x, w, b, cd, y) {
		return
	}
	g := &cd.g
	cg, mg := cd.c/cd.group, cd.m/cd.group
	P, inN, nt := g.outSize(), g.inSize(), cg*g.kSize()
	o2 := g.out[2]
	ph := newConvPhasedPadded(g, cg)
	table := ph.table(g)
	runs := convRuns(table, nt, g.out[0]*g.out[1])
	parallelRange(cd.n*cd.group, mg*P*nt+cg*inN, func(lo, hi int) {
		buf := getScratch[T](ph.size())
		defer putScratch(buf)
		clear(buf)
		// Unit u's planes are y[u*mg*P:(u+1)*mg*P]: the fused Relu or
		// Clip runs over a few units' planes at a time, still in cache,
		// rather than plane by plane (tiny planes deep in a network).
		done := lo
		for u := lo; u < hi; u++ {
			n, gi := u/cd.group, u%cd.group
			convFillPhased(&ph, x[(n*cd.c+gi*cg)*inN:], buf, g.in[2])
			for m := gi * mg; m < (gi+1)*mg; m++ {
				var bias T
				if b != nil {
					bias = b[m]
				}
				wm, yp := w[m*nt:][:nt], y[(n*cd.m+m)*P:][:P]
				for _, run := range runs {
					convTapRows(yp[run.row*o2:], o2, run.rows, o2, bias, buf, run.step, table[run.row*nt:][:nt], wm)
				}
			}
			if (u+1-done)*mg*P >= convActivateBlock || u+1 == hi {
				convActivate(y[done*mg*P:(u+1)*mg*P], cd)
				done = u + 1
			}
		}
	})
}

// convActivateBlock is the output elements from which convDirectForward
// applies the fused activation.
const convActivateBlock = 2048

// table lists the taps of every output row (ph.taps), checked to stay in
// the buffer.
func (ph *convPhased) table(g *convGeom) []int32 {
	nt := ph.ch * g.kSize()
	off := make([]int32, g.out[0]*g.out[1]*nt)
	for od := range g.out[0] {
		for oh := range g.out[1] {
			ph.taps(g, od, oh, off[(od*g.out[1]+oh)*nt:][:nt])
		}
	}
	convTapCheck(g.out[2], ph.size(), off)
	return off
}

// convDirectWeight computes dw (zeroed by the caller) from dy and x by the
// direct loops: each tap's weight gradient is the dot product of dy's rows
// with the runs that tap read, over every sample. Groups split across the
// cores; each sums its samples in order.
func convDirectWeight[T Float](dy, x []T, cd *convDims, dw []T) {
	g := &cd.g
	cg, mg := cd.c/cd.group, cd.m/cd.group
	P, inN, nt := g.outSize(), g.inSize(), cg*g.kSize()
	o2 := g.out[2]
	ph := newConvPhased(g, cg)
	table := ph.table(g)
	runs := convRuns(table, nt, g.out[0]*g.out[1])
	parallelRange(cd.group, cd.n*(mg*P*nt+cg*inN), func(lo, hi int) {
		buf := getScratch[T](ph.size())
		defer putScratch(buf)
		clear(buf)
		for gi := lo; gi < hi; gi++ {
			for n := range cd.n {
				convFillPhased(&ph, x[(n*cd.c+gi*cg)*inN:], buf, g.in[2])
				for m := gi * mg; m < (gi+1)*mg; m++ {
					dwm, dyp := dw[m*nt:][:nt], dy[(n*cd.m+m)*P:][:P]
					for _, run := range runs {
						convTapDots(dwm, dyp[run.row*o2:], o2, run.rows, o2, buf, run.step, table[run.row*nt:][:nt])
					}
				}
			}
		}
	})
}

// convDyPad is one sample's output gradient of a group's mg channels with
// every row padded by l zeros in front and zeros behind, to wd elements,
// so that the adjoint taps read contiguous runs; then a zero row.
type convDyPad struct {
	l, wd, rows, ch int
	in              int // input rows (depth × height)
	s, pb, in2      int
	p, q            []int // per width tap: phase and column offset (as convPhased)
	jlo, jhi        []int // per phase: the columns j whose input column j*s + p - pb exists
}

func newConvDyPad(g *convGeom, ch int) convDyPad {
	ph := newConvPhased(g, 1)
	dp := convDyPad{l: ph.q[len(ph.q)-1], rows: g.out[0] * g.out[1], ch: ch, in: ph.rows, s: ph.s, pb: ph.pb, in2: g.in[2],
		p: ph.p, q: ph.q, jlo: make([]int, ph.s), jhi: make([]int, ph.s)}
	width := g.out[2]
	for p := range ph.s {
		dp.jlo[p], dp.jhi[p] = convSpan(p-ph.pb, ph.s, math.MaxInt32, g.in[2])
		width = max(width, dp.jhi[p])
	}
	dp.wd = dp.l + width
	return dp
}

func (dp *convDyPad) size() int { return (dp.ch*dp.rows + 1) * dp.wd }

// convFillDyPad copies channels [0, ch) of dy (planes of rows × o2
// elements) into buf, whose padding is left as it is (zero since the
// buffer was cleared).
func convFillDyPad[T Float](dp *convDyPad, dy, buf []T, o2 int) {
	for r := range dp.ch * dp.rows {
		copyShort(buf[r*dp.wd+dp.l:][:o2], dy[r*o2:][:o2])
	}
}

// convDirectData computes dx from dy and w by the direct loops: for every
// input row and phase, the taps that reach it (a stride skips some) read
// runs of the padded dy, (sample, group) pairs split across the cores.
func convDirectData[T Float](dy, w []T, cd *convDims, dx []T) {
	g := &cd.g
	cg, mg, K := cd.c/cd.group, cd.m/cd.group, g.kSize()
	P, inN := g.outSize(), g.inSize()
	dp := newConvDyPad(g, mg)
	in2, s, s1 := g.in[2], dp.s, g.s[1]
	runs, most := dp.runs(g, cg)
	parallelRange(cd.n*cd.group, mg*P*cg*K+mg*P, func(lo, hi int) {
		buf := getScratch[T](dp.size())
		defer putScratch(buf)
		clear(buf)
		var tmp []T
		if s > 1 {
			tmp = getScratch[T](dp.in * dp.wd)
			defer putScratch(tmp)
		}
		wc := make([]T, most)
		for u := lo; u < hi; u++ {
			n, gi := u/cd.group, u%cd.group
			convFillDyPad(&dp, dy[(n*cd.m+gi*mg)*P:], buf, g.out[2])
			for ci := range cg {
				wg := w[(gi*mg*cg+ci)*K:]
				xc := dx[(n*cd.c+gi*cg+ci)*inN:][:inN]
				for _, run := range runs {
					wr := wc[:len(run.off)]
					for t, i := range run.widx {
						wr[t] = wg[i]
					}
					if s == 1 {
						convTapRows(xc[run.row*in2:], in2, run.rows, s1*in2, 0, buf, run.step, run.off, wr)
						continue
					}
					j0, nj := dp.jlo[run.p], dp.jhi[run.p]-dp.jlo[run.p]
					convTapRows(tmp, nj, run.rows, nj, 0, buf, run.step, run.off, wr)
					for k := range run.rows {
						xr, src := xc[(run.row+k*s1)*in2:][:in2], tmp[k*nj:][:nj]
						for i, iw := 0, j0*s+run.p-dp.pb; i < nj; i, iw = i+1, iw+s {
							xr[iw] = src[i]
						}
					}
				}
			}
		}
	})
}

// convDataRun is a block of input rows row, row + s1, ... (rows of them,
// s1 the height stride) in phase p whose adjoint taps are the first row's
// moved on by step elements a row: off in the padded dy, widx the weight
// indices (convDyPad.taps).
type convDataRun struct {
	p, row, rows, step int
	off                []int32
	widx               []int
}

// runs lists the adjoint taps of every input row and phase in runs,
// checked to stay in the buffer, and the largest tap count.
func (dp *convDyPad) runs(g *convGeom, cg int) (runs []convDataRun, most int) {
	nmax := dp.ch * g.kSize()
	off, widx := make([]int32, nmax), make([]int, nmax)
	s1 := g.s[1]
	for p := range dp.s {
		if dp.jlo[p] >= dp.jhi[p] {
			continue
		}
		for res := range min(s1, dp.in) {
			cur := -1
			for r := res; r < dp.in; r += s1 {
				nt := dp.taps(g, r/g.in[1], r%g.in[1], p, cg, off, widx)
				convTapCheck(dp.jhi[p]-dp.jlo[p], dp.size(), off[:nt])
				most = max(most, nt)
				if cur >= 0 && runs[cur].extends(off[:nt], widx[:nt]) {
					runs[cur].rows++
					continue
				}
				runs = append(runs, convDataRun{p: p, row: r, rows: 1, off: append([]int32(nil), off[:nt]...),
					widx: append([]int(nil), widx[:nt]...)})
				cur = len(runs) - 1
			}
		}
	}
	return runs, most
}

// extends reports whether taps off and widx continue the run as its next
// row, setting the run's step at its second row.
func (run *convDataRun) extends(off []int32, widx []int) bool {
	if len(off) != len(run.off) {
		return false
	}
	step := run.step
	if run.rows == 1 && len(off) > 0 {
		step = int(off[0]) - int(run.off[0])
	}
	if step < 0 {
		return false
	}
	for t := range off {
		if int(off[t]) != int(run.off[t])+run.rows*step || widx[t] != run.widx[t] {
			return false
		}
	}
	run.step = step
	return true
}

// taps lists the adjoint taps of input row (id, ih) in phase p: the offset
// in the padded dy of the run that feeds columns jlo[p] on, and the index of
// its weight from the group's first weight of an input channel (of output
// channel mi of the group, cg input channels a group). It returns their
// number.
func (dp *convDyPad) taps(g *convGeom, id, ih, p, cg int, off []int32, widx []int) int {
	t := 0
	K := g.kSize()
	for mi := range dp.ch {
		for kd := range g.k[0] {
			od, ok := convAdjoint(id, kd, g.s[0], g.d[0], g.pb[0], g.out[0])
			if !ok {
				continue
			}
			for kh := range g.k[1] {
				oh, ok := convAdjoint(ih, kh, g.s[1], g.d[1], g.pb[1], g.out[1])
				if !ok {
					continue
				}
				r := mi*dp.rows + od*g.out[1] + oh
				for kw := range g.k[2] {
					if dp.p[kw] != p {
						continue
					}
					off[t] = int32(r*dp.wd + dp.l - dp.q[kw] + dp.jlo[p])
					widx[t] = mi*cg*K + (kd*g.k[1]+kh)*g.k[2] + kw
					t++
				}
			}
		}
	}
	return t
}

// convAdjoint returns the output index o with o*s - pb + k*d == i, if there
// is one in [0, out).
func convAdjoint(i, k, s, d, pb, out int) (int, bool) {
	v := i + pb - k*d
	if v < 0 || v%s != 0 || v/s >= out {
		return 0, false
	}
	return v / s, true
}

// convTapRowsGo sets, for each row r < rows, dst[r*dstStride+i] = init +
// sum_t w[t]*base[r*baseStride+off[t]+i] for i < n.
func convTapRowsGo[T Float](dst []T, n, rows, dstStride int, init T, base []T, baseStride int, off []int32, w []T) {
	for r := range rows {
		convTapRowGo(dst[r*dstStride:][:n], init, base[r*baseStride:], off, w)
	}
}

// convTapRowGo sets dst[i] = init + sum_t w[t]*base[off[t]+i].
func convTapRowGo[T Float](dst []T, init T, base []T, off []int32, w []T) {
	n := len(dst)
	for i := range dst {
		dst[i] = init
	}
	t := 0
	for ; t+3 <= len(off); t += 3 {
		a, b, c := base[off[t]:][:n], base[off[t+1]:][:n], base[off[t+2]:][:n]
		wa, wb, wc := w[t], w[t+1], w[t+2]
		for i := range dst {
			dst[i] += wa*a[i] + wb*b[i] + wc*c[i]
		}
	}
	for ; t < len(off); t++ {
		a, wa := base[off[t]:][:n], w[t]
		for i := range dst {
			dst[i] += wa * a[i]
		}
	}
}

// convTapDotsGo adds to acc[t] the sum over rows r < rows and i < n of
// dy[r*dyStride+i]*base[r*baseStride+off[t]+i].
func convTapDotsGo[T Float](acc, dy []T, n, rows, dyStride int, base []T, baseStride int, off []int32) {
	for t, o := range off {
		var s T
		for r := range rows {
			a, d := base[r*baseStride+int(o):][:n], dy[r*dyStride:][:n]
			for i, v := range d {
				s += v * a[i]
			}
		}
		acc[t] += s
	}
}

// convRowRun is a block of rows [row, row+rows) (in a table's order) whose
// taps are those of the first row, each moved on by step elements a row.
type convRowRun struct{ row, rows, step int }

// convRuns splits the count rows of a table (nt offsets a row) into runs.
func convRuns(off []int32, nt, count int) []convRowRun {
	var runs []convRowRun
	same := func(a, b int, step int) bool {
		for t := range nt {
			if int(off[b*nt+t])-int(off[a*nt+t]) != step {
				return false
			}
		}
		return true
	}
	for r := 0; r < count; {
		run := convRowRun{row: r, rows: 1}
		if r+1 < count && nt > 0 {
			run.step = int(off[(r+1)*nt]) - int(off[r*nt])
			for run.step >= 0 && r+run.rows < count && same(r+run.rows-1, r+run.rows, run.step) {
				run.rows++
			}
		}
		runs = append(runs, run)
		r += run.rows
	}
	return runs
}

// convTapCheck panics (an engine bug, as an index out of range would) when
// a run of n elements at one of the offsets leaves a buffer of size
// elements: the assembly kernels do not check.
func convTapCheck(n, size int, off []int32) {
	for _, o := range off {
		if o < 0 || int(o)+n > size {
			panic("ops: direct convolution tap outside its buffer")
		}
	}
}
