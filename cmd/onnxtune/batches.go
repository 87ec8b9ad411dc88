package main

import (
	"fmt"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/remap"
)

// inferenceModel loads a model to run with inference semantics: a
// training-mode export runs as the inference model it stands for.
func (a *app) inferenceModel(path string) (*graph.Model, error) {
	m, err := importer.LoadWith(path, importer.Options{Logger: a.log, MaxBytes: a.limit})
	if err != nil {
		return nil, err
	}
	n, err := remap.ToInference(m)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		a.log.WithField("nodes", n).Debug("training-mode export run in inference form")
	}
	return m, nil
}

// readX reads the array key of an .npz file and checks that it can feed the
// model's first input: element type float32 or int64 as the input declares.
// The file's arrays may take --max-bytes together.
func (a *app) readX(m *graph.Model, path, key string) (npz.Array, string, error) {
	arrs, err := npz.ReadWith(path, npz.Options{MaxBytes: a.limit})
	if err != nil {
		return npz.Array{}, "", err
	}
	x, ok := arrs[key]
	if !ok {
		return npz.Array{}, "", fmt.Errorf("%s has no array %q (it has %s)", path, key, keys(arrs))
	}
	names := ops.InputNames(m)
	if len(names) == 0 {
		return npz.Array{}, "", fmt.Errorf("the model has no input to feed")
	}
	in := m.Graph.Input(names[0])
	dt, _, _ := in.TensorShape()
	switch x.Data.(type) {
	case []float32:
		if dt != graph.Float32 {
			return npz.Array{}, "", fmt.Errorf("%s: %s is float32, the model's input %q is %s", path, key, in.Name, dt)
		}
	case []int64:
		if dt != graph.Int64 {
			return npz.Array{}, "", fmt.Errorf("%s: %s is int64, the model's input %q is %s", path, key, in.Name, dt)
		}
	default:
		return npz.Array{}, "", fmt.Errorf("%s: %s is %T; want float32 or int64", path, key, x.Data)
	}
	if len(x.Shape) == 0 || x.Shape[0] == 0 {
		return npz.Array{}, "", fmt.Errorf("%s: %s has no examples (shape %v)", path, key, x.Shape)
	}
	return x, in.Name, nil
}

func keys(m map[string]npz.Array) string {
	s := ""
	for k := range m {
		if s != "" {
			s += ", "
		}
		s += k
	}
	if s == "" {
		return "none"
	}
	return s
}

// forEachBatch runs the model on x in batches of size bs (the last may be
// smaller) and calls f with each batch's outputs and first row. A progress
// bar goes to stderr when it is a terminal.
func (a *app) forEachBatch(r *ops.Runner, input string, x npz.Array, bs int, f func(outs []*tensor.Dense, first int) error) error {
	n := x.Shape[0]
	row := 1
	for _, d := range x.Shape[1:] {
		row *= d
	}
	var bar *progressbar.ProgressBar
	if term.IsTerminal(int(os.Stderr.Fd())) && n > bs {
		bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("examples"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
	}
	for first := 0; first < n; first += bs {
		b := min(bs, n-first)
		shape := append([]int{b}, x.Shape[1:]...)
		var t *tensor.Dense
		switch d := x.Data.(type) {
		case []float32:
			t = ops.Dense(shape, d[first*row:(first+b)*row])
		case []int64:
			t = ops.Dense(shape, d[first*row:(first+b)*row])
		}
		outs, err := r.Run(map[string]*tensor.Dense{input: t})
		if err != nil {
			return fmt.Errorf("examples %d to %d: %w", first, first+b-1, err)
		}
		if err := f(outs, first); err != nil {
			return err
		}
		if bar != nil {
			bar.Add(b)
		}
		a.log.WithField("done", first+b).WithField("of", n).Debug("batch")
	}
	if bar != nil {
		bar.Finish()
	}
	return nil
}
