package train

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
)

// The sequence models of issue 15, exported by models/make_perf_seq.py
// into .cache/perf/ (not in the repository). PyTorch's time for the same
// step: `.venv/bin/python models/make_perf_seq.py time lstm 1` (or bert,
// or 2 threads); `go test -cpu 1,2` gives ours at 1 and 2 threads.

// benchSeq times Trainer.Step on file with input_ids [batch, seq] drawn
// from a fixed seed and labels i % classes: SGD lr 0.001, momentum 0.9,
// weight decay 1e-4, head at lr 0.01, as the PyTorch side.
func benchSeq(b *testing.B, file string, batch, seq, vocab, classes int, head string) {
	tr := benchTrainer(b, filepath.Join("..", ".cache", "perf", file), head,
		"run `.venv/bin/python models/make_perf_seq.py export` first")
	tr.MaxBytes = 16 << 30 // BERT-base's values at batch 8 exceed the default 2 GiB
	r := rand.New(rand.NewSource(1))
	ids := make([]int64, batch*seq)
	for i := range ids {
		ids[i] = r.Int63n(int64(vocab))
	}
	benchSteps(b, tr, ops.Dense([]int{batch, seq}, ids), labels(batch, classes), 2)
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
