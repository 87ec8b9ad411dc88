package train

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// EvalOptions are Evaluate's settings.
type EvalOptions struct {
	// Loss is CrossEntropy (the default: class labels, every metric) or
	// MSE (float targets: the loss only).
	Loss Loss
	// MaxBytes bounds each tensor the engine sizes from the model
	// (ops.Options.MaxBytes) and the confusion matrix of the classes the
	// model scores; zero or less means graph.DefaultMaxBytes.
	MaxBytes int64
	// Progress, when set, is called after every batch with the examples
	// done so far.
	Progress func(done int)
}

// Evaluate runs m in inference mode (BatchNorm with its running
// statistics, Dropout off) on every batch of epoch 0 of src and scores its
// first output against the batches' labels (or targets with MSE): see
// Metrics for what is measured. A batch's Inputs feed the model's inputs by
// name; a model of one input also takes an array named x, as training does.
// m is not changed; a training-mode export should be turned into its
// inference form first (remap.ToInference).
func Evaluate(m *graph.Model, src Source, opts EvalOptions) (*Metrics, error) {
	loss := opts.Loss
	if loss == "" {
		loss = CrossEntropy
	}
	if loss != CrossEntropy && loss != MSE {
		return nil, settingErr("unknown loss %q: want cross-entropy or mse", loss)
	}
	if err := checkArgs(m, src, true); err != nil {
		return nil, err
	}
	nb := src.Batches()
	if nb <= 0 {
		return nil, fmt.Errorf("evaluate: the data has no examples")
	}
	r, err := ops.NewRunner(m, ops.Options{MaxBytes: opts.MaxBytes})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	names := ops.InputNames(m)
	s := scorer{maxBytes: opts.MaxBytes}
	var sqSum float64
	var elems, n int
	for i := range nb {
		b, err := src.Batch(0, i)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		in := b.Inputs
		if x, ok := in["x"]; ok && len(in) == 1 && len(names) == 1 {
			// An array x feeds a model of one input, as in training.
			in = map[string]*tensor.Dense{names[0]: x}
		}
		bn := b.N
		if bn == 0 { // not said: the first axis of the first input that has one, as in training
			for _, name := range names {
				if x := in[name]; x != nil && len(x.Shape()) > 0 {
					bn = x.Shape()[0]
					break
				}
			}
		}
		outs, err := r.Run(in)
		if err != nil {
			return nil, err
		}
		if len(outs) == 0 {
			return nil, fmt.Errorf("the model has no output")
		}
		z, err := ops.Data[float32](outs[0])
		if err != nil {
			return nil, fmt.Errorf("batch %d: the model's first output: %w", i, err)
		}
		if loss == MSE {
			if b.Targets == nil {
				return nil, fmt.Errorf("batch %d: mse needs float targets", i)
			}
			t, err := ops.Data[float32](b.Targets)
			if err != nil {
				return nil, fmt.Errorf("batch %d: targets: %w", i, err)
			}
			if !slices.Equal(outs[0].Shape(), b.Targets.Shape()) {
				return nil, fmt.Errorf("batch %d: the model's first output has shape %v, the targets %v", i, outs[0].Shape(), b.Targets.Shape())
			}
			for j, v := range z {
				d := float64(v) - float64(t[j])
				sqSum += d * d
			}
			elems += len(z)
		} else {
			if b.Labels == nil {
				return nil, fmt.Errorf("batch %d: evaluation needs class labels", i)
			}
			sh := outs[0].Shape()
			if len(sh) != 2 {
				return nil, fmt.Errorf("batch %d: cross-entropy needs class scores of shape [batch, classes], the model's first output has shape %v", i, []int(sh))
			}
			if sh[0] != bn {
				return nil, fmt.Errorf("batch %d: the batch has %d examples (N), the model's output %q has %d", i, bn, m.Graph.Outputs[0].Name, sh[0])
			}
			if err := s.add(z, b.Labels, b.Indices); err != nil {
				return nil, fmt.Errorf("batch %d: %w", i, err)
			}
		}
		n += bn
		if opts.Progress != nil {
			opts.Progress(n)
		}
	}
	if loss == MSE {
		return &Metrics{N: n, Loss: sqSum / float64(max(elems, 1))}, nil
	}
	return s.metrics(), nil
}
