//go:build !purego

package ops

import (
	"math"

	"golang.org/x/sys/cpu"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// gelu32AVX2 sets y = gelu32(x) for n elements, a multiple of 8.
//
//go:noescape
func gelu32AVX2(y, x *float32, n int, tab *[32][8]uint32)

// gelu32GradAVX2 sets dx = dy·gelu32Grad(x, y) for n elements, a multiple
// of 8.
//
//go:noescape
func gelu32GradAVX2(dx, dy, x, y *float32, n int, tab *[32][8]uint32)

// geluAsm reports whether the AVX2 loops run: on a CPU with AVX2 unless
// ONNXTUNE_GEMM=generic asks for the Go loops everywhere.
var geluAsm = func() bool {
	name, _ := gemm.Kernel()
	return cpu.X86.HasAVX2 && name != "generic"
}()

// geluTab is the constants of gelu32 and gelu32Grad as the Go code rounds
// them to float32, each broadcast to 8 lanes (offsets in gelu_amd64.s).
var geluTab = func() *[32][8]uint32 {
	f := func(v float32) uint32 { return math.Float32bits(v) }
	vals := [...]uint32{
		f(0.70710678118654752), f(0.5), f(1), 0x7fffffff, 0x80000000,
		f(-1.26551223), f(1.00002368), f(0.37409196), f(0.09678418), f(-0.18628806),
		f(0.27886807), f(-1.13520398), f(1.48851587), f(-0.82215223), f(0.17087277),
		f(-87.3), f(88.3), f(1.44269504088896341), f(12582912), f(0.693359375), f(-2.12194440e-4),
		f(1.9875691500e-4), f(1.3981999507e-3), f(8.3334519073e-3), f(4.1665795894e-2),
		f(1.6666665459e-1), f(5.0000001201e-1),
		(127 - 0x4B400000) & math.MaxUint32, // bits(t) - 0x4B400000 + 127, mod 2^32
		f(1e-3), f(-1e-3), f(0.3989422804014327), f(-0.5),
	}
	var t [32][8]uint32
	for i, v := range vals {
		for j := range t[i] {
			t[i][j] = v
		}
	}
	return &t
}()

// geluSlice32 sets y = gelu32(x) (len(y) == len(x)).
func geluSlice32(y, x []float32) {
	n := 0
	if geluAsm {
		n = len(y) &^ 7
		if n > 0 {
			_, _ = x[n-1], y[n-1]
			gelu32AVX2(&y[0], &x[0], n, geluTab)
		}
	}
	for i := n; i < len(y); i++ {
		y[i] = gelu32(x[i])
	}
}

// geluGradSlice32 sets dx = dy·gelu32Grad(x, y) (all of dx's length).
func geluGradSlice32(dx, dy, x, y []float32) {
	n := 0
	if geluAsm {
		n = len(dx) &^ 7
		if n > 0 {
			_, _, _, _ = dx[n-1], dy[n-1], x[n-1], y[n-1]
			gelu32GradAVX2(&dx[0], &dy[0], &x[0], &y[0], n, geluTab)
		}
	}
	for i := n; i < len(dx); i++ {
		dx[i] = dy[i] * gelu32Grad(x[i], y[i])
	}
}
