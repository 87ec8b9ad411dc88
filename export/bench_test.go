package export_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// BenchmarkImportExport_resnet18 loads the 45 MB torchvision ResNet-18 export
// and writes it back to a file, reporting MB/s of model file and how many
// times the file's size the whole operation allocates (an upper bound on its
// peak memory). Targets: under 1 s an operation, under 3x the file size.
func BenchmarkImportExport_resnet18(b *testing.B) {
	dir, err := testmodels.ModelsDir()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "big", "resnet18_preserve.onnx")
	st, err := os.Stat(path)
	if err != nil {
		b.Skip("models/big/resnet18_preserve.onnx not generated (run /usr/bin/python3 models/make_models.py --big)")
	}
	out := filepath.Join(b.TempDir(), "out.onnx")
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := importer.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := export.WriteFile(out, m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
	b.ReportMetric(perOp/float64(st.Size()), "x-file-allocated")
}
