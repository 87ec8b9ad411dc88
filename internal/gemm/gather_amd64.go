//go:build !purego

package gemm

//go:noescape
func gatherPanel32(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, contig int)

// gather32 is the AVX-512 kernel's Gather packer (kernel.gather). The
// caller (gatherB.pack) has checked through NewGather and SgemmGather that
// every index read is inside src; the slices' lengths are checked here.
func gather32(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, cols *[32]int32, contig bool) {
	if len(src) == 0 { // nothing is read: every mask is empty
		gatherGo(32, kb, dst, src, row, rowTap, masks, cols[:])
		return
	}
	if kb == 0 {
		return
	}
	_ = dst[kb*32-1]
	_ = row[kb-1]
	_ = rowTap[kb-1]
	c := 0
	if contig {
		c = 1
	}
	gatherPanel32(kb, &dst[0], &src[0], &row[0], &rowTap[0], &masks[0], &cols[0], c)
}
