package ops

import (
	"math"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Winograd's F(2x2, 3x3) for the 3x3 stride-1 convolutions of inference
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2015): each 2x2 block of a plane's output (a tile) comes from the 4x4
// block of input around it as
//
//	Y = Aᵀ [ Σ_c (G g_mc Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// so a tile costs 16 multiplies a channel pair instead of 36. The sum over
// channels is 16 products, one for each of the 4x4 positions ξ:
// M_ξ (m × tiles) = U_ξ (m × c) · V_ξ (c × tiles), with U = G g Gᵀ made
// once from the constant weights and packed for the GEMM, V = Bᵀ d B made
// from the input at each run, then Y = Aᵀ M A and the bias and fused
// activation. The numbers differ from the direct product's in their
// roundings (the transforms add and subtract inputs and weights before
// multiplying), within what ONNX Runtime's own kernels differ by; training
// keeps the direct products, whose numbers PyTorch's fixtures check.

// convWinogradOn turns the Winograd path on (a variable so tests can run
// the direct one on the same graph).
var convWinogradOn = true

// convWinogradLimit bounds the elements of one chunk's V (and of its M):
// the samples of a chunk share the 16 products.
var convWinogradLimit = 1 << 20

// convWinogradMax bounds one sample's V (32 MiB of float32).
const convWinogradMax = 1 << 23

// convWinograd is a 3x3 stride-1 convolution's transformed weights and
// the layout of its tiles.
type convWinograd struct {
	u      [16]*gemm.PackedA // U_ξ, m × c, packed as the products' A
	ub     [16][]float32     // training: U_ξ's values, made at each run
	th, tw int               // tiles of an output plane: ceil(out/2) each way
	hp, wp int               // a padded input plane: 2·th+2 by 2·tw+2
	nb     int               // samples a chunk
	// The tiles of a chunk, in V's and M's order (sample, tile row, tile
	// column): the offset of each one's 4x4 input block in the chunk's
	// padded planes of one channel, and of its 2x2 output block in the
	// chunk's output planes of one channel (y when the planes are even,
	// with samples m planes apart, else an even plane per sample).
	in, out []int32
	even    bool // the output planes have even sides
}

// convWinogradFits reports whether cd is a 2-D convolution F(2x2, 3x3)
// does: one group, a 3x3 window, unit strides and dilations, padding of
// at most the window, and sizes convWinogradSize takes.
func convWinogradFits(cd *convDims) bool {
	g := &cd.g
	return convWinogradOn && cd.group == 1 && g.planar() &&
		g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 1 && g.s[2] == 1 && g.d[1] == 1 && g.d[2] == 1 &&
		g.out[1] >= 1 && g.out[2] >= 1 && g.pb[1] >= 0 && g.pb[2] >= 0 && g.pe[1] >= 0 && g.pe[2] >= 0 &&
		g.pb[1] <= 2 && g.pb[2] <= 2 && convWinogradSize(cd)
}

// newConvWinograd returns the Winograd form of cd with its constant
// weights w (m, c, 3, 3) transformed and packed once.
func newConvWinograd(cd *convDims, w []float32) *convWinograd {
	wg := newConvWinogradLayout(cd)
	u := winoBuffers(cd.m * cd.c)
	winoWeights(w, 0, cd.m*cd.c, &u)
	for i := range u {
		wg.u[i] = gemm.PackA(false, cd.m, cd.c, u[i], cd.c)
	}
	return wg
}

// newConvWinogradTrain returns the Winograd form of cd for weights that
// change between runs (training): setWeights transforms and packs them at
// each run.
func newConvWinogradTrain(cd *convDims) *convWinograd {
	wg := newConvWinogradLayout(cd)
	wg.ub = winoBuffers(cd.m * cd.c)
	for i := range wg.u {
		wg.u[i] = gemm.NewPackedA(cd.m, cd.c)
	}
	return wg
}

