package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// weightGather is the Gather of the transposed im2col matrix of a 2-D
// convolution (a weight gradient's B: a row per sample and output
// position, a column per channel and tap) over samples of c channels of
// h×w, window kh×kw with stride s and padding pad, and the matrix itself
// (k×n, stored), built element by element.
func weightGather(t *testing.T, src []float32, samples, c, h, w, kh, kw, s, pad int) (*Gather, []float32) {
	t.Helper()
	oh, ow := (h+2*pad-kh)/s+1, (w+2*pad-kw)/s+1
	k, n := samples*oh*ow, c*kh*kw
	var row, rowTap, tapH, tapW, col, colH, colW []int32
	for y := range oh {
		tapH = append(tapH, int32(y*s-pad))
	}
	for x := range ow {
		tapW = append(tapW, int32(x*s-pad))
	}
	for sm := range samples {
		for y := range oh {
			for x := range ow {
				row = append(row, int32(sm*c*h*w+(y*s-pad)*w+x*s-pad))
				rowTap = append(rowTap, int32(y*ow+x))
			}
		}
	}
	for ch := range c {
		for i := range kh {
			for j := range kw {
				col = append(col, int32(ch*h*w+i*w+j))
				colH = append(colH, int32(i))
				colW = append(colW, int32(j))
			}
		}
	}
	g, err := NewGather(row, rowTap, tapH, tapW, col, colH, colW, int32(h), int32(w))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, k*n)
	for p := range k {
		sm, pos := p/(oh*ow), p%(oh*ow)
		for q := range n {
			ch, tp := q/(kh*kw), q%(kh*kw)
			y, x := pos/ow*s-pad+tp/kw, pos%ow*s-pad+tp%kw
			if y >= 0 && y < h && x >= 0 && x < w {
				b[p*n+q] = src[((sm*c+ch)*h+y)*w+x]
			}
		}
	}
	return g, b
}

// TestSgemmGatherRuns: products over the transposed im2col of a weight
// gradient, whose runs of 16 rows the AVX-512 kernel packs by loads and
// transposes (kernel.transpose), give the stored matrix's numbers bit for
// bit: runs that start at a block of k or are cut by it, rows whose runs
// would read past either end of the source (gathered), panels cut short.
func TestSgemmGatherRuns(t *testing.T) {
	kernels(t, testSgemmGatherRuns)
}

func testSgemmGatherRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, tc := range []struct {
		m, samples, c, h, w, kh, kw, s, pad, n int
		runs, runs2, runs2x8                   bool
	}{
		{64, 3, 8, 16, 16, 3, 3, 1, 1, -1, true, false, false},  // ResNet's layer 1: a run an output row
		{24, 2, 5, 13, 20, 3, 3, 1, 1, -1, true, false, false},  // rows of 20: runs cut by the blocks of k
		{16, 2, 4, 9, 18, 3, 5, 1, 2, 30, true, false, false},   // a wider window, fewer columns
		{40, 2, 3, 8, 8, 3, 3, 1, 1, -1, true, false, false},    // rows of 8 padded by 1: runs across output rows
		{40, 2, 3, 8, 8, 3, 3, 1, 0, -1, false, false, false},   // rows of 6, not padded: no run
		{16, 1, 3, 20, 40, 7, 7, 2, 3, -1, false, true, true},   // stride 2, rows of 20: runs at stride 2 cut by blocks of k
		{64, 3, 3, 64, 64, 7, 7, 2, 3, -1, false, true, true},   // ResNet's stem: two runs at stride 2 an output row
		{16, 2, 3, 64, 64, 7, 7, 2, 3, 100, false, true, true},  // and fewer columns
		{72, 2, 12, 8, 8, 3, 3, 2, 1, -1, false, false, false},  // stride 2, rows of 4: no run
		{40, 5, 10, 16, 16, 3, 3, 2, 1, -1, false, false, true}, // ResNet's layer 2 stride 2: rows of 8 at stride 2
		{24, 3, 7, 24, 22, 3, 3, 2, 1, 50, false, false, true},  // rows of 11: runs of 8 cut by blocks of k
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			src := randSlice(rng, tc.samples*tc.c*tc.h*tc.w)
			src[3] = float32(math.NaN())
			g, b := weightGather(t, src, tc.samples, tc.c, tc.h, tc.w, tc.kh, tc.kw, tc.s, tc.pad)
			if (g.run16 != nil) != tc.runs || (g.run2 != nil) != tc.runs2 || (g.run2x8 != nil) != tc.runs2x8 {
				t.Fatalf("runs of 16: %v, at stride 2: %v, of 8 at stride 2: %v, want %v, %v, %v",
					g.run16 != nil, g.run2 != nil, g.run2x8 != nil, tc.runs, tc.runs2, tc.runs2x8)
			}
			k, nAll := g.Rows(), g.Cols()
			n := nAll
			if tc.n >= 0 {
				n = tc.n
			}
			a := randSlice(rng, tc.m*k)
			for _, serial := range []bool{true, false} {
				want := make([]float32, tc.m*n)
				if serial {
					SgemmSerial(false, false, tc.m, n, k, 1, a, k, b, nAll, 0, want, n)
				} else {
					Sgemm(false, false, tc.m, n, k, 1, a, k, b, nAll, 0, want, n)
				}
				got := make([]float32, tc.m*n)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				// The source ends where the last column's reads end.
				SgemmGather(serial, tc.m, a, k, g, src[:g.Need(n)], n, got, n)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("serial=%v: C[%d] = %v, the stored matrix gives %v", serial, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestTranspose: the run packers (AVX-512 panels of 32, AVX2 panels of
// 16, and at stride 2) against gatherGo on random columns and masks, NaNs
// and negative zeros among the values.
func TestTranspose(t *testing.T) {
	n := 0
	for _, kn := range available() {
		for _, tc := range []struct {
			step, rows int
			tr         func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32)
		}{{1, 16, kn.transpose}, {2, 16, kn.transpose2}, {2, 8, kn.transpose2x8}} {
			if tc.tr != nil {
				n++
				t.Run(fmt.Sprintf("%s/step%d/rows%d", kn.name, tc.step, tc.rows), func(t *testing.T) {
					testTranspose(t, kn, tc.tr, tc.step, tc.rows)
				})
			}
		}
	}
	if n == 0 {
		t.Skip("no kernel packs runs on this machine")
	}
}

func testTranspose(t *testing.T, kn *kernel, transpose func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32), step, rows int) {
	nr := kn.nr
	rng := rand.New(rand.NewPCG(5, 6))
	src := randSlice(rng, 4096)
	src[100], src[101] = float32(math.NaN()), float32(math.Copysign(0, -1))
	for trial := range 50 {
		var cols [32]int32
		for j := range cols {
			cols[j] = int32(rng.IntN(4000))
		}
		base := rng.IntN(4096 - 4032) // every run of 32 inside src
		var m16 [16]uint32
		row, rowTap := make([]int32, 16), make([]int32, 16)
		for i := range m16 {
			m16[i] = rng.Uint32()
			if trial%5 == 0 {
				m16[i] = ^uint32(0)
			}
			row[i], rowTap[i] = int32(base+step*i), int32(i)
		}
		// Steps past rows stay as they were.
		want, got := make([]float32, 16*nr), make([]float32, 16*nr)
		for i := range got {
			got[i] = float32(math.NaN())
			if i >= rows*nr {
				want[i] = got[i]
			}
		}
		gatherGo(nr, rows, want, src, row, rowTap, m16[:], cols[:nr])
		transpose(got, src, base, &cols, &m16)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(i >= rows*nr && got[i] != got[i]) {
				t.Fatalf("trial %d: step %d column %d: %v, want %v", trial, i/nr, i%nr, got[i], want[i])
			}
		}
	}
}
