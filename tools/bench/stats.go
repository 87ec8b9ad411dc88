package main

import (
	"math"
	"sort"
	"strconv"
)

// number is a float64 that JSON writes as null when it is NaN or infinite
// (encoding/json refuses those).
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// median returns the median of xs (the mean of the middle two for an even
// count), or NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// minimum returns the smallest of xs, or NaN for none.
func minimum(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs[1:] {
		m = math.Min(m, x)
	}
	return m
}

// roundRatios divides ours[i] by theirs[i], round by round: the two workers
// of a round ran back to back, so they saw the same state of the machine.
// Rounds where either side is missing or not positive are skipped.
func roundRatios(ours, theirs []float64) []float64 {
	var rs []float64
	for i := 0; i < len(ours) && i < len(theirs); i++ {
		if ours[i] > 0 && theirs[i] > 0 {
			rs = append(rs, ours[i]/theirs[i])
		}
	}
	return rs
}

// Fit is the least-squares line y = A + B*x through some points and its
// coefficient of determination R2.
type Fit struct {
	A  number `json:"a"`
	B  number `json:"b"`
	R2 number `json:"r2"`
}

// linearFit fits y = A + B*x by least squares. R2 is 1 - SSres/SStot (1 when
// every y is equal and the line goes through them all). Fewer than two
// distinct x give NaN everywhere.
func linearFit(xs, ys []float64) Fit {
	n := float64(len(xs))
	if len(xs) != len(ys) || len(xs) < 2 {
		return Fit{number(math.NaN()), number(math.NaN()), number(math.NaN())}
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return Fit{number(math.NaN()), number(math.NaN()), number(math.NaN())}
	}
	b := sxy / sxx
	a := my - b*mx
	var res float64
	for i := range xs {
		e := ys[i] - (a + b*xs[i])
		res += e * e
	}
	r2 := 1.0
	if syy > 0 {
		r2 = 1 - res/syy
	}
	return Fit{A: number(a), B: number(b), R2: number(r2)}
}

// Linearity criteria for step time against batch size (docs/performance.md):
// the points lie on a line (R2 at least MinR2) and the time per example at
// the largest batch is no worse than at the smallest (PerSampleGrowth at most
// MaxGrowth), which holds for any line with a non-negative intercept and
// fails when the time grows faster than the batch.
const (
	MinR2     = 0.98
	MaxGrowth = 1.0
)

// Scaling summarises step times (ms) measured at several batch sizes.
type Scaling struct {
	Batches []int     `json:"batches"`
	MS      []float64 `json:"ms"`
	Fit     Fit       `json:"fit"`
	// PerSampleGrowth is (t_last/b_last) / (t_first/b_first): t64/(8*t8) for
	// batches 8..64.
	PerSampleGrowth number `json:"per_sample_growth"`
	Linear          bool   `json:"linear"`
}

// scaling fits ms against batches (in increasing order of batch).
func scaling(batches []int, ms []float64) Scaling {
	s := Scaling{Batches: batches, MS: ms}
	xs := make([]float64, len(batches))
	for i, b := range batches {
		xs[i] = float64(b)
	}
	s.Fit = linearFit(xs, ms)
	s.PerSampleGrowth = number(math.NaN())
	if n := len(batches); n >= 2 && n == len(ms) && ms[0] > 0 {
		s.PerSampleGrowth = number((ms[n-1] / xs[n-1]) / (ms[0] / xs[0]))
	}
	s.Linear = s.Fit.R2 >= MinR2 && s.PerSampleGrowth <= MaxGrowth
	return s
}
