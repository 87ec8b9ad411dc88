package ops_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// BenchmarkInference_resnet18_b16_64px runs torchvision's ResNet-18 (eval
// export) on a batch of 16 3x64x64 images in onnxtune and in ONNX Runtime
// (2 threads), alternating in the same loop after a warm-up, and reports
// both times and their ratio (onnxtune / onnxruntime).
func BenchmarkInference_resnet18_b16_64px(b *testing.B) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "big", "resnet18_64px_eval.onnx")
	if _, err := os.Stat(path); err != nil {
		b.Skip("models/big/resnet18_64px_eval.onnx not generated (run /usr/bin/python3 models/make_models.py --big)")
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
	sess, err := ort.NewSessionFile(path, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(i%97)/97 - 0.5
	}
	in := map[string]*tensor.Dense{"input": ops.Dense([]int{16, 3, 64, 64}, x)}
	oin := []ort.Tensor{{Name: "input", Shape: []int64{16, 3, 64, 64}, Data: x}}
	for i := 0; i < 2; i++ { // warm-up: compile, first allocations
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		if _, err := sess.Run(oin); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var ours, theirs time.Duration
	oursMin, theirsMin := time.Duration(1<<62), time.Duration(1<<62)
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := sess.Run(oin); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ours += t1.Sub(t0)
		theirs += t2.Sub(t1)
		oursMin, theirsMin = min(oursMin, t1.Sub(t0)), min(theirsMin, t2.Sub(t1))
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(ours.Microseconds())/1000/n, "onnxtune-ms")
	b.ReportMetric(float64(theirs.Microseconds())/1000/n, "onnxruntime-ms")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
	// The fastest runs: on a machine other jobs keep busy, the means move
	// by half between runs.
	b.ReportMetric(float64(oursMin.Microseconds())/1000, "onnxtune-min-ms")
	b.ReportMetric(float64(theirsMin.Microseconds())/1000, "onnxruntime-min-ms")
	b.ReportMetric(float64(oursMin)/float64(theirsMin), "min-ratio")
}

// BenchmarkRun_resnet18_b16_64px runs only onnxtune's side of
// BenchmarkInference_resnet18_b16_64px and reports the mean, the fastest
// run and the CPU time a run (which other tenants of a busy machine do not
// inflate, unlike the wall times; ONNX Runtime's threads would count in
// the other benchmark's).
func BenchmarkRun_resnet18_b16_64px(b *testing.B) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "big", "resnet18_64px_eval.onnx")
	if _, err := os.Stat(path); err != nil {
		b.Skip("models/big/resnet18_64px_eval.onnx not generated (run /usr/bin/python3 models/make_models.py --big)")
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
	x := make([]float32, 16*3*64*64)
	for i := range x {
		x[i] = float32(i%97)/97 - 0.5
	}
	in := map[string]*tensor.Dense{"input": ops.Dense([]int{16, 3, 64, 64}, x)}
	for i := 0; i < 2; i++ {
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	fastest := time.Duration(1 << 62)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		fastest = min(fastest, time.Since(t0))
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
	b.ReportMetric(float64(fastest.Microseconds())/1000, "min-ms/run")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/run")
}
