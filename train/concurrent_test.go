package train

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// TestRunConcurrent: Run on separate models from several goroutines at
// once (sharing one Source and one Config) ends with the same weights, bit
// for bit, as a run alone. Run under -race it shows that Runs of separate
// models share no state.
func TestRunConcurrent(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 48)
	src := &memSource{x: x, y: y, bs: 16}
	cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01, Momentum: 0.9},
		Groups: []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy}
	alone := lenet10(t)
	if _, err := Run(context.Background(), alone, src, nil, cfg); err != nil {
		t.Fatal(err)
	}
	want := weightsOf(t, alone)

	const goroutines = 4
	models := make([]map[string][]float32, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		m := lenet10(t)
		wg.Go(func() {
			if _, err := Run(context.Background(), m, src, nil, cfg); err != nil {
				errs[g] = err
				return
			}
			models[g] = make(map[string][]float32)
			for _, init := range m.Graph.Initializers {
				if v, err := init.Float32s(); err == nil {
					models[g][init.Name] = v
				}
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		if errs[g] != nil {
			t.Fatalf("goroutine %d: %v", g, errs[g])
		}
		for name, w := range want {
			if d := bitsDiff(models[g][name], w); d != "" {
				t.Errorf("goroutine %d: %s: %s", g, name, d)
			}
		}
	}
}

// bitsDiff describes the first element where a and b differ in bits, or
// returns "".
func bitsDiff(a, b []float32) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d values, want %d", len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return fmt.Sprintf("value %d is %v, want %v", i, a[i], b[i])
		}
	}
	return ""
}
