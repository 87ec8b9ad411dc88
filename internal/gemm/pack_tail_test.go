package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackATail: packA at every kernel, both layouts, against the element
// placement its comment states (the scalar loop the tile path replaced for
// the last rows): every row count from 1 to three tiles and some up to 24
// tiles, k blocks of 1, 7 and kcMax steps, into a buffer of NaNs (the pad
// rows must be zero).
func TestPackATail(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const ld = 300
	src := randSlice(rng, 257*ld) // kcMax rows of the transposed layout
	for _, kn := range available() {
		for _, trans := range []bool{false, true} {
			for _, kb := range []int{1, 7, kn.kcMax} {
				// Every row count to three tiles, and panels by the eight
				// (packRows6 packs eight panels at a time) with some left.
				var mbs []int
				for mb := 1; mb <= 3*kn.mr; mb++ {
					mbs = append(mbs, mb)
				}
				mbs = append(mbs, 8*kn.mr, 8*kn.mr+3, 17*kn.mr+1, 24*kn.mr)
				for _, mb := range mbs {
					t.Run(fmt.Sprintf("%s/trans=%v/kb=%d/mb=%d", kn.name, trans, kb, mb), func(t *testing.T) {
						np := (mb + kn.mr - 1) / kn.mr
						dst := make([]float32, np*kn.mr*kb)
						for i := range dst {
							dst[i] = float32(math.NaN())
						}
						packA(kn, dst, trans, src, ld, mb, kb)
						for i := range np * kn.mr {
							for p := range kb {
								var want float32
								switch {
								case i >= mb:
								case trans:
									want = src[p*ld+i]
								default:
									want = src[i*ld+p]
								}
								got := dst[(i/kn.mr)*kn.mr*kb+p*kn.mr+i%kn.mr]
								if math.Float32bits(got) != math.Float32bits(want) {
									t.Fatalf("row %d step %d: %v, want %v", i, p, got, want)
								}
							}
						}
					})
				}
			}
		}
	}
}
