package ops_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/gemm"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// The inference benchmarks run the eval exports of tools/bench's infer and
// infer-mobilenet rows (torchvision's ResNet-18 and MobileNetV2, Conv and
// BatchNorm fused, made by `.venv/bin/python tools/bench/torch_bench.py
// fixtures --only resnet,mobilenet` into .cache/bench) on a batch of 16
// 3x64x64 standard normal images.
//
// BenchmarkInference_* alternate onnxtune and ONNX Runtime (2 intra-op
// threads) in the same loop after a warm-up and report each side's mean
// and fastest run and their ratios (the machines are shared: the fastest
// run is the least disturbed); with -v they log the engine's per-op
// profile of the timed runs. BenchmarkRun_* time onnxtune alone and also
// report its CPU time a run, which other tenants do not inflate.

func BenchmarkInference_resnet18_b16_64px(b *testing.B) {
	benchInference(b, "resnet_eval.onnx", true)
}

func BenchmarkInference_mobilenetv2_b16_64px(b *testing.B) {
	benchInference(b, "mobilenet_eval.onnx", true)
}

func BenchmarkRun_resnet18_b16_64px(b *testing.B) {
	benchInference(b, "resnet_eval.onnx", false)
}

func BenchmarkRun_mobilenetv2_b16_64px(b *testing.B) {
	benchInference(b, "mobilenet_eval.onnx", false)
}

func benchInference(b *testing.B, file string, withORT bool) {
	if _, err := gemm.Kernel(); err != nil { // a figure for one kernel must not be made with another
		b.Fatal(err)
	}
	if testing.Short() {
		b.Skip("a large benchmark")
	}
	path := filepath.Join("..", "..", ".cache", "bench", file)
	if _, err := os.Stat(path); err != nil {
		b.Skip("no " + path + ": run .venv/bin/python tools/bench/torch_bench.py fixtures --only resnet,mobilenet")
	}
	m, r := loadRunner(b, path)
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	name := ops.InputNames(m)[0]
	in := map[string]*tensor.Dense{name: ops.Dense([]int{16, 3, 64, 64}, x)}
	run := func() error { _, err := r.Run(in); return err }
	var ref func() error
	if withORT {
		sess, err := ort.NewSessionFile(path, 2)
		if err != nil {
			b.Fatal(err)
		}
		defer sess.Close()
		oin := []ort.Tensor{{Name: name, Shape: []int64{16, 3, 64, 64}, Data: x}}
		ref = func() error { _, err := sess.Run(oin); return err }
	}
	for range 2 { // warm-up: compile, first allocations
		if err := run(); err != nil {
			b.Fatal(err)
		}
		if ref != nil {
			if err := ref(); err != nil {
				b.Fatal(err)
			}
		}
	}
	var prof *ops.OpProfile
	if testing.Verbose() {
		prof = ops.StartProfile()
		defer ops.StopProfile()
	}
	b.ReportAllocs()
	b.ResetTimer()
	var ours, theirs time.Duration
	runs := make([]time.Duration, 0, b.N) // for the median, which other load disturbs least
	oursMin, theirsMin := time.Duration(1<<62), time.Duration(1<<62)
	cpu0 := ops.ProcCPUTime()
	for range b.N {
		t0 := time.Now()
		if err := run(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		runs = append(runs, t1.Sub(t0))
		ours += t1.Sub(t0)
		oursMin = min(oursMin, t1.Sub(t0))
		if ref != nil {
			if err := ref(); err != nil {
				b.Fatal(err)
			}
			theirs += time.Since(t1)
			theirsMin = min(theirsMin, time.Since(t1))
		}
	}
	cpu := ops.ProcCPUTime() - cpu0
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(ours.Microseconds())/1000/n, "onnxtune-ms")
	b.ReportMetric(float64(oursMin.Microseconds())/1000, "onnxtune-min-ms")
	slices.Sort(runs)
	b.ReportMetric(float64(runs[len(runs)/2].Microseconds())/1000, "onnxtune-p50-ms")
	if ref != nil {
		b.ReportMetric(float64(theirs.Microseconds())/1000/n, "onnxruntime-ms")
		b.ReportMetric(float64(theirsMin.Microseconds())/1000, "onnxruntime-min-ms")
		b.ReportMetric(float64(ours)/float64(theirs), "ratio")
		b.ReportMetric(float64(oursMin)/float64(theirsMin), "min-ratio")
	} else {
		b.ReportMetric(float64(cpu.Microseconds())/1000/n, "cpu-ms/run")
	}
	if prof != nil {
		for _, s := range prof.Stats() {
			b.Logf("%-22s %5d calls %8.3f ms/run", s.Op, s.Calls/b.N, float64(s.Time.Microseconds())/1000/n)
		}
	}
}
