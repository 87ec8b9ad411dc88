package ops

import (
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// What Conv keeps between runs: the weights packed for the GEMM at compile
// time (inference) and the forward im2col matrix kept for the weight
// gradient (training).

// convDims describes one convolution: x is (n, c, in...), w is
// (m, c/group, k...), y is (n, m, out...). ConvTranspose runs as the
// adjoint of such a convolution, with its output in the role of x.
type convDims struct {
	n, c, m, group int
	g              convGeom
	relu           bool          // apply Relu after the bias (a fused Relu node)
	clip           *clipEpi      // or a fused Clip
	cols           *convCols     // training: the forward im2col kept for the weight gradient
	packed         *gemm.PackedA // inference: the weights packed once (see Ctx.ConstParams)
	gather         *gemm.Gather  // the im2col matrix of a forward chunk, which the GEMM packs from the input
	spread         *convSpread   // inference, 1x1: the bias spread over a sample's positions (conv_pointwise.go)
	epi            *convEpi      // inference, 1x1: the bias and Clip the product's kernel applies (conv_pointwise.go)
	adjoint        *convDims     // training: the data gradient as a forward convolution (conv_adjoint.go)
	wgather        *gemm.Gather  // training: the weight gradient's transposed im2col matrix of the batch
	expandTo       *convExpand   // inference: a 1x1 expansion run inside the depthwise Conv reading it (conv_expand.go)
	expandFrom     *convExpand   // inference: the depthwise Conv that runs it
	wino           *convWinograd // inference, 3x3 stride 1: Winograd's F(2x2, 3x3) (conv_winograd.go)
	winoTrain      *convWinograd // training: the same, its weights transformed at each run
}

// convCacheLimit bounds the elements of a kept im2col matrix (128 MiB of
// float32).
const convCacheLimit = 1 << 25

// convCols is the im2col matrix of a Conv's last forward run, rows c*K by
// columns n*P, and the input buffer it was computed from.
type convCols struct {
	col  []float32
	from unsafe.Pointer
}

// lookup returns the kept matrix if it was computed from x's buffer, else
// nil. The weight gradient runs after the forward pass of the same step.
func (cc *convCols) lookup(x []float32) []float32 {
	if cc == nil || cc.from == nil || cc.from != dataPtr(x) {
		return nil
	}
	return cc.col
}

// convWeightGemm computes c = w (m×k) times src (k×n): with the weights
// packed at compile time when they are (inference, one group, float32),
// else through gemmStridedMode.
func convWeightGemm[T Float](cd *convDims, serial bool, m, n, k int, w, src []T, ld int, c []T, ldc int) {
	if cd.packed != nil {
		if s32, ok := any(src).([]float32); ok {
			if serial {
				cd.packed.SgemmSerial(false, n, 1, s32, ld, 0, any(c).([]float32), ldc)
			} else {
				cd.packed.Sgemm(false, n, 1, s32, ld, 0, any(c).([]float32), ldc)
			}
			return
		}
	}
	gemmStridedMode(serial, false, false, m, n, k, 1, w, k, src, ld, 0, c, ldc)
}

// constData32 returns the float32 elements of a value known at compile
// time: a constant, or a node bound to its value (a parameter), else nil.
func constData32(v *Value) []float32 {
	var t *tensor.Dense
	switch {
	case v.IsConst():
		t = v.Const
	case v.Node != nil && v.Node.Value() != nil:
		d, err := asDense(v.Node.Value())
		if err != nil {
			return nil
		}
		t = d
	default:
		return nil
	}
	d, err := Data[float32](t)
	if err != nil {
		return nil
	}
	return d
}

// Kernel families of grouped convolutions, for convPath.
const (
	convPathAuto   = iota // by the measured rule
	convPathGemm          // im2col and a GEMM per group
	convPathDirect        // the direct loops
)

// convPath forces a kernel family for grouped convolutions (tests and
// benchmarks); convPathAuto in the engine.
var convPath = convPathAuto

// Channels a group up to which the direct loops beat im2col and a GEMM per
// group (BenchmarkConvGrouped, 2 cores, AVX2): the forward pass and the
// gradients (input and weight). Beyond, the GEMM's depth (channels × taps)
// and width pay.
const (
	convDirectForwardMax = 4
	convDirectGradMax    = 8
)

// directGroups reports whether the direct loops run this convolution's
// forward pass (grad false) or gradients (grad true): for one input
// channel a group always (depthwise, channel multipliers), for small
// groups by the measured limits above.
func (cd *convDims) directGroups(grad bool) bool {
	cg := cd.c / cd.group
	switch {
	case cd.group == 1 || convPath == convPathGemm || !cd.convDirectFits():
		return false
	case convPath == convPathDirect || cg == 1:
		return true
	case grad:
		return cg <= convDirectGradMax
	}
	return cg <= convDirectForwardMax
}

// convGatherGemm computes c = w (m×k) times the first n columns of
// cd.gather over x (float32): an implicit GEMM, with the weights packed at
// compile time when they are.
func convGatherGemm[T Float](cd *convDims, serial bool, m int, w, x []T, n int, c []T, ldc int) {
	x32, c32 := any(x).([]float32), any(c).([]float32)
	if cd.packed != nil {
		cd.packed.SgemmGather(serial, cd.gather, x32, n, c32, ldc)
		return
	}
	k := cd.gather.Rows()
	gemm.SgemmGather(serial, m, any(w).([]float32), k, cd.gather, x32, n, c32, ldc)
}

func isFloat32[T Float](x []T) bool {
	_, ok := any(x).([]float32)
	return ok
}

// convGather returns the im2col matrix of a chunk of nb samples of a 2-D
// (or 1-D) convolution with one group as a gemm.Gather over the chunk's
// input, for a GEMM that packs its panels straight from the input (an
// implicit GEMM), or nil when the offsets do not fit int32.
func convGather(cd *convDims, nb int) *gemm.Gather {
	g := &cd.g
	if cd.group != 1 || !g.planar() || g.pointwise() {
		return nil
	}
	inN, P := g.inSize(), g.outSize()
	if int64(nb)*int64(cd.c)*int64(inN) >= 1<<31-1 {
		return nil
	}
	K := g.kSize()
	row, rowTap := make([]int32, cd.c*K), make([]int32, cd.c*K)
	tapH, tapW := make([]int32, g.k[1]), make([]int32, g.k[2])
	for i := range tapH {
		tapH[i] = int32(i * g.d[1])
	}
	for i := range tapW {
		tapW[i] = int32(i * g.d[2])
	}
	for c := range cd.c {
		for t := range K {
			kh, kw := t/g.k[2], t%g.k[2]
			row[c*K+t] = int32(c*inN + kh*g.d[1]*g.in[2] + kw*g.d[2])
			rowTap[c*K+t] = int32(t)
		}
	}
	L := nb * P
	col, colH, colW := make([]int32, L), make([]int32, L), make([]int32, L)
	for q := range L {
		s, pos := q/P, q%P
		oh, ow := pos/g.out[2], pos%g.out[2]
		h, w := oh*g.s[1]-g.pb[1], ow*g.s[2]-g.pb[2]
		col[q], colH[q], colW[q] = int32(s*cd.c*inN+h*g.in[2]+w), int32(h), int32(w)
	}
	gb, err := gemm.NewGather(row, rowTap, tapH, tapW, col, colH, colW, int32(g.in[1]), int32(g.in[2]))
	if err != nil {
		return nil // not reached: the offsets above read inside the input
	}
	return gb
}
