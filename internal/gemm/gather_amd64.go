//go:build !purego

package gemm

//go:noescape
func gatherPanel16(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, mode int)

//go:noescape
func transposeRun32(dst *float32, src *float32, base int, cols *int32, masks *uint32)

//go:noescape
func transposeRun16(dst *float32, src *float32, base int, cols *int32, masks *uint32)

//go:noescape
func transposeRun16S2(dst *float32, src *float32, base int, cols *int32, masks *uint32)

//go:noescape
func transposeRun8S2(dst *float32, src *float32, base int, cols *int32, masks *uint32)

//go:noescape
func gatherPanel32(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, mode int, split *uint64)

// gather32 and gather16 are the AVX-512 and AVX2 kernels' Gather packers
// (kernel.gather). The caller (gatherB.pack) has checked through NewGather
// and SgemmGather that every index read is inside src, and that mode
// describes cols; the slices' lengths are checked here.
func gather32(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, split []uint64, cols *[32]int32, mode int) {
	if len(src) == 0 || kb == 0 { // nothing is read: every mask is empty
		gatherGo(32, kb, dst, src, row, rowTap, masks, cols[:])
		return
	}
	_ = dst[kb*32-1]
	_ = row[kb-1]
	_ = rowTap[kb-1]
	var sp *uint64
	if mode == gatherStride2 {
		_ = split[len(masks)-1]
		sp = &split[0]
	}
	gatherPanel32(kb, &dst[0], &src[0], &row[0], &rowTap[0], &masks[0], &cols[0], mode, sp)
}

func gather16(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, _ []uint64, cols *[32]int32, mode int) {
	if len(src) == 0 || kb == 0 {
		gatherGo(16, kb, dst, src, row, rowTap, masks, cols[:16])
		return
	}
	_ = dst[kb*16-1]
	_ = row[kb-1]
	_ = rowTap[kb-1]
	if mode != gatherContig && mode != gatherStride2 {
		mode = gatherAny
	}
	gatherPanel16(kb, &dst[0], &src[0], &row[0], &rowTap[0], &masks[0], &cols[0], mode)
}

// transpose32 is the AVX-512 kernel's packer of 16 consecutive rows of a
// Gather panel (kernel.transpose): step i of dst holds
// src[base+i+cols[j]], zeroed where bit j of masks[i] is clear. The caller
// (gatherB.pack) has checked that every run read is inside src.
func transpose32(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32) {
	_ = dst[16*32-1]
	transposeRun32(&dst[0], &src[0], base, &cols[0], &masks[0])
}

// transpose16 is transpose32 for the AVX2 kernel's panels of 16 columns:
// step i of dst holds src[base+i+cols[j]] for j < 16.
func transpose16(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32) {
	_ = dst[16*16-1]
	transposeRun16(&dst[0], &src[0], base, &cols[0], &masks[0])
}

// transpose16S2 is transpose16 for rows at stride 2 (kernel.transpose2):
// step i of dst holds src[base+2i+cols[j]] for j < 16.
func transpose16S2(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32) {
	_ = dst[16*16-1]
	transposeRun16S2(&dst[0], &src[0], base, &cols[0], &masks[0])
}

// transpose8S2 is transpose16S2 for 8 rows (kernel.transpose2x8): step i <
// 8 of dst holds src[base+2i+cols[j]] for j < 16; masks[8:] are unused.
func transpose8S2(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32) {
	_ = dst[8*16-1]
	transposeRun8S2(&dst[0], &src[0], base, &cols[0], &masks[0])
}