// winoBuffers returns 16 slices of n floats, a cache line more than n
// apart in one allocation: winoWeights stores to all 16 at once, which
// allocated separately (a power of two of pages each) fell in one set of
// the L1 cache and took 3.5 times as long.
func winoBuffers(n int) [16][]float32 {
	var u [16][]float32
	buf := make([]float32, 16*(n+16))
	for i := range u {
		u[i] = buf[i*(n+16):][:n]
	}
	return u
}

// convWinogradTrains reports whether training's F(2x2, 3x3) (the weights
// transformed and packed at each run, 16·m·c values, against the direct
// product's 9·m·c) is worth it: when the batch's tiles are at least twice
// the larger channel count, each U value packed then takes part in at
// least 2·tiles multiply-adds. ResNet-18 at 64px, batch 16: its layers 1
// (1024 tiles, 64 channels) and 2 (256, 128) take it, 3 and 4 (64 and 16
// tiles, 256 and 512 channels) keep the direct products, where packing 16
// transformed weights would cost more than the multiplies saved.
func convWinogradTrains(cd *convDims) bool {
	tiles := cd.n * ((cd.g.out[1] + 1) / 2) * ((cd.g.out[2] + 1) / 2)
	return tiles >= 2*max(cd.m, cd.c)
}

// setWeights transforms w (m, c, 3, 3) into wg.ub and packs it into wg.u.
func (wg *convWinograd) setWeights(w []float32, cd *convDims) {
	M, C := cd.m, cd.c
	parallelRange(M*C, 16*9, func(lo, hi int) { winoWeights(w, lo, hi, &wg.ub) })
	gemm.Parallel(16, func(i int) { wg.u[i].SetCols(false, 0, C, wg.ub[i], C) })
}

// winoWeights writes U = G g Gᵀ of the 3x3 windows [lo, hi) of w (the
// (m, c) pairs in order) to u[ξ][pair], with
//
//	G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//
// in float64, each U rounded once.
func winoWeights(w []float32, lo, hi int, u *[16][]float32) {
	n := hi - lo
	w = w[lo*9 : hi*9]
	for i := range u {
		_ = u[i][hi-1]
	}
	for p := range n {
		g := w[p*9:][:9]
		q := lo + p
		// Gg: 4 rows of 3 (a, b, c, d), column j from the window's column j.
		a0, a1, a2 := float64(g[0]), float64(g[1]), float64(g[2])
		d0, d1, d2 := float64(g[6]), float64(g[7]), float64(g[8])
		m0, m1, m2 := float64(g[3]), float64(g[4]), float64(g[5])
		b0, b1, b2 := (a0+m0+d0)/2, (a1+m1+d1)/2, (a2+m2+d2)/2
		c0, c1, c2 := (a0-m0+d0)/2, (a1-m1+d1)/2, (a2-m2+d2)/2
		// Each row r times Gᵀ: r0, (r0+r1+r2)/2, (r0-r1+r2)/2, r2.
		u[0][q], u[1][q], u[2][q], u[3][q] = float32(a0), float32((a0+a1+a2)/2), float32((a0-a1+a2)/2), float32(a2)
		u[4][q], u[5][q], u[6][q], u[7][q] = float32(b0), float32((b0+b1+b2)/2), float32((b0-b1+b2)/2), float32(b2)
		u[8][q], u[9][q], u[10][q], u[11][q] = float32(c0), float32((c0+c1+c2)/2), float32((c0-c1+c2)/2), float32(c2)
		u[12][q], u[13][q], u[14][q], u[15][q] = float32(d0), float32((d0+d1+d2)/2), float32((d0-d1+d2)/2), float32(d2)
	}
}

