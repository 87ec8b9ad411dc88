//go:build unix

package train

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The sequence models of issue 15, exported by models/make_perf_seq.py
// into .cache/perf/ (not in the repository). PyTorch's time for the same
// step: `.venv/bin/python models/make_perf_seq.py time lstm 1` (or bert,
// or 2 threads); `go test -cpu 1,2` gives ours at 1 and 2 threads.

var opProfile = flag.Bool("opprofile", false, "benchmarks: print the engine's per-op profile of the timed steps")

// benchSeq times Trainer.Step on file with input_ids [batch, seq] drawn
// from a fixed seed and labels i % classes: SGD lr 0.001, momentum 0.9,
// weight decay 1e-4, head at lr 0.01, as the PyTorch side.
func benchSeq(b *testing.B, file string, batch, seq, vocab, classes int, head string) {
	if _, err := gemm.Kernel(); err != nil { // a figure for one kernel must not be made with another
		b.Fatal(err)
	}
	path := filepath.Join("..", ".cache", "perf", file)
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s: run `.venv/bin/python models/make_perf_seq.py export` first", path)
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
	defer tr.Close()
	tr.GCPercent = *gcPercent
	tr.MaxBytes = 16 << 30 // BERT-base's values at batch 8 exceed the default 2 GiB
	r := rand.New(rand.NewSource(1))
	ids := make([]int64, batch*seq)
	for i := range ids {
		ids[i] = r.Int63n(int64(vocab))
	}
	y := make([]int64, batch)
	for i := range y {
		y[i] = int64(i % classes)
	}
	x := ops.Dense([]int{batch, seq}, ids)
	for i := 0; i < 2; i++ {
		if _, err := tr.Step(x, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	var prof *ops.OpProfile
	if *opProfile {
		prof = ops.StartProfile()
		defer ops.StopProfile()
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(x, y, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time (user + system, every thread) beside the wall time: on a
	// machine shared with other work it is the steadier figure.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB") // alone in its process: the steps' own
	if prof != nil {
		for _, s := range prof.Stats() {
			fmt.Printf("%-28s %6d calls %9.2f ms/step\n", s.Op, s.Calls, float64(s.Time.Microseconds())/1e3/float64(b.N))
		}
	}
}

// BenchmarkTrainStep_lstm_b32_seq64: Embedding(10000, 128), a 2-layer
// LSTM(128, 256), Linear(256, 10) on the last step.
func BenchmarkTrainStep_lstm_b32_seq64(b *testing.B) {
	benchSeq(b, "lstm_b32.onnx", 32, 64, 10000, 10, "fc.*")
}

// BenchmarkTrainStep_bert_b8_seq128: BertForSequenceClassification at
// BERT-base's size (110M parameters), random weights, no dropout.
func BenchmarkTrainStep_bert_b8_seq128(b *testing.B) {
	if testing.Short() {
		b.Skip("BERT-base: skipped under -short")
	}
	benchSeq(b, "bert_b8.onnx", 8, 128, 30522, 2, "bert.classifier.*")
}
