package train

import (
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// gcPercent sets Trainer.GCPercent in the step benchmarks, to weigh peak
// memory (peak-rss-MB, with one benchmark per process) against step time.
var gcPercent = flag.Int("gcpercent", 0, "benchmarks: Trainer.GCPercent (0: DefaultGCPercent, -1: leave GOGC as it is)")

// BenchmarkTrainStep_mnist_lenet_b64 times one SGD step (two groups) of the
// MNIST LeNet at batch 64, after a warm-up; shared/REFERENCE.md measured
// PyTorch at about 6 ms for the same step on this machine.
func BenchmarkTrainStep_mnist_lenet_b64(b *testing.B) {
	m, err := importer.Load(filepath.Join("..", "models", "mnist_lenet_10.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	groups, err := Assign(m.Params, []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.01}}},
		Hyper{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	r := rand.New(rand.NewSource(1))
	x := make([]float32, 64*784)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int64, 64)
	for i := range y {
		y[i] = int64(i % 10)
	}
	xt := ops.Dense([]int{64, 1, 28, 28}, x)
	for i := 0; i < 3; i++ {
		if _, err := tr.Step(xt, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	timeSteps(b, func() error { _, err := tr.Step(xt, y, nil, 1); return err })
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

// BenchmarkTrainStep_resnet18_b16_64px times one SGD step (two groups, the
// head fc.* at lr 0.01) of torchvision's ResNet-18 on a batch of 16 3x64x64
// images, after a warm-up: the workload of tools/bench's resnet row, whose
// fixture export it needs in models/big (/usr/bin/python3
// models/make_models.py --big). ONNXTUNE_GEMM picks the GEMM kernel.
func BenchmarkTrainStep_resnet18_b16_64px(b *testing.B) {
	if testing.Short() {
		b.Skip("seconds a step")
	}
	path := filepath.Join("..", "models", "big", "resnet18_64px_preserve.onnx")
	if _, err := os.Stat(path); err != nil {
		b.Skip("models/big/resnet18_64px_preserve.onnx not generated (run /usr/bin/python3 models/make_models.py --big)")
	}
	m, err := importer.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	groups, err := Assign(m.Params, []GroupSpec{{Pattern: "fc.*", Set: map[string]float64{"lr": 0.01}}},
		Hyper{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	tr.GCPercent = *gcPercent
	r := rand.New(rand.NewSource(1))
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int64, 16)
	for i := range y {
		y[i] = int64(i % 1000)
	}
	xt := ops.Dense([]int{16, 3, 64, 64}, x)
	for i := 0; i < 2; i++ {
		if _, err := tr.Step(xt, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	timeSteps(b, func() error { _, err := tr.Step(xt, y, nil, 1); return err })
}

// BenchmarkTrainStep_mobilenetv2_b16_64px times one SGD step (two groups,
// the classifier at lr 0.01) of torchvision's MobileNetV2 at 3x64x64,
// batch 16: its depthwise convolutions run the direct loops. The fixture
// is made by tools/bench/mobilenet_fixture.py into .cache/bench.
func BenchmarkTrainStep_mobilenetv2_b16_64px(b *testing.B) {
	benchFixtureStep(b, "mobilenet_v2_64px_preserve.onnx", "mobilenet_fixture.py")
}

// BenchmarkTrainStep_efficientnetb0_b16_64px is the same step for
// torchvision's EfficientNet-B0 (SiLU as Sigmoid and Mul, squeeze-excite),
// made by tools/bench/efficientnet_fixture.py; tools/bench/mobile_torch.py
// times PyTorch on the same step.
func BenchmarkTrainStep_efficientnetb0_b16_64px(b *testing.B) {
	benchFixtureStep(b, "efficientnet_b0_64px_preserve.onnx", "efficientnet_fixture.py")
}

// benchFixtureStep times one SGD step of a 3x64x64 ImageNet-class model
// from .cache/bench at batch 16 (two groups: the classifier at lr 0.01, the
// rest at 0.001, momentum 0.9, weight decay 1e-4; cross-entropy). With
// ONNXTUNE_OPPROFILE set it prints the engine's per-op times of the timed
// steps.
func benchFixtureStep(b *testing.B, file, script string) {
	path := filepath.Join("..", ".cache", "bench", file)
	if _, err := os.Stat(path); err != nil {
		b.Skip("no " + path + ": run tools/bench/" + script + " with PyTorch")
	}
	if testing.Short() {
		b.Skip("a large benchmark")
	}
	m, err := importer.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	groups, err := Assign(m.Params, []GroupSpec{{Pattern: "classifier.*", Set: map[string]float64{"lr": 0.01}}},
		Hyper{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	tr.GCPercent = *gcPercent
	r := rand.New(rand.NewSource(1))
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int64, 16)
	for i := range y {
		y[i] = int64(i % 1000)
	}
	xt := ops.Dense([]int{16, 3, 64, 64}, x)
	for i := 0; i < 2; i++ {
		if _, err := tr.Step(xt, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	var prof *ops.OpProfile
	if os.Getenv("ONNXTUNE_OPPROFILE") != "" {
		prof = ops.StartProfile()
		defer ops.StopProfile()
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(xt, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
	if prof != nil {
		for _, s := range prof.Stats() {
			b.Logf("%-28s %6d calls %8.2f ms a step", s.Op, s.Calls, float64(s.Time.Microseconds())/1e3/float64(b.N))
		}
	}
}
