package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// maxPoolRef is MaxPool2D's definition as loops over each window in
// row-major order: Go's max (values), or the first maximum with the last
// NaN winning (arg).
func maxPoolRef(x []float32, planes, h, w, kh, kw, sh, sw, ph, pw int, y []float32, oh, ow int, arg []int) {
	for p := range planes {
		for i := range oh {
			for j := range ow {
				var best float32
				at := -1
				for a := range kh {
					for b := range kw {
						r, c := i*sh-ph+a, j*sw-pw+b
						if r < 0 || r >= h || c < 0 || c >= w {
							continue
						}
						v := x[p*h*w+r*w+c]
						switch {
						case arg == nil && at < 0:
							best, at = v, 0
						case arg == nil:
							best = max(best, v)
						case at < 0 || v > best || v != v:
							best, at = v, r*w+c
						}
					}
				}
				y[p*oh*ow+i*ow+j] = best
				if arg != nil {
					arg[p*oh*ow+i*ow+j] = at
				}
			}
		}
	}
}

func TestMaxPool2D(t *testing.T) {
	levels(t, func(t *testing.T) {
		if forced == generic {
			// No vector loop: MaxPool2D must decline.
			x, y := make([]float32, 64), make([]float32, 16)
			if MaxPool2D(x, 1, 8, 8, 3, 3, 2, 2, 1, 1, y, 4, 4, nil) {
				t.Fatal("MaxPool2D ran at the generic level")
			}
			return
		}
		testMaxPool2D(t)
	})
}

func testMaxPool2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct{ h, w, k, s, pad int }{
		{32, 32, 3, 2, 1}, {9, 11, 3, 2, 1}, {8, 8, 3, 2, 0}, {7, 10, 3, 1, 1}, {12, 9, 2, 3, 1},
		{56, 70, 3, 2, 1}, {5, 40, 5, 1, 2}, {1, 1, 1, 1, 0},
	} {
		oh, ow := (c.h+2*c.pad-c.k)/c.s+1, (c.w+2*c.pad-c.k)/c.s+1
		// "negative": every value below the zeros that masked-off lanes
		// load, so a lane taken from the padding shows.
		for _, data := range []string{"normal", "ties", "specials", "negative"} {
			t.Run(fmt.Sprintf("%+v/%s", c, data), func(t *testing.T) {
				const planes = 3
				x := make([]float32, planes*c.h*c.w)
				for i := range x {
					switch data {
					case "normal":
						x[i] = float32(rng.NormFloat64())
					case "ties":
						x[i] = float32(rng.IntN(3))
					case "negative":
						x[i] = -1 - float32(math.Abs(rng.NormFloat64()))
					default:
						x[i] = specials[rng.IntN(len(specials))]
					}
				}
				for _, withArg := range []bool{false, true} {
					want, got := make([]float32, planes*oh*ow+1), make([]float32, planes*oh*ow+1)
					got[len(got)-1], want[len(want)-1] = 7, 7 // must stay
					var wantArg, gotArg []int
					if withArg {
						wantArg, gotArg = make([]int, len(want)), make([]int, len(got))
						gotArg[len(got)-1], wantArg[len(want)-1] = 7, 7
					}
					maxPoolRef(x, planes, c.h, c.w, c.k, c.k, c.s, c.s, c.pad, c.pad, want, oh, ow, wantArg)
					if !MaxPool2D(x, planes, c.h, c.w, c.k, c.k, c.s, c.s, c.pad, c.pad, got, oh, ow, gotArg) {
						t.Fatal("MaxPool2D reported false")
					}
					for i := range want {
						// Values: the same bits, or both NaN (a NaN's bits
						// depend on the order of the max calls).
						same := math.Float32bits(got[i]) == math.Float32bits(want[i]) || got[i] != got[i] && want[i] != want[i]
						if withArg {
							same = math.Float32bits(got[i]) == math.Float32bits(want[i]) && gotArg[i] == wantArg[i]
						}
						if !same {
							var ga, wa int
							if withArg {
								ga, wa = gotArg[i], wantArg[i]
							}
							t.Fatalf("arg %v: output %d is %v at %d, want %v at %d", withArg, i, got[i], ga, want[i], wa)
						}
					}
				}
			})
		}
	}
}