// newConvWinogradLayout returns cd's tiles, chunks and offsets.
func newConvWinogradLayout(cd *convDims) *convWinograd {
	M, C := cd.m, cd.c
	Ho, Wo := cd.g.out[1], cd.g.out[2]
	wg := &convWinograd{th: (Ho + 1) / 2, tw: (Wo + 1) / 2, even: Ho%2 == 0 && Wo%2 == 0}
	wg.hp, wg.wp = 2*wg.th+2, 2*wg.tw+2
	tiles := wg.th * wg.tw
	wg.nb = max(1, min(cd.n, convWinogradLimit/(16*max(C, M)*tiles)))
	T := wg.nb * tiles
	wg.in, wg.out = make([]int32, T), make([]int32, T)
	for t := range T {
		s, r := t/tiles, t%tiles
		th, tw := r/wg.tw, r%wg.tw
		wg.in[t] = int32(s*wg.hp*wg.wp + 2*th*wg.wp + 2*tw)
		if wg.even {
			wg.out[t] = int32(s*M*Ho*Wo + 2*th*Wo + 2*tw)
		} else {
			wg.out[t] = int32(s*4*tiles + 2*th*2*wg.tw + 2*tw)
		}
	}
	return wg
}

// convWinogradSize reports whether one sample's V and M fit in
// convWinogradMax elements (the chunks have at least one sample; beyond it
// the direct products, which read the input in place, use less memory) and
// a chunk's offsets fit int32.
func convWinogradSize(cd *convDims) bool {
	tiles := int64((cd.g.out[1] + 1) / 2 * ((cd.g.out[2] + 1) / 2))
	if 16*int64(max(cd.c, cd.m))*tiles > convWinogradMax {
		return false
	}
	return int64(cd.n)*max(int64(cd.m*cd.g.outSize()), 4*tiles, (2*tiles+4)*4) < 1<<31-1
}

// forward computes y = conv(x, w) + b and the fused activation.
func (wg *convWinograd) forward(x, b []float32, cd *convDims, y []float32) {
	M, P, tiles := cd.m, cd.g.outSize(), wg.th*wg.tw
	wg.eachChunk(x, cd, func(n0, cnt int, v []float32, vs int, mm []float32, ms int) {
		T := cnt * tiles
		gemm.Parallel(16, func(xi int) {
			wg.u[xi].SgemmSerial(false, T, 1, v[xi*vs:], T, 0, mm[xi*ms:], T)
		})
		parallelRange(M, 16*T, func(lo, hi int) {
			var tmp []float32
			if !wg.even {
				tmp = getScratch[float32](cnt * 4 * tiles)
				defer putScratch(tmp)
			}
			for m := lo; m < hi; m++ {
				bv, relu := float32(math.Copysign(0, -1)), cd.relu
				if b != nil && b[m] != 0 {
					bv = b[m]
				}
				if cd.clip != nil {
					bv, relu = float32(math.Copysign(0, -1)), false
				}
				if wg.even {
					wg.output(mm[m*T:], ms, y[(n0*M+m)*P:], T, bv, relu)
				} else {
					wg.output(mm[m*T:], ms, tmp, T, bv, relu)
					wg.crop(tmp, cnt, cd, y[(n0*M+m)*P:], M*P)
				}
				if cd.clip != nil {
					for s := range cnt {
						convEpilogue(y[((n0+s)*M+m)*P:][:P], b, m, cd)
					}
				}
			}
		})
	})
}

// eachChunk calls f for each chunk of wg.nb samples (cnt from n0) with V
// of its part of x made in v: the 16 matrices of V (c × tiles) and of m's
// buffer (m × tiles) lie vs and ms floats apart, a cache line more than a
// matrix, so that a tile's 16 stores (or loads) do not all fall in one
// set of the caches, as they would a power of two apart.
func (wg *convWinograd) eachChunk(x []float32, cd *convDims, f func(n0, cnt int, v []float32, vs int, m []float32, ms int)) {
	tiles := wg.th * wg.tw
	vs, ms := cd.c*wg.nb*tiles+16, cd.m*wg.nb*tiles+16
	v := getScratch[float32](16 * vs)
	mm := getScratch[float32](16 * ms)
	defer putScratch(v)
	defer putScratch(mm)
	for n0 := 0; n0 < cd.n; n0 += wg.nb {
		cnt := min(wg.nb, cd.n-n0)
		wg.inputChunk(x, n0, cnt, cd, v, vs)
		f(n0, cnt, v, vs, mm, ms)
	}
}

