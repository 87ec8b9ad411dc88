package train

import (
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/train/data"
)

// TestStepBatchInputs: a step takes exactly the model's inputs by name, of
// the element types they declare; Step (one tensor) is for models of one
// input, and an array named x feeds such a model too.
func TestStepBatchInputs(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "multi", "text.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tr := sgdTrainer(t, m, Hyper{LR: 0.01})
	ids := ops.Dense([]int{2, 3}, []int64{1, 2, 3, 4, 5, 0})
	mask := ops.Dense([]int{2, 3}, []int64{1, 1, 1, 1, 1, 0})
	labels := []int64{0, 2}
	batch := func(in map[string]*tensor.Dense) data.Batch { return data.Batch{Inputs: in, Labels: labels, N: 2} }
	for _, tc := range []struct {
		name string
		b    data.Batch
		want string
	}{
		{"missing", batch(map[string]*tensor.Dense{"input_ids": ids}), `the batch has no input "attention_mask" (the model's inputs: input_ids, attention_mask)`},
		{"extra", batch(map[string]*tensor.Dense{"input_ids": ids, "attention_mask": mask, "token_type_ids": ids}), `input "token_type_ids" that the model does not take`},
		{"x for two inputs", batch(map[string]*tensor.Dense{"x": ids}), `the batch has no input "input_ids"`},
		{"element type", batch(map[string]*tensor.Dense{"input_ids": ids, "attention_mask": ops.Dense([]int{2, 3}, make([]float32, 6))}),
			`input "attention_mask": float32 values, the model wants int64`},
		{"labels", data.Batch{Inputs: map[string]*tensor.Dense{"input_ids": ids, "attention_mask": mask}, Labels: []int64{0}, N: 2}, "1 labels for 2 examples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tr.StepBatch(tc.b, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := tr.Step(ids, labels, nil, 1); err == nil || !strings.Contains(err.Error(), "the model takes 2 inputs (input_ids, attention_mask): give them by name to StepBatch") {
		t.Errorf("Step on a model of two inputs: %v", err)
	}
	// N may be left out: the first axis of the inputs gives it.
	res, err := tr.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{"input_ids": ids, "attention_mask": mask}, Labels: labels}, 1)
	if err != nil || res.N != 2 {
		t.Errorf("StepBatch without N: %+v, %v", res, err)
	}

	// A model of one input takes its tensor under its name or as x.
	one, err := importer.Load(filepath.Join("..", "models", "mlp_bn_eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tr1 := sgdTrainer(t, one, Hyper{LR: 0.01})
	x := ops.Dense([]int{2, 20}, make([]float32, 40))
	for _, name := range []string{"input", "x"} {
		if _, err := tr1.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{name: x}, Labels: []int64{0, 1}, N: 2}, 1); err != nil {
			t.Errorf("one-input model fed as %s: %v", name, err)
		}
	}
}
