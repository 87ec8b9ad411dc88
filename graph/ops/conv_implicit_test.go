package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestConvImplicitGemm: the forward pass whose GEMM packs its panels from
// the input (convGather) gives the numbers of the one that writes the
// im2col matrix, bit for bit (the packed panels are the same), with the
// weights packed beforehand (inference) and not (training), for the
// windows of ResNet-18 and others, one sample and chunks of samples a GEMM,
// with bias and the fused Relu.
func TestConvImplicitGemm(t *testing.T) {
	for _, tc := range []struct {
		n, c, m, h, w, kh, kw, s, d, pad int
		relu                             bool
	}{
		{3, 8, 16, 16, 16, 3, 3, 1, 1, 1, true},  // layer1: a GEMM a sample
		{5, 16, 24, 8, 8, 3, 3, 1, 1, 1, false},  // layer2: chunks
		{6, 32, 16, 4, 4, 3, 3, 1, 1, 1, true},   // layer3: panels across samples
		{7, 16, 8, 2, 2, 3, 3, 1, 1, 1, false},   // layer4
		{2, 3, 16, 32, 32, 7, 7, 2, 1, 3, true},  // the stem
		{4, 8, 16, 16, 16, 3, 3, 2, 1, 1, false}, // stride 2
		{4, 8, 16, 16, 16, 1, 1, 2, 1, 0, false}, // the downsampling 1x1
		{3, 4, 8, 11, 9, 3, 5, 1, 2, 2, true},    // dilated, not square
		{3, 4, 8, 1, 40, 1, 5, 3, 1, 2, false},   // 1-D
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			oh := (tc.h+2*tc.pad-tc.d*(tc.kh-1)-1)/tc.s + 1
			ow := (tc.w+2*tc.pad-tc.d*(tc.kw-1)-1)/tc.s + 1
			if tc.h == 1 {
				oh = 1
			}
			ph := tc.pad
			if tc.h == 1 {
				ph = 0
			}
			cd := &convDims{n: tc.n, c: tc.c, m: tc.m, group: 1, relu: tc.relu,
				g: newConvGeom([]int{tc.h, tc.w}, []int{oh, ow}, []int{tc.kh, tc.kw}, []int{tc.s, tc.s},
					[]int{tc.d, tc.d}, []int{ph, tc.pad}, []int{ph, tc.pad})}
			rows := tc.c * tc.kh * tc.kw
			xs, _ := Data[float32](toF32(randF64(1, -1, 1, tc.n, tc.c, tc.h, tc.w)))
			xs[5] = float32(math.NaN())
			ws, _ := Data[float32](toF32(randF64(2, -1, 1, tc.m, rows)))
			bs, _ := Data[float32](toF32(randF64(3, -1, 1, tc.m)))
			cd.packed = gemm.PackA(false, tc.m, rows, ws, rows)
			P := oh * ow
			for _, limit := range []int{convColLimit, 3 * rows * P} {
				withColLimit(limit, func() {
					nb := cd.forwardChunk(rows)
					want := make([]float32, tc.n*tc.m*P)
					convForward(xs, ws, bs, cd, want)
					implicit := *cd
					if implicit.gather = convGather(cd, nb); implicit.gather == nil {
						t.Fatal("no gather")
					}
					// Training's weights are not packed beforehand.
					trainWant := make([]float32, len(want))
					unpacked := *cd
					unpacked.packed = nil
					convForward(xs, ws, bs, &unpacked, trainWant)
					training := implicit
					training.packed = nil
					for _, serial := range []bool{true, false} {
						for _, c := range []struct {
							name string
							cd   *convDims
							want []float32
						}{{"packed", &implicit, want}, {"unpacked", &training, trainWant}} {
							got := make([]float32, len(want))
							if serial {
								convForwardRange(xs, ws, bs, c.cd, got, 0, tc.n, true)
							} else {
								convForward(xs, ws, bs, c.cd, got)
							}
							for i := range c.want {
								if math.Float32bits(got[i]) != math.Float32bits(c.want[i]) {
									t.Fatalf("%s weights, limit %d serial %v: y[%d] = %v, with im2col %v", c.name, limit, serial, i, got[i], c.want[i])
								}
							}
						}
					}
				})
			}
		})
	}
}

// TestConvEpilogueRelu: the bias and fused Relu in one vector pass
// (vec.ScaleShift with scale 1) give the add then reluSlice bit for bit,
// in place and from a separate source, on planes with NaNs and zeros of
// both signs.
func TestConvEpilogueRelu(t *testing.T) {
	cd := &convDims{relu: true}
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1)), float32(math.Inf(1)), 1e-40}
	for _, n := range []int{1, 7, 16, 33, 256, 1000} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(math.Sin(float64(i)*1.7)) * 3
			if i%5 == 0 {
				src[i] = specials[i/5%len(specials)]
			}
		}
		for _, bv := range []float32{0.25, -0.5, float32(math.Copysign(0, -1)), -1e-40} {
			b := []float32{7, bv}
			want := append([]float32(nil), src...)
			for i := range want {
				want[i] += bv
			}
			reluSlice(want)
			inPlace := append([]float32(nil), src...)
			convEpilogue(inPlace, b, 1, cd)
			from := make([]float32, n)
			convEpilogueFrom(from, src, b, 1, cd)
			for i := range want {
				if math.Float32bits(inPlace[i]) != math.Float32bits(want[i]) || math.Float32bits(from[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n %d bias %v: element %d of %v is %v and %v, want %v", n, bv, i, src[i], inPlace[i], from[i], want[i])
				}
			}
		}
	}
}