// inputChunk writes V of the chunk of cnt samples from n0 of x to v (V_ξ
// vs floats apart, a row of T tiles a channel), the channels split across
// the cores.
func (wg *convWinograd) inputChunk(x []float32, n0, cnt int, cd *convDims, v []float32, vs int) {
	C, inN := cd.c, cd.g.inSize()
	T := cnt * wg.th * wg.tw
	parallelRange(C, 16*T, func(lo, hi int) {
		pad := getScratch[float32](cnt * wg.hp * wg.wp)
		defer putScratch(pad)
		clear(pad)
		for c := lo; c < hi; c++ {
			wg.padPlanes(x[(n0*C+c)*inN:], C*inN, cnt, cd, pad)
			wg.input(pad, v[c*T:], vs, T)
		}
	})
}

// padPlanes copies the planes of one channel of cnt samples (stride
// floats apart in x) into pad, cnt planes of hp × wp at the padding's
// offset; the rest of pad stays as it was (zero).
func (wg *convWinograd) padPlanes(x []float32, stride, cnt int, cd *convDims, pad []float32) {
	g := &cd.g
	H, W := g.in[1], g.in[2]
	rows, cols := min(H, wg.hp-g.pb[1]), min(W, wg.wp-g.pb[2])
	for s := range cnt {
		xp := x[s*stride:][:H*W]
		pp := pad[s*wg.hp*wg.wp:][:wg.hp*wg.wp]
		for r := range rows {
			copy(pp[(r+g.pb[1])*wg.wp+g.pb[2]:][:cols], xp[r*W:][:cols])
		}
	}
}

// crop copies the even planes of tmp (cnt samples) into y's planes of
// one channel, stride floats apart.
func (wg *convWinograd) crop(tmp []float32, cnt int, cd *convDims, y []float32, stride int) {
	Ho, Wo := cd.g.out[1], cd.g.out[2]
	we := 2 * wg.tw
	for s := range cnt {
		src := tmp[s*4*wg.th*wg.tw:]
		dst := y[s*stride:][:Ho*Wo]
		for r := range Ho {
			copy(dst[r*Wo:][:Wo], src[r*we:][:Wo])
		}
	}
}

// input writes V = Bᵀ d B of the chunk's T tiles of one channel, their
// blocks in pad, V_ξ of tile t to v[ξ·vs + t],
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//
// the groups of 8 tiles by winoInputAVX2 where it runs (in its order),
// the rest by inputTile.
func (wg *convWinograd) input(pad, v []float32, vs, T int) {
	k := 0
	if n := T &^ 7; winoAsm && n > 0 {
		_ = v[15*vs+n-1]
		winoInputAsm(pad, wg.in, wg.wp, v, vs, n)
		k = n
	}
	for ; k < T; k++ {
		inputTile(pad[wg.in[k]:], wg.wp, v[k:], vs)
	}
}

