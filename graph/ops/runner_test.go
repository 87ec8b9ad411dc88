package ops_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// floats returns inputs of shape [batch, rest...] with values in [-1, 1).
func floats(rest ...int) func(*rand.Rand, int) *tensor.Dense {
	return func(rng *rand.Rand, batch int) *tensor.Dense {
		shape := append([]int{batch}, rest...)
		x := make([]float32, volume(shape))
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return ops.Dense(shape, x)
	}
}

// tokens returns inputs of shape [batch, n] with token ids below vocab.
func tokens(n, vocab int) func(*rand.Rand, int) *tensor.Dense {
	return func(rng *rand.Rand, batch int) *tensor.Dense {
		x := make([]int64, batch*n)
		for i := range x {
			x[i] = rng.Int63n(int64(vocab))
		}
		return ops.Dense([]int{batch, n}, x)
	}
}

func volume(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestRunnerConcurrent shares one Runner between 8 goroutines that each run
// the model several times on inputs of three batch sizes (several goroutines
// on the same input tensor at once). Every output must equal, bit for bit,
// the output of a Runner used from one goroutine, and must still equal it
// after all the runs: an output a caller holds is never overwritten by
// another goroutine's run.
func TestRunnerConcurrent(t *testing.T) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file  string
		input func(rng *rand.Rand, batch int) *tensor.Dense
	}{
		{"lenet.onnx", floats(3, 32, 32)},
		{"bn_cnn_eval.onnx", floats(3, 16, 16)},
		{"mlp_bn_eval.onnx", floats(20)},
		{"transformer_op17.onnx", tokens(8, 50)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := importer.Load(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, runs, inputs = 8, 4, 6
			rng := rand.New(rand.NewSource(1))
			xs := make([]*tensor.Dense, inputs)
			for i := range xs {
				xs[i] = tc.input(rng, 1+i%3)
			}
			serial, err := ops.NewRunner(m, ops.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer serial.Close()
			want := make([][]float32, inputs)
			for i, x := range xs {
				outs, err := serial.Run(map[string]*tensor.Dense{"input": x})
				if err != nil {
					t.Fatal(err)
				}
				if want[i], err = ops.Data[float32](outs[0]); err != nil {
					t.Fatal(err)
				}
			}

			shared, err := ops.NewRunner(m, ops.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer shared.Close()
			got := make([][]*tensor.Dense, goroutines)
			errs := make([]error, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for j := range runs {
						outs, err := shared.Run(map[string]*tensor.Dense{"input": xs[(g+j)%inputs]})
						if err != nil {
							errs[g] = fmt.Errorf("run %d: %w", j, err)
							return
						}
						got[g] = append(got[g], outs[0])
					}
				})
			}
			wg.Wait()
			for g := range goroutines {
				if errs[g] != nil {
					t.Fatalf("goroutine %d: %v", g, errs[g])
				}
				for j, out := range got[g] {
					y, err := ops.Data[float32](out)
					if err != nil {
						t.Fatal(err)
					}
					if d := firstDiff(y, want[(g+j)%inputs]); d != "" {
						t.Errorf("goroutine %d, run %d (input %d): %s", g, j, (g+j)%inputs, d)
					}
				}
			}
		})
	}
}

// TestRunnerClosed: Run after Close is an error, not a panic.
func TestRunnerClosed(t *testing.T) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(filepath.Join(dir, "mlp_bn_eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Dense{"input": floats(20)(rand.New(rand.NewSource(1)), 2)}
	if _, err := r.Run(in); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(in); !errors.Is(err, ops.ErrClosed) {
		t.Errorf("Run after Close: got error %v, want ErrClosed", err)
	}
}

// firstDiff describes the first element where a and b differ in bits, or
// returns "" when they are identical.
func firstDiff(a, b []float32) string {
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

// BenchmarkInference_lenet_b64 runs the sample LeNet (eval export) on a
// batch of 64 3x32x32 images through one Runner from one goroutine.
func BenchmarkInference_lenet_b64(b *testing.B) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		b.Fatal(err)
	}
	m, err := importer.Load(filepath.Join(dir, "lenet.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, 64*3*32*32)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	in := map[string]*tensor.Dense{"input": ops.Dense([]int{64, 3, 32, 32}, x)}
	if _, err := r.Run(in); err != nil { // compile, first allocations
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
	}
}
