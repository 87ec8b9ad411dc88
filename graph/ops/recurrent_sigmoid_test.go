package ops

import (
	"math"
	"testing"
)

// TestLSTMSigmoid checks lstmSigmoid against float64's sigmoid at the same
// float32 inputs over the range the gates meet (-100 to 100, a length that
// leaves a tail): within 2e-7 relative from -80 on, below 1e-34 under it
// (where the result is 1.8e-35 or less); in place too; NaN stays NaN.
func TestLSTMSigmoid(t *testing.T) { checkLSTMSigmoid(t) }

// checkLSTMSigmoid is TestLSTMSigmoid's body, for the gate kernel that is
// selected.
func checkLSTMSigmoid(t *testing.T) {
	t.Helper()
	var x []float32
	for v := -100.0; v <= 100; v += 0.000917 {
		x = append(x, float32(v))
	}
	x = append(x, float32(math.NaN()), 0, 1e-30, -1e-30)
	s := make([]float32, len(x))
	lstmSigmoid(s, x)
	worst, at := 0.0, 0.0
	for i, v := range x[:len(x)-4] {
		want := 1 / (1 + math.Exp(-float64(v)))
		if v < -80 {
			if s[i] < 0 || s[i] > 1e-34 {
				t.Errorf("sigmoid(%v) = %v, want at most 1e-34", v, s[i])
			}
			continue
		}
		if e := math.Abs(float64(s[i])-want) / want; e > worst {
			worst, at = e, float64(v)
		}
	}
	if worst > 2e-7 {
		t.Errorf("relative error %.3g at %v, want at most 2e-7", worst, at)
	}
	n := len(x)
	if !math.IsNaN(float64(s[n-4])) {
		t.Errorf("sigmoid(NaN) = %v, want NaN", s[n-4])
	}
	for _, i := range []int{n - 3, n - 2, n - 1} {
		if s[i] != 0.5 {
			t.Errorf("sigmoid(%v) = %v, want 0.5", x[i], s[i])
		}
	}
	in := append([]float32(nil), x...)
	lstmSigmoid(in, in)
	for i := range in {
		if in[i] != s[i] && !(math.IsNaN(float64(in[i])) && math.IsNaN(float64(s[i]))) {
			t.Fatalf("in place: sigmoid(%v) = %v, want %v", x[i], in[i], s[i])
		}
	}
}
