//go:build !purego

package gemm

//go:generate go run ../../tools/gemmasm -avx2edge -o kernel_edge_avx2_amd64.s

// The AVX2 kernel's edge kernels (kernel_edge_avx2_amd64.s, written by
// tools/gemmasm): edgeRxPAVX2 computes the last R rows (1 to 5) of a block
// of A, whose 6-row panel holds them and zero padding, over P whole
// 16-column panels of B, bstep bytes apart; C gets alpha times the sums,
// plus C when add (beta 1). kernel6x16 would compute the padding rows too:
// a batch of 32 rows is five tiles and one of 2 rows padded to 6, an
// eighth of the work of an LSTM's per-step products. Each element is
// kernel6x16's: the same fused multiply-adds in the same k order from
// zero, then times alpha, then C added in one rounding.

//go:noescape
func edge1x4AVX2(k int, a, b *float32, bstep int, c *float32, ldc int, alpha float32, add bool)

//go:noescape
func edge2x2AVX2(k int, a, b *float32, bstep int, c *float32, ldc int, alpha float32, add bool)

//go:noescape
func edge3x2AVX2(k int, a, b *float32, bstep int, c *float32, ldc int, alpha float32, add bool)

//go:noescape
func edge4x1AVX2(k int, a, b *float32, bstep int, c *float32, ldc int, alpha float32, add bool)

//go:noescape
func edge5x1AVX2(k int, a, b *float32, bstep int, c *float32, ldc int, alpha float32, add bool)

// edgeAVX2 is the avx2 kernel's edge (kernel.edge): rows mh of a 6-row
// panel a over edgePanelsAVX2[mh] panels of b, kb steps each.
func edgeAVX2(mh, kb int, a, b []float32, c []float32, ldc int, alpha float32, add bool) {
	np := edgePanelsAVX2[mh]
	_, _ = a[6*kb-1], b[np*16*kb-1]
	_ = c[(mh-1)*ldc+16*np-1]
	bstep := 16 * kb * 4
	switch mh {
	case 1:
		edge1x4AVX2(kb, &a[0], &b[0], bstep, &c[0], ldc, alpha, add)
	case 2:
		edge2x2AVX2(kb, &a[0], &b[0], bstep, &c[0], ldc, alpha, add)
	case 3:
		edge3x2AVX2(kb, &a[0], &b[0], bstep, &c[0], ldc, alpha, add)
	case 4:
		edge4x1AVX2(kb, &a[0], &b[0], bstep, &c[0], ldc, alpha, add)
	case 5:
		edge5x1AVX2(kb, &a[0], &b[0], bstep, &c[0], ldc, alpha, add)
	default:
		panic("gemm: no AVX2 edge kernel for this many rows")
	}
}

// edgePanelsAVX2 is P of edgeRxPAVX2 by R (tools/gemmasm's edgeKernels).
var edgePanelsAVX2 = [6]int{0, 4, 2, 2, 1, 1}
