package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convGather is the Gather of a 2-D convolution's im2col matrix over
// samples of c channels of h×w, window kh×kw with stride s and padding
// pad, and the matrix itself (k×n, stored), built element by element.
func convGather(t *testing.T, src []float32, samples, c, h, w, kh, kw, s, pad int) (*Gather, []float32) {
	t.Helper()
	oh, ow := (h+2*pad-kh)/s+1, (w+2*pad-kw)/s+1
	k, n := c*kh*kw, samples*oh*ow
	var row, rowTap, tapH, tapW, col, colH, colW []int32
	for i := range kh {
		tapH = append(tapH, int32(i))
	}
	for i := range kw {
		tapW = append(tapW, int32(i))
	}
	for ch := range c {
		for i := range kh {
			for j := range kw {
				row = append(row, int32(ch*h*w+(i-pad)*w+j-pad))
				rowTap = append(rowTap, int32(i*kw+j))
			}
		}
	}
	for sm := range samples {
		for y := range oh {
			for x := range ow {
				col = append(col, int32(sm*c*h*w+y*s*w+x*s))
				// The window starts at (y*s-pad, x*s-pad); taps add 0..kh-1.
				colH = append(colH, int32(y*s-pad))
				colW = append(colW, int32(x*s-pad))
			}
		}
	}
	g, err := NewGather(row, rowTap, tapH, tapW, col, colH, colW, int32(h), int32(w))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, k*n)
	for p := range k {
		ch, tp := p/(kh*kw), p%(kh*kw)
		i, j := tp/kw, tp%kw
		for q := range n {
			sm, pos := q/(oh*ow), q%(oh*ow)
			y, x := pos/ow*s-pad+i, pos%ow*s-pad+j
			if y >= 0 && y < h && x >= 0 && x < w {
				b[p*n+q] = src[((sm*c+ch)*h+y)*w+x]
			}
		}
	}
	return g, b
}

func TestSgemmGather(t *testing.T) {
	kernels(t, testSgemmGather)
}

func testSgemmGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	var modes, modes16 [4]int
	for _, tc := range []struct{ m, samples, c, h, w, kh, kw, s, pad, n int }{
		{64, 2, 8, 16, 16, 3, 3, 1, 1, -1},  // whole samples a panel
		{24, 5, 16, 4, 4, 3, 3, 1, 1, -1},   // panels across samples
		{40, 9, 32, 2, 2, 3, 3, 1, 1, -1},   // 2x2 planes
		{16, 3, 3, 20, 20, 7, 7, 2, 3, -1},  // a stem 10 wide: gathers
		{16, 2, 3, 64, 64, 7, 7, 2, 3, -1},  // the stem: runs at stride 2
		{16, 2, 3, 64, 64, 7, 7, 2, 3, 500}, // and a panel cut short
		{72, 4, 12, 8, 8, 3, 3, 2, 1, -1},   // stride 2
		{40, 3, 6, 16, 16, 3, 3, 2, 1, -1},  // rows of 8 at stride 2: two runs a panel of 16
		{24, 2, 5, 15, 22, 3, 3, 2, 1, 70},  // rows of 11 at stride 2, a panel cut short
		{8, 3, 20, 6, 6, 1, 1, 2, 0, -1},    // a strided 1x1
		{150, 2, 40, 9, 9, 3, 3, 1, 1, -1},  // m past a block of A
		{64, 3, 8, 16, 16, 3, 3, 1, 1, 700}, // fewer columns than the gather
		{600, 1, 60, 5, 5, 3, 3, 1, 1, -1},  // k past a block
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			src := randSlice(rng, tc.samples*tc.c*tc.h*tc.w)
			src[3] = float32(math.NaN())
			g, b := convGather(t, src, tc.samples, tc.c, tc.h, tc.w, tc.kh, tc.kw, tc.s, tc.pad)
			// Every way of packing a panel is exercised.
			for _, m := range g.p32.mode {
				modes[m]++
			}
			for _, m := range g.p16.mode {
				modes16[m]++
			}
			k, nAll := g.Rows(), g.Cols()
			n := nAll
			if tc.n >= 0 {
				n = tc.n
			}
			a := randSlice(rng, tc.m*k)
			pa := PackA(false, tc.m, k, a, k)
			want := make([]float32, tc.m*n)
			pa.SgemmSerial(false, n, 1, b, nAll, 0, want, n)
			for _, serial := range []bool{true, false} {
				got := make([]float32, tc.m*n)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				pa.SgemmGather(serial, g, src[:g.Need(n)], n, got, n)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("serial=%v: C[%d] = %v, the stored matrix gives %v", serial, i, got[i], want[i])
					}
				}
				// A not packed beforehand: Sgemm's numbers on the stored B.
				plain := make([]float32, tc.m*n)
				if serial {
					SgemmSerial(false, false, tc.m, n, k, 1, a, k, b, nAll, 0, plain, n)
				} else {
					Sgemm(false, false, tc.m, n, k, 1, a, k, b, nAll, 0, plain, n)
				}
				SgemmGather(serial, tc.m, a, k, g, src[:g.Need(n)], n, got, n)
				for i := range plain {
					if math.Float32bits(got[i]) != math.Float32bits(plain[i]) {
						t.Fatalf("serial=%v, A not packed: C[%d] = %v, Sgemm gives %v", serial, i, got[i], plain[i])
					}
				}
			}
		})
	}
	for m, n := range modes {
		if n == 0 {
			t.Errorf("no panel of 32 packs with mode %d", m)
		}
	}
	// Panels of 16 (AVX2) have no two runs of 16.
	for _, m := range []int{gatherAny, gatherContig, gatherStride2} {
		if modes16[m] == 0 {
			t.Errorf("no panel of 16 packs with mode %d", m)
		}
	}
}

func TestNewGatherErrors(t *testing.T) {
	one := []int32{0}
	for _, tc := range []struct {
		name                                 string
		row, rowTap, tapH, tapW, col, ch, cw []int32
	}{
		{"rows", []int32{0, 1}, one, one, one, one, one, one},
		{"columns", one, one, one, one, []int32{0, 1}, one, one},
		{"tap", one, []int32{1}, one, one, one, one, one},
		{"no taps", one, one, nil, one, one, one, one},
		{"negative index", []int32{-1}, one, one, one, one, one, one},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewGather(tc.row, tc.rowTap, tc.tapH, tc.tapW, tc.col, tc.ch, tc.cw, 4, 4); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