func TestMaxPool2DDeclines(t *testing.T) {
	x, y := make([]float32, 16), make([]float32, 16)
	// A window wholly in the padding: (4+2*3-1)/1+1 outputs, the first
	// window rows -3..-3.
	if MaxPool2D(x, 1, 4, 4, 1, 1, 1, 1, 3, 0, y, 10, 4, nil) {
		t.Fatal("a window without elements was run")
	}
	defer func(old int) { forced = old }(forced)
	forced = generic
	if MaxPool2D(x, 1, 4, 4, 2, 2, 2, 2, 0, 0, y, 2, 2, nil) {
		t.Fatal("ran at the generic level")
	}
}

// TestMaxPool3S2MatchesRows checks AVX2's pools of windows 3 wide at
// stride 2 without arg, all the planes in one maxPool3S2AVX2 call,
// against the call per chunk of 8 outputs that they replace
// (maxPoolRow3S2AVX2), bit for bit, NaNs too: widths 1 to 41 (partial
// chunks, the padding on either side), 1 to 3 rows a window at vertical
// strides 1 to 3, ResNet's stem pool, special values and values below the
// masked-off lanes' zeros; a window of 4 rows (the old loop in both).
func TestMaxPool3S2MatchesRows(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	defer func(old int) { forced = old }(forced)
	forced = avx2
	rng := rand.New(rand.NewPCG(5, 6))
	type shape struct{ h, w, kh, sh, ph, pw int }
	shapes := []shape{{32, 32, 3, 2, 1, 1}, {56, 56, 3, 2, 1, 1}, {4, 4, 3, 3, 0, 1}, {9, 5, 4, 2, 1, 1}}
	for w := 1; w <= 41; w += 4 {
		for kh := 1; kh <= 3; kh++ {
			for sh := 1; sh <= 3; sh++ {
				shapes = append(shapes, shape{7, w, kh, sh, kh / 2, 1}, shape{6, w + 1, kh, sh, 0, 0})
			}
		}
	}
	ran := 0
	for _, c := range shapes {
		oh, ow := (c.h+2*c.ph-c.kh)/c.sh+1, (c.w+2*c.pw-3)/2+1
		if oh < 1 || ow < 1 || !MaxPool2DRuns(c.h, c.w, c.kh, 3, c.sh, 2, c.ph, c.pw, oh, ow) {
			continue
		}
		for _, data := range []string{"normal", "specials", "negative"} {
			const planes = 5
			x := make([]float32, planes*c.h*c.w)
			for i := range x {
				switch data {
				case "normal":
					x[i] = float32(rng.NormFloat64())
				case "negative":
					x[i] = -1 - float32(math.Abs(rng.NormFloat64()))
				default:
					x[i] = specials[rng.IntN(len(specials))]
				}
			}
			run := func(off bool) []float32 {
				defer func(old bool) { pool3S2Off = old }(pool3S2Off)
				pool3S2Off = off
				y := make([]float32, planes*oh*ow+1)
				y[len(y)-1] = 7 // must stay
				if !MaxPool2D(x, planes, c.h, c.w, c.kh, 3, c.sh, 2, c.ph, c.pw, y, oh, ow, nil) {
					t.Fatalf("%+v: MaxPool2D reported false", c)
				}
				return y
			}
			want, got := run(true), run(false)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v %s: output %d is %v (%#x), maxPoolRow3S2AVX2 gives %v (%#x)", c, data, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
			ran++
		}
	}
	if ran < 100 {
		t.Fatalf("only %d cases ran", ran)
	}
}
