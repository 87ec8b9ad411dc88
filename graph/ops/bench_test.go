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
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := r.Run(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := sess.Run(oin); err != nil {
			b.Fatal(err)
		}
		ours += t1.Sub(t0)
		theirs += time.Since(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(ours.Milliseconds())/n, "onnxtune-ms")
	b.ReportMetric(float64(theirs.Microseconds())/1000/n, "onnxruntime-ms")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
}
