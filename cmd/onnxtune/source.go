package main

import (
	"fmt"
	"math"
	"math/rand"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// dataSource serves a Dataset in batches: shuffled by a permutation drawn
// from the seed and the epoch number (so a resumed run sees the same order),
// the last partial batch kept (PyTorch's drop_last=False).
type dataSource struct {
	ds      data.Dataset
	bs      int
	shuffle bool
	seed    int64
}

func openSource(spec string, f *trainFlags, shuffle bool) (*dataSource, error) {
	opts := data.Options{Mean: f.mean, Std: f.std, Grayscale: f.grayscale}
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
	return &dataSource{ds: ds, bs: f.batch, shuffle: shuffle && f.shuffle, seed: f.seed}, nil
}

func (s *dataSource) Batches() int { return (s.ds.Len() + s.bs - 1) / s.bs }

func (s *dataSource) order(e int) []int {
	n := s.ds.Len()
	if !s.shuffle {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rand.New(rand.NewSource(s.seed*1_000_003 + int64(e))).Perm(n)
}

func (s *dataSource) Batch(e, i int) (train.Batch, error) {
	idx := s.order(e)
	lo, hi := i*s.bs, min((i+1)*s.bs, len(idx))
	if lo >= hi {
		return train.Batch{}, fmt.Errorf("batch %d is past the data's end", i)
	}
	return readBatch(s.ds, idx[lo:hi])
}

func readBatch(ds data.Dataset, idx []int) (train.Batch, error) {
	shape := ds.ExampleShape()
	size := 1
	for _, d := range shape {
		size *= d
	}
	n := len(idx)
	bshape := append([]int{n}, shape...)
	var b train.Batch
	tshape, hasTargets := ds.TargetShape()
	tsize := 1
	for _, d := range tshape {
		tsize *= d
	}
	var targets []float32
	if hasTargets {
		targets = make([]float32, n*tsize)
	} else {
		b.Labels = make([]int64, n)
	}
	var fx []float32
	var ix []int64
	if ds.DType() == graph.Int64 {
		ix = make([]int64, n*size)
	} else {
		fx = make([]float32, n*size)
	}
	for k, j := range idx {
		var x any
		if ix != nil {
			x = ix[k*size : (k+1)*size]
		} else {
			x = fx[k*size : (k+1)*size]
		}
		var t []float32
		if hasTargets {
			t = targets[k*tsize : (k+1)*tsize]
		}
		label, err := ds.Read(j, x, t)
		if err != nil {
			return b, err
		}
		if !hasTargets {
			b.Labels[k] = label
		}
	}
	if ix != nil {
		b.X = ops.Dense(bshape, ix)
	} else {
		b.X = ops.Dense(bshape, fx)
	}
	if hasTargets {
		b.Targets = ops.Dense(append([]int{n}, tshape...), targets)
	}
	return b, nil
}

// evaluate runs m with inference semantics over a labelled source: mean
// cross-entropy and accuracy.
func evaluate(m *graph.Model, src *dataSource) (loss, acc float64, err error) {
	loss, correct, n, err := evaluateCount(m, src, nil)
	if err != nil {
		return 0, 0, err
	}
	return loss, float64(correct) / float64(n), nil
}

// evaluateCount is evaluate with the count of correct examples; progress,
// when not nil, is called after every batch with the examples done.
func evaluateCount(m *graph.Model, src *dataSource, progress func(done int)) (loss float64, correct, n int, err error) {
	r, err := ops.NewRunner(m, ops.Options{})
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
		k := len(z) / len(b.Labels)
		for j, y := range b.Labels {
			row := z[j*k : (j+1)*k]
			best, mx := 0, float64(row[0])
			for c, v := range row {
				if float64(v) > mx {
					best, mx = c, float64(v)
				}
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(float64(v) - mx)
			}
			if y < 0 || int(y) >= k {
				return 0, 0, 0, fmt.Errorf("label %d is not one of the model's %d classes", y, k)
			}
			total += mx + math.Log(s) - float64(row[y])
			if int64(best) == y {
				correct++
			}
			n++
		}
		if progress != nil {
			progress(n)
		}
	}
	return total / float64(n), correct, n, nil
}