// inputTile writes V of the tile whose block starts at d[0] (rows wp
// apart) to v[ξ·vs].
func inputTile(d []float32, wp int, v []float32, vs int) {
	r0, r1, r2, r3 := d[:4], d[wp:][:4], d[2*wp:][:4], d[3*wp:][:4]
	_ = v[15*vs]
	for i := range 4 {
		// Row i of Bᵀ d, then its columns' combinations.
		var c0, c1, c2, c3 float32
		switch i {
		case 0:
			c0, c1, c2, c3 = r0[0]-r2[0], r0[1]-r2[1], r0[2]-r2[2], r0[3]-r2[3]
		case 1:
			c0, c1, c2, c3 = r1[0]+r2[0], r1[1]+r2[1], r1[2]+r2[2], r1[3]+r2[3]
		case 2:
			c0, c1, c2, c3 = r2[0]-r1[0], r2[1]-r1[1], r2[2]-r1[2], r2[3]-r1[3]
		default:
			c0, c1, c2, c3 = r1[0]-r3[0], r1[1]-r3[1], r1[2]-r3[2], r1[3]-r3[3]
		}
		o := 4 * i * vs
		v[o] = c0 - c2
		v[o+vs] = c1 + c2
		v[o+2*vs] = c2 - c1
		v[o+3*vs] = c1 - c3
	}
}

// output writes Y = Aᵀ M A + bv (then Relu when relu) of the chunk's T
// tiles of one channel, M_ξ of tile t at mm[ξ·ms + t], each tile's 2x2
// block at y[wg.out[t]],
//
//	Aᵀ = [1 1 1 0; 0 1 -1 -1],
//
// the groups of 8 tiles by winoOutputAVX2 where it runs, the rest by
// outputTile. bv -0 adds nothing.
func (wg *convWinograd) output(mm []float32, ms int, y []float32, T int, bv float32, relu bool) {
	wo := 2 * wg.tw // Wo when the planes are even
	k := 0
	if n := T &^ 7; winoAsm && n > 0 {
		_ = mm[15*ms+n-1]
		_ = y[wg.out[n-1]+int32(wo)+1]
		winoOutputAsm(mm, ms, wg.out, y, wo, n, bv, relu)
		k = n
	}
	for ; k < T; k++ {
		outputTile(mm[k:], ms, y[wg.out[k]:], wo, bv, relu)
	}
}

// outputTile writes the 2x2 block of one tile, M_ξ at m[ξ·ms], to y[0:2]
// and y[wo:wo+2].
func outputTile(m []float32, ms int, y []float32, wo int, bv float32, relu bool) {
	_ = m[15*ms]
	var s0, s1 [4]float32
	for k := range 4 {
		m0, m1, m2, m3 := m[k*ms], m[(4+k)*ms], m[(8+k)*ms], m[(12+k)*ms]
		s0[k], s1[k] = m0+m1+m2, m1-m2-m3
	}
	out := [4]float32{s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3], s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3]}
	for i, o := range out {
		o += bv
		if relu && !(o > 0) && o == o {
			o = 0
		}
		out[i] = o
	}
	y0, y1 := y[:2], y[wo:][:2]
	y0[0], y0[1], y1[0], y1[1] = out[0], out[1], out[2], out[3]
}

// weightGrad sets dw (m, c, 3, 3) to the gradient of cd's weights from dy
// (n, m, out) and x: the forward's form transposed (F(3x3, 2x2)),
//
//	dU_ξ = Σ_tiles dM_ξ · V_ξᵀ,  dM = A dY Aᵀ,  dw = Gᵀ dU G,
//
// with V = Bᵀ d B as in forward, dM from each tile's 2x2 block of dy (a
// multiply-add of dM and V a tile, channel pair and ξ: 16 against the
// direct product's 36), dU summed over the chunks in wg.ub.
func (wg *convWinograd) weightGrad(dy, x []float32, cd *convDims, dw []float32) {
	C, M, P, tiles := cd.c, cd.m, cd.g.outSize(), wg.th*wg.tw
	wg.eachChunk(x, cd, func(n0, cnt int, v []float32, vs int, dm []float32, ms int) {
		T := cnt * tiles
		parallelRange(M, 16*T, func(lo, hi int) {
			var tmp []float32
			if !wg.even {
				tmp = getScratch[float32](cnt * 4 * tiles)
				defer putScratch(tmp)
				clear(tmp)
			}
			for m := lo; m < hi; m++ {
				src := dy[(n0*M+m)*P:]
				if !wg.even {
					wg.uncrop(src, cnt, cd, tmp, M*P)
					src = tmp
				}
				wg.gradTiles(src, dm[m*T:], ms, T)
			}
		})
		var beta float32
		if n0 > 0 {
			beta = 1
		}
		gemm.Parallel(16, func(xi int) {
			gemm.SgemmSerial(false, true, M, C, T, 1, dm[xi*ms:], T, v[xi*vs:], T, beta, wg.ub[xi], C)
		})
	})
	parallelRange(M*C, 16*9, func(lo, hi int) { winoWeightsGrad(&wg.ub, lo, hi, dw) })
}

