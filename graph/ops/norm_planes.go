package ops

import (
	"math"

	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// The float32 kernels of BatchNormalization for planes (the product of the
// spatial dimensions) shorter than smallPlane. A plane of 4 or 16 values
// (the last stages of MobileNetV2 and EfficientNet at 64 pixels) is too
// short for the per-plane loops to reach their vector code: summing and
// scaling one plane at a time ran those layers at a twentieth of the speed
// of large planes, a sixth of MobileNetV2's training step. These walk a
// group of whole channels of one batch item at once, a contiguous run,
// with each channel's coefficients (or mean) repeated over its plane, and
// keep per-element float64 sums over the batch, reduced per plane at the
// end (vec.WidenAdd and the like). The sums are the same values added in
// another order; the scaling passes give the same bits as the per-plane
// loops.

// smallPlane is the plane size below which the kernels take the planes of
// many channels at once.
const smallPlane = 128

// planeGroup is about how many elements of a batch item a group takes:
// its sums and coefficients stay in the first-level cache.
const planeGroup = 2048

// groups calls f for each group [g0, g1) of channels in [c0, c1) of at
// most planeGroup elements a batch item (one channel at least).
func (l bnLayout) groups(c0, c1 int, f func(g0, g1 int)) {
	per := max(1, planeGroup/max(l.s, 1))
	for g0 := c0; g0 < c1; g0 += per {
		f(g0, min(g0+per, c1))
	}
}

// planeSum is the sum of one plane's float64 sums.
func planeSum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func fillPlane[T float32 | float64](v []T, x T) {
	for i := range v {
		v[i] = x
	}
}

// bnStatsPlanes is bnStats: out[ch] the mean, out[C+ch] the biased
// variance.
func bnStatsPlanes(l bnLayout, x, out []float32) {
	cnt := float64(l.n * l.s)
	parallelRange(l.c, 2*l.n*l.s, func(c0, c1 int) {
		l.groups(c0, c1, func(g0, g1 int) {
			w := (g1 - g0) * l.s
			buf := getScratch[float64](3 * w)
			defer putScratch(buf)
			acc, sq, m := buf[:w], buf[w:2*w], buf[2*w:3*w]
			clear(acc)
			clear(sq)
			for b := range l.n {
				lo, _ := l.block(b, g0)
				vec.WidenAdd(acc, x[lo:lo+w])
			}
			for i := range g1 - g0 {
				p := i * l.s
				mean := planeSum(acc[p:p+l.s]) / cnt
				out[g0+i] = float32(mean)
				fillPlane(m[p:p+l.s], mean)
			}
			for b := range l.n {
				lo, _ := l.block(b, g0)
				vec.WidenSqDevAdd(sq, x[lo:lo+w], m)
			}
			for i := range g1 - g0 {
				p := i * l.s
				out[l.c+g0+i] = float32(planeSum(sq[p:p+l.s]) / cnt)
			}
		})
	})
}

// bnAffinePlanes is bnAffine.
func bnAffinePlanes(l bnLayout, eps float64, out, x, scale, bias, mean, vr []float32) {
	parallelRange(l.c, l.n*l.s, func(c0, c1 int) {
		l.groups(c0, c1, func(g0, g1 int) {
			w := (g1 - g0) * l.s
			buf := getScratch[float32](2 * w)
			defer putScratch(buf)
			ea, eb := buf[:w], buf[w:2*w]
			for i := range g1 - g0 {
				p := i * l.s
				a, b := bnAffineCoef(g0+i, eps, scale, bias, mean, vr)
				fillPlane(ea[p:p+l.s], a)
				fillPlane(eb[p:p+l.s], b)
			}
			for b := range l.n {
				lo, _ := l.block(b, g0)
				dst := out[lo : lo+w]
				vec.MulAddVec(dst, x[lo:lo+w], ea, eb)
				if l.relu {
					reluSlice(dst)
				}
				if l.clip != nil {
					clipEpiApply(l.clip, dst)
				}
			}
		})
	})
}

// bnSumsPlanes is bnSums: out[ch] the sum of dy, out[C+ch] the sum of
// dy * xhat.
func bnSumsPlanes(l bnLayout, eps float64, out, dy, x, mean, vr []float32) {
	parallelRange(l.c, 2*l.n*l.s, func(c0, c1 int) {
		l.groups(c0, c1, func(g0, g1 int) {
			w := (g1 - g0) * l.s
			buf := getScratch[float64](3 * w)
			defer putScratch(buf)
			ag, agx, m := buf[:w], buf[w:2*w], buf[2*w:3*w]
			clear(ag)
			clear(agx)
			for i := range g1 - g0 {
				p := i * l.s
				fillPlane(m[p:p+l.s], float64(mean[g0+i]))
			}
			for b := range l.n {
				lo, _ := l.block(b, g0)
				vec.WidenDotDevAdd(ag, agx, dy[lo:lo+w], x[lo:lo+w], m)
			}
			for i := range g1 - g0 {
				ch, p := g0+i, i*l.s
				out[ch] = float32(planeSum(ag[p : p+l.s]))
				out[l.c+ch] = float32(planeSum(agx[p:p+l.s]) / math.Sqrt(float64(vr[ch])+eps))
			}
		})
	})
}

// bnTrainGradXPlanes is bnTrainGradX.
func bnTrainGradXPlanes(l bnLayout, eps float64, out, dy, x, scale, st, sums []float32) {
	M := float64(l.n * l.s)
	parallelRange(l.c, l.n*l.s, func(c0, c1 int) {
		l.groups(c0, c1, func(g0, g1 int) {
			w := (g1 - g0) * l.s
			buf := getScratch[float32](3 * w)
			defer putScratch(buf)
			eA, eB, eD := buf[:w], buf[w:2*w], buf[2*w:3*w]
			for i := range g1 - g0 {
				ch, p := g0+i, i*l.s
				A, B, D := bnGradXCoef(l, ch, eps, M, scale, st, sums)
				fillPlane(eA[p:p+l.s], A)
				fillPlane(eB[p:p+l.s], B)
				fillPlane(eD[p:p+l.s], D)
			}
			for b := range l.n {
				lo, _ := l.block(b, g0)
				vec.Affine2Vec(out[lo:lo+w], dy[lo:lo+w], x[lo:lo+w], eA, eB, eD)
			}
		})
	})
}
