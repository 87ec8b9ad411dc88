package ops_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// BenchmarkInference_mobilenetv2_b16_64px runs the bench harness's
// MobileNetV2 eval export (tools/bench/torch_bench.py writes
// .cache/bench/mobilenet_eval.onnx) on a batch of 16 3x64x64 images with
// ops.Runner.Run. With -v it logs the engine's per-op profile of the timed
// runs (ops.StartProfile).
func BenchmarkInference_mobilenetv2_b16_64px(b *testing.B) {
	if testing.Short() {
		b.Skip("big model")
	}
	path := filepath.Join("..", "..", ".cache", "bench", "mobilenet_eval.onnx")
	if _, err := os.Stat(path); err != nil {
		b.Skip(".cache/bench/mobilenet_eval.onnx not exported (go run ./tools/bench --only infer-mobilenet)")
	}
	m, err := importer.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	in := map[string]*tensor.Dense{ops.InputNames(m)[0]: ops.Dense([]int{16, 3, 64, 64}, x)}
	for range 2 { // warm-up: compile, first allocations
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	prof := ops.StartProfile()
	defer ops.StopProfile()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if testing.Verbose() {
		for _, s := range prof.Stats() {
			b.Logf("%-22s %5d calls %8.3f ms/run", s.Op, s.Calls/b.N, float64(s.Time.Microseconds())/1000/float64(b.N))
		}
	}
}