// uncrop copies y's planes of one channel (cnt samples, stride floats
// apart) into the even planes of tmp, whose last row and column (of an odd
// plane) stay as they were (zero).
func (wg *convWinograd) uncrop(y []float32, cnt int, cd *convDims, tmp []float32, stride int) {
	Ho, Wo := cd.g.out[1], cd.g.out[2]
	we := 2 * wg.tw
	for s := range cnt {
		src := y[s*stride:][:Ho*Wo]
		dst := tmp[s*4*wg.th*wg.tw:]
		for r := range Ho {
			copy(dst[r*we:][:Wo], src[r*Wo:][:Wo])
		}
	}
}

// gradTiles writes dM = A dY Aᵀ of the chunk's T tiles of one channel,
// each tile's 2x2 block of dy at d[wg.out[t]] (rows 2·tw apart), dM_ξ of
// tile t to dm[ξ·ms + t]: A dY's rows are dY's first, their sum, their
// difference and minus the second; a row (p, q) times Aᵀ is p, p+q, p-q,
// -q.
func (wg *convWinograd) gradTiles(d, dm []float32, ms, T int) {
	wo := 2 * wg.tw
	_ = dm[15*ms+T-1]
	groups := 0 // tiles [0, groups) by winoGradAVX2, in winoInputAVX2's order (V's)
	if winoAsm {
		groups = T &^ 7
	}
	if groups > 0 {
		_ = d[wg.out[groups-1]+int32(wo)+1]
		winoGradAsm(d, wg.out, wo, dm, ms, groups)
	}
	for t := groups; t < T; t++ {
		o := wg.out[t]
		blk := d[o:]
		a, b, c, e := blk[0], blk[1], blk[wo], blk[wo+1]
		rows := [4][2]float32{{a, b}, {a + c, b + e}, {a - c, b - e}, {-c, -e}}
		for i, r := range rows {
			p, q := r[0], r[1]
			k := 4*i*ms + t
			dm[k] = p
			dm[k+ms] = p + q
			dm[k+2*ms] = p - q
			dm[k+3*ms] = -q
		}
	}
}

// winoWeightsGrad writes dw = Gᵀ dU G of the (m, c) pairs [lo, hi), dU_ξ
// at du[ξ][pair], in float64, each rounded once:
//
//	Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1].
func winoWeightsGrad(du *[16][]float32, lo, hi int, dw []float32) {
	for i := range du {
		_ = du[i][hi-1]
	}
	for q := lo; q < hi; q++ {
		var x [16]float64
		for i := range x {
			x[i] = float64(du[i][q])
		}
		// Z = Gᵀ X (3 rows of 4), then Z G (3x3).
		var z [12]float64
		for j := range 4 {
			x0, x1, x2, x3 := x[j], x[4+j], x[8+j], x[12+j]
			z[j], z[4+j], z[8+j] = x0+(x1+x2)/2, (x1-x2)/2, (x1+x2)/2+x3
		}
		g := dw[q*9:][:9]
		for r := range 3 {
			z0, z1, z2, z3 := z[4*r], z[4*r+1], z[4*r+2], z[4*r+3]
			g[3*r], g[3*r+1], g[3*r+2] = float32(z0+(z1+z2)/2), float32((z1-z2)/2), float32((z1+z2)/2+z3)
		}
	}
}
