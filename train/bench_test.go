package train

import (
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// gcPercent sets Trainer.GCPercent in the step benchmarks, to weigh peak
// memory (peak-rss-MB, with one benchmark per process) against step time.
var gcPercent = flag.Int("gcpercent", 0, "benchmarks: Trainer.GCPercent (0: DefaultGCPercent, -1: leave GOGC as it is)")

// opProfile logs the engine's per-op profile of the timed steps (as
// ONNXTUNE_OPPROFILE does).
var opProfile = flag.Bool("opprofile", false, "benchmarks: print the engine's per-op profile of the timed steps")

// BenchmarkTrainStep_mnist_lenet_b64 times one SGD step (two groups) of the
// MNIST LeNet at batch 64, after a warm-up; shared/REFERENCE.md measured
// PyTorch at about 6 ms for the same step on this machine.
func BenchmarkTrainStep_mnist_lenet_b64(b *testing.B) {
	tr := benchTrainer(b, filepath.Join("..", "models", "mnist_lenet_10.onnx"), "fc3.*", "")
	benchSteps(b, tr, ops.Dense([]int{64, 1, 28, 28}, normals(64*784)), labels(64, 10), 3)
}

// benchTrainer loads the model at path (skipping the benchmark with
// hint when it is absent) and returns its Trainer for the benchmarks'
// recipe, as tools/bench's: SGD lr 0.001, momentum 0.9, weight decay 1e-4,
// the parameters matching head at lr 0.01, cross-entropy. It refuses an
// ONNXTUNE_GEMM the machine cannot honour (a figure for one kernel must
// not be made with another) and closes the Trainer when b ends.
func benchTrainer(b *testing.B, path, head, hint string) *Trainer {
	if _, err := gemm.Kernel(); err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil && hint != "" {
		b.Skip("no " + path + ": " + hint)
	}
	m, err := importer.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	groups, err := Assign(m.Params, []GroupSpec{{Pattern: head, Set: map[string]float64{"lr": 0.01}}},
		Hyper{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Close() })
	tr.GCPercent = *gcPercent
	return tr
}

// normals is n standard normal float32 values from a fixed seed.
func normals(n int) []float32 {
	r := rand.New(rand.NewSource(1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// labels is i % classes for i < n.
func labels(n, classes int) []int64 {
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(i % classes)
	}
	return y
}

// benchSteps runs warmup steps of tr on (x, y), then times b.N steps
// (timeSteps); with -opprofile or ONNXTUNE_OPPROFILE set it logs the
// engine's per-op times of the timed steps.
func benchSteps(b *testing.B, tr *Trainer, x *tensor.Dense, y []int64, warmup int) {
	step := func() error { _, err := tr.Step(x, y, nil, 1); return err }
	for range warmup {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	var prof *ops.OpProfile
	if *opProfile || os.Getenv("ONNXTUNE_OPPROFILE") != "" {
		prof = ops.StartProfile()
		defer ops.StopProfile()
	}
	timeSteps(b, step)
	if prof != nil {
		for _, s := range prof.Stats() {
			b.Logf("%-28s %6d calls %8.2f ms a step", s.Op, s.Calls, float64(s.Time.Microseconds())/1e3/float64(b.N))
		}
	}
}

// timeSteps runs step b.N times and reports, beside ns/op, the mean, the
// fastest step and the CPU time a step. The machines are shared: the
// fastest step is the wall time least touched by other tenants, and with
// -cpu 1 the CPU time a step takes is its work whatever they do.
func timeSteps(b *testing.B, step func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	fastest := time.Duration(math.MaxInt64)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := step(); err != nil {
			b.Fatal(err)
		}
		fastest = min(fastest, time.Since(t0))
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/step")
	b.ReportMetric(float64(fastest.Microseconds())/1000, "min-ms/step")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/step")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
}

// BenchmarkTrainStep_resnet18_b16_64px, _mobilenetv2_ and _efficientnetb0_
// time one SGD step of torchvision's ResNet-18, MobileNetV2 and
// EfficientNet-B0 on a batch of 16 3x64x64 images: the workloads of
// tools/bench's resnet, mobilenet and effnet rows, on the fixtures its
// reference side exports (.venv/bin/python tools/bench/torch_bench.py
// fixtures --only resnet,mobilenet,effnet). ONNXTUNE_GEMM picks the GEMM
// kernel.
func BenchmarkTrainStep_resnet18_b16_64px(b *testing.B) {
	benchFixtureStep(b, "resnet_train.onnx", "fc.*")
}

func BenchmarkTrainStep_mobilenetv2_b16_64px(b *testing.B) {
	benchFixtureStep(b, "mobilenet_train.onnx", "classifier.*")
}

func BenchmarkTrainStep_efficientnetb0_b16_64px(b *testing.B) {
	benchFixtureStep(b, "effnet_train.onnx", "classifier.*")
}

// benchFixtureStep times one SGD step of a 3x64x64 ImageNet-class model
// from .cache/bench at batch 16 (two groups: head at lr 0.01, the rest at
// 0.001, momentum 0.9, weight decay 1e-4; cross-entropy), after two
// warm-up steps.
func benchFixtureStep(b *testing.B, file, head string) {
	if testing.Short() {
		b.Skip("a large benchmark")
	}
	tr := benchTrainer(b, filepath.Join("..", ".cache", "bench", file), head,
		"run .venv/bin/python tools/bench/torch_bench.py fixtures --only resnet,mobilenet,effnet")
	benchSteps(b, tr, ops.Dense([]int{16, 3, 64, 64}, normals(16*3*64*64)), labels(16, 1000), 2)
}
