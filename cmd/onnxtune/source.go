package main

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// dataSource serves a Dataset through train/data's Loader (order from the
// seed and the epoch number, so a resumed run sees the same batches; last
// partial batch kept) as the batches train.Run reads.
type dataSource struct {
	ds     data.Dataset
	loader *data.Loader
}

// openSource opens the data spec for model m: --max-bytes bounds what its
// files make onnxtune allocate, and the images of a folder must have the
// height and width of m's input (unless resized), checked before decoding.
func (a *app) openSource(m *graph.Model, spec string, f *trainFlags, shuffle bool) (*dataSource, error) {
	opts := data.Options{Mean: f.mean, Std: f.std, Grayscale: f.grayscale, MaxBytes: a.limit, InputSize: imageInput(m)}
	if shuffle { // the training set
		opts.PerClass, opts.Classes = f.perClass, f.classes
	}
	switch len(f.imageSize) {
	case 0:
	case 1:
		opts.ImageSize = [2]int{f.imageSize[0], f.imageSize[0]}
	case 2:
		opts.ImageSize = [2]int{f.imageSize[0], f.imageSize[1]}
	default:
		return nil, fmt.Errorf("--image-size takes H,W or one size")
	}
	ds, err := data.Open(spec, opts)
	if err != nil {
		return nil, err
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("%s has no examples", spec)
	}
	// A batch larger than the data is all of it, as in PyTorch's
	// DataLoader (and the count of batches cannot overflow).
	l, err := data.NewLoader(ds, min(f.batch, ds.Len()), shuffle && f.shuffle, f.seed)
	if err != nil {
		return nil, err
	}
	return &dataSource{ds: ds, loader: l}, nil
}

// imageInput returns the height and width of m's first input when it is an
// image batch [N, C, H, W] of known H and W, else zeros.
func imageInput(m *graph.Model) [2]int {
	names := ops.InputNames(m)
	if len(names) == 0 {
		return [2]int{}
	}
	_, dims, ok := m.Graph.Input(names[0]).TensorShape()
	if !ok || len(dims) != 4 {
		return [2]int{}
	}
	h, w := dims[2], dims[3]
	if !h.HasValue || !w.HasValue || h.Value <= 0 || w.Value <= 0 || h.Value > 1<<31 || w.Value > 1<<31 {
		return [2]int{}
	}
	return [2]int{int(h.Value), int(w.Value)}
}

func (s *dataSource) Batches() int { return s.loader.Batches() }

func (s *dataSource) Batch(e, i int) (train.Batch, error) {
	b, err := s.loader.Batch(e, i)
	return train.Batch{X: b.X, Labels: b.Labels, Targets: b.Targets}, err
}

// evaluate runs m with inference semantics over a labelled source: mean
// cross-entropy and accuracy. limit bounds each tensor the engine sizes
// from the model (--max-bytes).
func evaluate(m *graph.Model, src *dataSource, limit int64) (loss, acc float64, err error) {
	loss, correct, n, err := evaluateCount(m, src, limit, nil)
	if err != nil {
		return 0, 0, err
	}
	return loss, float64(correct) / float64(n), nil
}

// evaluateCount is evaluate with the count of correct examples; progress,
// when not nil, is called after every batch with the examples done.
func evaluateCount(m *graph.Model, src *dataSource, limit int64, progress func(done int)) (loss float64, correct, n int, err error) {
	r, err := ops.NewRunner(m, ops.Options{MaxBytes: limit})
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	names := ops.InputNames(m)
	total := 0.0
	for i := 0; i < src.Batches(); i++ {
		b, err := src.Batch(0, i)
		if err != nil {
			return 0, 0, 0, err
		}
		if b.Labels == nil {
			return 0, 0, 0, fmt.Errorf("validation needs class labels")
		}
		outs, err := r.Run(map[string]*tensor.Dense{names[0]: b.X})
		if err != nil {
			return 0, 0, 0, err
		}
		z, err := ops.Data[float32](outs[0])
		if err != nil {
			return 0, 0, 0, err
		}
		ls, c, err := train.ScoreLogits(z, b.Labels)
		if err != nil {
			return 0, 0, 0, err
		}
		total += ls
		correct += c
		n += len(b.Labels)
		if progress != nil {
			progress(n)
		}
	}
	return total / float64(n), correct, n, nil
}
