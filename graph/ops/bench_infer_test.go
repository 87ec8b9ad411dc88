package ops_test

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// BenchmarkInference_mobilenetv2_b16_64px runs the bench harness's
// MobileNetV2 eval export (tools/bench/torch_bench.py writes
// .cache/bench/mobilenet_eval.onnx) on a batch of 16 3x64x64 images with
// ops.Runner.Run and in ONNX Runtime (2 intra-op threads), alternating in
// the same loop, and reports the minimum time of each and the ratio of the
// minimums (the machine is shared: the minimum is the least disturbed
// run). With -v it logs the engine's per-op profile of the timed runs
// (ops.StartProfile).
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
	sess, err := ort.NewSessionFile(path, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	name := ops.InputNames(m)[0]
	in := map[string]*tensor.Dense{name: ops.Dense([]int{16, 3, 64, 64}, x)}
	oin := []ort.Tensor{{Name: name, Shape: []int64{16, 3, 64, 64}, Data: x}}
	for range 2 { // warm-up: compile, first allocations
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		if _, err := sess.Run(oin); err != nil {
			b.Fatal(err)
		}
	}
	prof := ops.StartProfile()
	defer ops.StopProfile()
	b.ReportAllocs()
	b.ResetTimer()
	ours, theirs := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for range b.N {
		t0 := time.Now()
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := sess.Run(oin); err != nil {
			b.Fatal(err)
		}
		ours, theirs = min(ours, t1.Sub(t0)), min(theirs, time.Since(t1))
	}
	b.StopTimer()
	b.ReportMetric(float64(ours.Microseconds())/1000, "onnxtune-min-ms")
	b.ReportMetric(float64(theirs.Microseconds())/1000, "onnxruntime-min-ms")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
	if testing.Verbose() {
		for _, s := range prof.Stats() {
			b.Logf("%-22s %5d calls %8.3f ms/run", s.Op, s.Calls/b.N, float64(s.Time.Microseconds())/1000/float64(b.N))
		}
	}
}
