package remap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// batchCases is models/batch/cases.json, written by
// models/make_batch_cases.py with current PyTorch.
type batchCases struct {
	ExportedBatch int   `json:"exported_batch"`
	Batches       []int `json:"batches"`
	Cases         []struct {
		Name          string `json:"name"`
		Want          string `json:"want"`
		ExportedBatch int    `json:"exported_batch"`
		Files         map[string]struct {
			File    string `json:"file"`
			Culprit string `json:"culprit"`
		} `json:"files"`
	} `json:"cases"`
}

// TestDynamicBatchPyTorch: models exported by both of current PyTorch's
// exporters at a fixed batch (2, or 1) run after DynamicBatch at batches 1,
// 3 and 8 in the engine and, written out, in ONNX Runtime, each within 1e-5
// of PyTorch's outputs at those batches (a sequence-first GRU's input has
// its batch on axis 1, as FixedBatch and DynamicBatch find); a model that computes across the
// batch (a mean, a max or a flip over it, exported at 2 or at 1) is refused
// naming the node that does, and is left unchanged.
func TestDynamicBatchPyTorch(t *testing.T) {
	dir := filepath.Join("..", "models", "batch")
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases batchCases
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases.Cases {
		ref, err := npz.Read(filepath.Join(dir, c.Name+".npz"))
		if err != nil {
			t.Fatal(err)
		}
		for exporter, f := range c.Files {
			t.Run(c.Name+"_"+exporter, func(t *testing.T) {
				m, err := importer.Load(filepath.Join(dir, f.File))
				if err != nil {
					t.Fatal(err)
				}
				before, err := export.Encode(m)
				if err != nil {
					t.Fatal(err)
				}
				fixed := FixedBatch(m)
				rep, err := DynamicBatch(m, BatchOptions{})
				if c.Want == "pinned" {
					if !errors.Is(err, ErrBatchPinned) || !strings.Contains(err.Error(), "node "+f.Culprit+" ") {
						t.Fatalf("got %v, want a refusal naming node %s", err, f.Culprit)
					}
					after, _ := export.Encode(m)
					if !bytes.Equal(before, after) {
						t.Fatal("the refused rewrite changed the model")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if rep.Batch != int64(c.ExportedBatch) || fixed != rep.Batch {
					t.Fatalf("exported batch %d (FixedBatch %d), want %d", rep.Batch, fixed, c.ExportedBatch)
				}
				if FixedBatch(m) != 0 {
					t.Fatalf("FixedBatch %d after the rewrite, want 0", FixedBatch(m))
				}
				input := ops.InputNames(m)[0]
				out := filepath.Join(t.TempDir(), "dynamic.onnx")
				if err := export.WriteFile(out, m); err != nil {
					t.Fatal(err)
				}
				r, err := ops.NewRunner(m, ops.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				for _, n := range cases.Batches {
					x, want := ref[fmt.Sprintf("x_%d", n)], ref[fmt.Sprintf("y_%d", n)]
					got, err := r.Run(map[string]*tensor.Dense{input: dense(t, x)})
					if err != nil {
						t.Fatalf("batch %d: %v", n, err)
					}
					y, _ := ops.Data[float32](got[0])
					if d := maxRel(y, want.Data.([]float32)); d > 1e-5 {
						t.Errorf("batch %d: onnxtune differs from PyTorch by %.2g", n, d)
					}
					shape := make([]int64, len(x.Shape))
					for i, d := range x.Shape {
						shape[i] = int64(d)
					}
					res, err := ort.RunFile(out, []ort.Tensor{{Name: input, Shape: shape, Data: x.Data}}, 1)
					if err != nil {
						t.Fatalf("batch %d: onnxruntime: %v", n, err)
					}
					if d := maxRel(res[0].Data.([]float32), want.Data.([]float32)); d > 1e-5 {
						t.Errorf("batch %d: onnxruntime differs from PyTorch by %.2g", n, d)
					}
				}
			})
		}
	}
}

func dense(t *testing.T, a npz.Array) *tensor.Dense {
	t.Helper()
	switch d := a.Data.(type) {
	case []float32:
		return ops.Dense(a.Shape, d)
	case []int64:
		return ops.Dense(a.Shape, d)
	}
	t.Fatalf("input of %T", a.Data)
	return nil
}

// maxRel is the largest |a-b| / max(1, |b|).
func maxRel(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(float64(a[i])-float64(b[i])) / math.Max(1, math.Abs(float64(b[i])))
		if d > worst || math.IsNaN(d) {
			worst = d
		}
	}
	return worst
}

// TestDynamicBatchSequenceFirst: a real sequence-first RNN export
// (../shared/realworld/burn_rnn_pt26.onnx, input [5, 2, 4] read by an RNN
// of layout 0) has its batch on axis 1: FixedBatch is 2, not the sequence's
// 5, and DynamicBatch frees that axis, proved.
func TestDynamicBatchSequenceFirst(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "realworld", "burn_rnn_pt26.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real file absent (%v)", err)
	}
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in := ops.InputNames(m)[0]
	if a, b := BatchAxis(m, in), FixedBatch(m); a != 1 || b != 2 {
		t.Fatalf("batch axis %d, fixed batch %d; want 1, 2", a, b)
	}
	rep, err := DynamicBatch(m, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, dims, _ := m.Graph.Input(in).TensorShape()
	if rep.Batch != 2 || !dims[0].HasValue || dims[0].Value != 5 || !dims[1].HasParam {
		t.Fatalf("batch %d, input dims %v: want 2 and [5 batch 4]", rep.Batch, dims)
	}
}

// TestDynamicBatchProofMemory: a proof whose run at the other batch (2B+1)
// would need more than MaxBytes fails naming the batch and the limit it
// needs (a *graph.LimitError), not as a pinned batch (ErrBatchPinned: the
// batch was not shown pinned), and the model is left as it was. The least
// limit that passes is found by bisection.
func TestDynamicBatchProofMemory(t *testing.T) {
	path := filepath.Join("..", "models", "batch", "view_cnn_dynamo.onnx")
	load := func() *graph.Model {
		m, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	b := int(FixedBatch(load()))
	if b < 1 {
		t.Fatalf("%s: no fixed batch", path)
	}
	least := func(ok func(int64) bool) int64 {
		lo, hi := int64(1), int64(1)<<40 // fails at lo, passes at hi
		for hi-lo > 1 {
			if mid := lo + (hi-lo)/2; ok(mid) {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	proof := least(func(limit int64) bool {
		_, err := DynamicBatch(load(), BatchOptions{MaxBytes: limit})
		return err == nil
	})
	m := load()
	_, err := DynamicBatch(m, BatchOptions{MaxBytes: proof - 1})
	var le *graph.LimitError
	if err == nil || errors.Is(err, ErrBatchPinned) || !errors.As(err, &le) {
		t.Fatalf("MaxBytes %d (one under the proof's): %v; want a *graph.LimitError, not ErrBatchPinned", proof-1, err)
	}
	if want := fmt.Sprintf("cannot run the proof at batch %d", 2*b+1); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if FixedBatch(m) != int64(b) {
		t.Errorf("the model changed after a failed proof: fixed batch %d", FixedBatch(m))
	}
}

// TestDynamicBatchProveAtNegative: a negative ProveAt is an error naming it
// and leaves the model as it was; it was taken as 0 (the default, 2B+1),
// while the documentation gives 0 that meaning only.
func TestDynamicBatchProveAtNegative(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Edit(func(g *graph.Graph) error {
		_, dims, _ := g.Inputs[0].TensorShape()
		dims[0] = graph.Dim{Value: 2, HasValue: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if FixedBatch(m) != 2 {
		t.Fatalf("FixedBatch %d, want 2", FixedBatch(m))
	}
	_, err = DynamicBatch(m, BatchOptions{ProveAt: -1})
	if err == nil || !strings.Contains(err.Error(), "ProveAt -1") {
		t.Fatalf("error %v, want one naming ProveAt -1", err)
	}
	if FixedBatch(m) != 2 {
		t.Errorf("the batch is no longer fixed at 2: FixedBatch %d", FixedBatch(m))
	}
}

// TestDynamicBatchSpans: the proof runs the models span by span, and where
// the spans are cut does not change what DynamicBatch does: for every
// PyTorch export of TestDynamicBatchPyTorch, spans of 1, 2 and 7 nodes (a
// folded shape computation, a recurrent state cut anywhere) give the same
// report and the same model, or the same refusal, as one span of the whole
// graph. None of these exports has a subgraph: TestSpanRunValues cuts
// around If nodes.
func TestDynamicBatchSpans(t *testing.T) {
	dir := filepath.Join("..", "models", "batch")
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases batchCases
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	outcome := func(t *testing.T, file string, span int) string {
		return batchOutcome(t, func() *graph.Model {
			m, err := importer.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, span)
	}
	runs := 0
	for _, c := range cases.Cases {
		for exporter, f := range c.Files {
			t.Run(c.Name+"_"+exporter, func(t *testing.T) {
				file := filepath.Join(dir, f.File)
				whole := outcome(t, file, 0)
				if strings.HasPrefix(whole, "error: ") != (c.Want == "pinned") {
					t.Fatalf("one span: %s (the case wants %q)", whole, c.Want)
				}
				for _, span := range []int{1, 2, 7} {
					if got := outcome(t, file, span); got != whole {
						t.Errorf("spans of %d nodes:\n%s\none span:\n%s", span, got, whole)
					}
					runs++
				}
			})
		}
	}
	if runs == 0 {
		t.Fatal("no case ran")
	}
}

// TestDynamicBatchProofSpansMemory: the proof keeps a span's values at a
// time, not the model's: a chain of 800 Relu nodes whose values at the
// proof's batch add up to several times MaxBytes, each span's to less,
// is proved (run whole, the proof failed with a *graph.LimitError).
func TestDynamicBatchProofSpansMemory(t *testing.T) {
	const batch, width, depth = 4, 1024, 800
	g := &graph.Graph{
		Name:    "relu_chain",
		Inputs:  []*graph.ValueInfo{{Name: "x", Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: &graph.Shape{Dims: []graph.Dim{{Value: batch, HasValue: true}, {Value: width, HasValue: true}}}}}},
		Outputs: []*graph.ValueInfo{{Name: fmt.Sprintf("v%d", depth)}},
	}
	for i := range depth {
		g.Nodes = append(g.Nodes, &graph.Node{Name: fmt.Sprintf("relu%d", i), OpType: "Relu",
			Inputs: []string{fmt.Sprintf("v%d", i)}, Outputs: []string{fmt.Sprintf("v%d", i+1)}})
	}
	g.Nodes[0].Inputs[0] = "x"
	m := &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 17}}, Graph: g}
	perValue := int64((2*batch + 1) * width * 4) // at the proof's batch, 2B+1
	limit := perValue * int64(spanNodes) * 2
	if whole := perValue * depth; whole < 4*limit {
		t.Fatalf("the chain's values at batch %d are %d bytes, want several times the limit %d", 2*batch+1, whole, limit)
	}
	rep, err := DynamicBatch(m, BatchOptions{MaxBytes: limit})
	if err != nil {
		t.Fatalf("MaxBytes %d: %v", limit, err)
	}
	if !slices.Equal(rep.ProvedAt, []int{batch, 2*batch + 1}) || FixedBatch(m) != 0 {
		t.Fatalf("report %+v, fixed batch %d after: want proved at [%d %d], none fixed", *rep, FixedBatch(m), batch, 2*batch+1)
	}
}
