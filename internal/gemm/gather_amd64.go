//go:build !purego

package gemm

//go:noescape
func gatherPanel16(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, contig int)

//go:noescape
func gatherPanel32(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, contig int)

// gather32 and gather16 are the AVX-512 and AVX2 kernels' Gather packers
// (kernel.gather). The caller (gatherB.pack) has checked through NewGather
// and SgemmGather that every index read is inside src; the slices'
// lengths are checked here.
func gather32(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, cols *[32]int32, contig bool) {
	gatherAsm(gatherPanel32, 32, kb, dst, src, row, rowTap, masks, cols, contig)
}

func gather16(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, cols *[32]int32, contig bool) {
	gatherAsm(gatherPanel16, 16, kb, dst, src, row, rowTap, masks, cols, contig)
}

func gatherAsm(panel func(int, *float32, *float32, *int32, *int32, *uint32, *int32, int), nr, kb int,
	dst, src []float32, row, rowTap []int32, masks []uint32, cols *[32]int32, contig bool) {
	if len(src) == 0 { // nothing is read: every mask is empty
		gatherGo(nr, kb, dst, src, row, rowTap, masks, cols[:nr])
		return
	}
	if kb == 0 {
		return
	}
	_ = dst[kb*nr-1]
	_ = row[kb-1]
	_ = rowTap[kb-1]
	c := 0
	if contig {
		c = 1
	}
	panel(kb, &dst[0], &src[0], &row[0], &rowTap[0], &masks[0], &cols[0], c)
}
