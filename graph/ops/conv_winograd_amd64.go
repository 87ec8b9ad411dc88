//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// winoInputAVX2 writes V = Bᵀ d B of tiles [0, n) (n a multiple of 8),
// their 4x4 blocks at pad[offs[k]] with rows wp apart, to v[ξ·vs + k], in
// the order winoOutputAVX2 reads (conv_winograd_amd64.s).
//
//go:noescape
func winoInputAVX2(pad *float32, offs *int32, wp int, v *float32, vs int, n int)

// winoOutputAVX2 writes Y = Aᵀ M A + bias (then Relu) of tiles [0, n) (n
// a multiple of 8), M_ξ at mm[ξ·ms + k], each tile's 2x2 block to y at
// offs[k] with rows wo apart.
//
//go:noescape
func winoOutputAVX2(mm *float32, ms int, offs *int32, y *float32, wo int, n int, bias float32, relu bool)

// winoGradAVX2 writes dM = A dY Aᵀ of tiles [0, n) (n a multiple of 8),
// their 2x2 blocks at d[offs[k]] with rows wo apart, to dm[ξ·ms + k], in
// winoInputAVX2's order.
//
//go:noescape
func winoGradAVX2(d *float32, offs *int32, wo int, dm *float32, ms int, n int)

// winoAsm reports whether the CPU runs the AVX2 transforms.
var winoAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func winoInputAsm(pad []float32, offs []int32, wp int, v []float32, vs int, n int) {
	winoInputAVX2(&pad[0], &offs[0], wp, &v[0], vs, n)
}

func winoOutputAsm(mm []float32, ms int, offs []int32, y []float32, wo int, n int, bias float32, relu bool) {
	winoOutputAVX2(&mm[0], ms, &offs[0], &y[0], wo, n, bias, relu)
}

func winoGradAsm(d []float32, offs []int32, wo int, dm []float32, ms int, n int) {
	winoGradAVX2(&d[0], &offs[0], wo, &dm[0], ms, n)
}
