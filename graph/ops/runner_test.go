package ops_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
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

// TestRunnerUnknownInput: a value under a name the model does not take is
// an error naming it and the model's inputs (as ONNX Runtime refuses an
// invalid input name), not dropped; so is a missing one.
func TestRunnerUnknownInput(t *testing.T) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	_, r := loadRunner(t, filepath.Join(dir, "mlp_bn_eval.onnx"))
	x := floats(20)(rand.New(rand.NewSource(1)), 2)
	for _, tc := range []struct {
		name string
		in   map[string]*tensor.Dense
		want string
	}{
		{"extra", map[string]*tensor.Dense{"input": x, "inptu": x}, `the model has no input "inptu" (its inputs: input)`},
		{"misspelt", map[string]*tensor.Dense{"inptu": x}, `no value for input "input"`},
	} {
		_, err := r.Run(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ops.ErrShape) {
			t.Errorf("%s: got error %v, want one with %q", tc.name, err, tc.want)
		}
	}
	if _, err := r.Run(map[string]*tensor.Dense{"input": x}); err != nil {
		t.Errorf("the model's own input: %v", err)
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
	_, r := loadRunner(b, filepath.Join(dir, "lenet.onnx"))
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

// TestRunnerViews gives Run the same input as views of other tensors: rows
// of a larger batch, channels of a tensor with more (not contiguous), and a
// lazy transpose (tensor's T, which changes the shape and strides but not
// the data's order). Each must give, bit for bit, the outputs of the plain
// tensor: a kernel reading the view's backing array in its stored order
// computed another input's outputs without an error.
func TestRunnerViews(t *testing.T) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	_, r := loadRunner(t, filepath.Join(dir, "lenet.onnx"))
	rng := rand.New(rand.NewSource(3))
	x := floats(3, 32, 32)(rng, 2)
	run := func(in *tensor.Dense) []float32 {
		t.Helper()
		outs, err := r.Run(map[string]*tensor.Dense{"input": in})
		if err != nil {
			t.Fatal(err)
		}
		return outs[0].Data().([]float32)
	}
	want := run(x)
	xs := x.Data().([]float32)
	const plane = 32 * 32

	rows := ops.Dense([]int{4, 3, 32, 32}, make([]float32, 4*3*plane))
	copy(rows.Data().([]float32)[3*plane:], xs)
	rowsView, err := rows.Slice(tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}

	chans := ops.Dense([]int{2, 5, 32, 32}, make([]float32, 2*5*plane))
	for b := range 2 {
		copy(chans.Data().([]float32)[(b*5+1)*plane:(b*5+4)*plane], xs[b*3*plane:(b+1)*3*plane])
	}
	chansView, err := chans.Slice(nil, tensor.S(1, 4))
	if err != nil {
		t.Fatal(err)
	}

	// x stored as [32, 32, 3, 2], then lazily transposed back to [2, 3, 32, 32].
	stored := x.Clone().(*tensor.Dense)
	if err := stored.T(2, 3, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := stored.Transpose(); err != nil {
		t.Fatal(err)
	}
	lazy := stored.Clone().(*tensor.Dense)
	if err := lazy.T(3, 2, 0, 1); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		in   *tensor.Dense
	}{
		{"rows 1:3 of a batch of 4", rowsView.(*tensor.Dense)},
		{"channels 1:4 of 5", chansView.(*tensor.Dense)},
		{"lazy transpose", lazy},
	} {
		if !tc.in.Shape().Eq(x.Shape()) {
			t.Fatalf("%s: shape %v, want %v", tc.name, tc.in.Shape(), x.Shape())
		}
		if d := firstDiff(run(tc.in), want); d != "" {
			t.Errorf("%s: %s", tc.name, d)
		}
	}
}

// loadRunner imports the model at path and makes a Runner for it, closed
// when the test ends.
func loadRunner(tb testing.TB, path string) (*graph.Model, *ops.Runner) {
	tb.Helper()
	m, err := importer.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return m, r
}

// TestNewRunnerNilModel: NewRunner of a nil model, or one without a
// graph, is an error, not a nil-pointer panic.
func TestNewRunnerNilModel(t *testing.T) {
	for _, m := range []*graph.Model{nil, {}} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("model %v: panic: %v", m, r)
				}
			}()
			if _, err := ops.NewRunner(m, ops.Options{}); err == nil {
				t.Errorf("model %v: no error", m)
			}
		}()
	}
}

// TestCompileNilArguments: Compile of a nil model, or with a nil tensor in
// Options.Params or Options.Constants, is an error naming what is missing;
// each was a nil-pointer panic recovered as "gorgonia: runtime error".
func TestCompileNilArguments(t *testing.T) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(filepath.Join(dir, "lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{"input": {1, 3, 32, 32}}
	for _, tc := range []struct {
		name string
		m    *graph.Model
		opts ops.Options
		want string
	}{
		{"nil model", nil, ops.Options{}, "no model (nil, or without a graph)"},
		{"no graph", &graph.Model{}, ops.Options{}, "no model (nil, or without a graph)"},
		{"nil param", m, ops.Options{Params: map[string]*tensor.Dense{"conv1.weight": nil}}, `initializer "conv1.weight": Options.Params gives no tensor (nil)`},
		{"nil constant", m, ops.Options{Constants: map[string]*tensor.Dense{"input": nil}}, `graph input "input": Options.Constants gives no tensor (nil)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ops.Compile(tc.m, shapes, tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestZeroRunner: a Runner not made by NewRunner (its zero value) is an
// error from Run saying so (a nil-pointer panic), and closes.
func TestZeroRunner(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	var r ops.Runner
	const want = "ops: the Runner was not made by NewRunner"
	if _, err := r.Run(map[string]*tensor.Dense{}); err == nil || err.Error() != want {
		t.Errorf("Run: error %v, want %q", err, want)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
