package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// optimBitsCase is one case of models/optim/cases.json
// (models/make_optim_bits.py).
type optimBitsCase struct {
	Optimizer string         `json:"optimizer"`
	Settings  map[string]any `json:"settings"`
	Buffers   []string       `json:"buffers"`
}

// TestOptimizerBits feeds the gradients of models/optim/bits.npz to each
// optimizer and compares, after every step, the parameter and the state
// with what torch.optim (PyTorch 2.14, CPU, float32) computed from them:
// SGD's parameter and momentum buffer and Adam's and AdamW's moments bit
// for bit (PyTorch's kernels round as a fused multiply-add does), Adam's
// and AdamW's parameter within a few units in the last place, since
// PyTorch's vectorized float32 sqrt is not correctly rounded (it differs
// from IEEE sqrt in about one element in six, measured with numpy).
func TestOptimizerBits(t *testing.T) {
	dir := filepath.Join("..", "models", "optim")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Steps int                      `json:"steps"`
		N     int                      `json:"n"`
		Cases map[string]optimBitsCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	arrays, err := npz.Read(filepath.Join(dir, "bits.npz"))
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(key string) []float32 {
		a, ok := arrays[key]
		if !ok {
			t.Fatalf("bits.npz has no %s", key)
		}
		return a.Data.([]float32)
	}
	p0, grads := f32("p0"), f32("grads")
	if len(fx.Cases) == 0 || len(p0) != fx.N || len(grads) != fx.Steps*fx.N {
		t.Fatalf("fixture: %d cases, p0 %d, grads %d, want n %d and %d steps", len(fx.Cases), len(p0), len(grads), fx.N, fx.Steps)
	}
	for name, c := range fx.Cases {
		t.Run(name, func(t *testing.T) {
			num := func(k string) float64 {
				v, _ := c.Settings[k].(float64)
				return v
			}
			h := Hyper{LR: num("lr"), Momentum: num("momentum"), Dampening: num("dampening"),
				WeightDecay: num("weight_decay"), Eps: num("eps")}
			h.Nesterov, _ = c.Settings["nesterov"].(bool)
			if b, ok := c.Settings["betas"].([]any); ok {
				h.Beta1, h.Beta2 = b[0].(float64), b[1].(float64)
			}
			algo := map[string]Algorithm{"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[c.Optimizer]
			opt, err := NewOptimizer(algo)
			if err != nil {
				t.Fatal(err)
			}
			p := append([]float32(nil), p0...)
			wantP := f32(name + ".p")
			for k := range fx.Steps {
				g := append([]float32(nil), grads[k*fx.N:(k+1)*fx.N]...)
				if err := opt.Update("w", p, g, h); err != nil {
					t.Fatal(err)
				}
				step := "step " + strconv.Itoa(k+1) + " "
				want, before := wantP[k*fx.N:(k+1)*fx.N], p0
				if k > 0 {
					before = wantP[(k-1)*fx.N : k*fx.N]
				}
				if algo == SGD {
					compareULP(t, step+"p", p, want, 0, nil)
				} else {
					// Each step's sqrt may round one unit away from
					// PyTorch's, which moves the step by about a unit
					// of the step's size, and what a step carries
					// rounds again: two units a step.
					moved := func(i int) float32 { return float32(math.Abs(float64(want[i] - before[i]))) }
					compareULP(t, step+"p", p, want, 2*(k+1), moved)
				}
				moments := 0
				if algo == Adam && h.WeightDecay != 0 {
					// L2 puts p into the gradient, p's units into the
					// moments.
					moments = 1
				}
				for _, b := range c.Buffers {
					got := opt.State().Buffers["w"][b]
					compareULP(t, step+b, got, f32(name + "." + b)[k*fx.N:(k+1)*fx.N], moments, nil)
				}
			}
		})
	}
}

// compareULP fails unless got and want have equal lengths and each
// element of got is within maxULP units in the last place of
// max(|want[i]|, floor(i)) (floor nil: 0) from want's: bit for bit when
// maxULP is 0.
func compareULP(t *testing.T, what string, got, want []float32, maxULP int, floor func(int) float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad, worst, at := 0, 0.0, -1
	for i := range got {
		var d float64
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			m := float32(math.Abs(float64(want[i])))
			if floor != nil {
				m = max(m, floor(i))
			}
			unit := ulp(m)
			d = max(math.Abs(float64(got[i])-float64(want[i]))/unit, 1e-3)
		}
		if d > float64(maxULP) {
			bad++
		}
		if d > worst {
			worst, at = d, i
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values more than %d ulp from PyTorch's; worst %.3g ulp at %d (%.9g, PyTorch %.9g)",
			what, bad, len(got), maxULP, worst, at, got[at], want[at])
	}
}

// ulp is the spacing of float32 values at x (x >= 0, finite).
func ulp(x float32) float64 {
	return float64(math.Nextafter32(x, float32(math.Inf(1))) - x)
}
