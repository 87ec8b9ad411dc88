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
