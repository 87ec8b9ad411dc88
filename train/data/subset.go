package data

import (
	"errors"
	"fmt"
	"slices"
)

// labeler is implemented by datasets that know their labels without
// decoding examples (all of this package's).
type labeler interface {
	label(i int) int64
}

// subset is the examples idx of ds, in that order.
type subset struct {
	ds  Dataset
	idx []int
}

var (
	_ Dataset = (*subset)(nil)
	_ labeler = (*subset)(nil)
)

// errNoDataset and errNoModel are a nil Dataset or model given to a
// function of this package.
var (
	errNoDataset = errors.New("data: no dataset (nil)")
	errNoModel   = errors.New("data: no model (nil, or without a graph)")
)

// Subset returns the examples of ds at indices, in that order (an index may
// repeat). Use it to split a dataset, for instance into training and
// validation parts.
func Subset(ds Dataset, indices []int) (Dataset, error) {
	if ds == nil {
		return nil, errNoDataset
	}
	n := ds.Len()
	for k, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("data: subset index %d (position %d) out of range [0, %d)", i, k, n)
		}
	}
	// Flatten nested subsets so that reads stay one indirection deep.
	if s, ok := ds.(*subset); ok {
		idx := make([]int, len(indices))
		for k, i := range indices {
			idx[k] = s.idx[i]
		}
		return &subset{s.ds, idx}, nil
	}
	return &subset{ds, slices.Clone(indices)}, nil
}

func (s *subset) Len() int                   { return len(s.idx) }
func (s *subset) Fields() []Field            { return s.ds.Fields() }
func (s *subset) TargetShape() ([]int, bool) { return s.ds.TargetShape() }

func (s *subset) Read(i int, x []any, target []float32) (int64, error) {
	if i < 0 || i >= len(s.idx) {
		return 0, fmt.Errorf("data: example %d out of range [0, %d)", i, len(s.idx))
	}
	return s.ds.Read(s.idx[i], x, target)
}

func (s *subset) readEpoch(epoch, i int, x []any, target []float32) (int64, error) {
	if i < 0 || i >= len(s.idx) {
		return 0, fmt.Errorf("data: example %d out of range [0, %d)", i, len(s.idx))
	}
	return readAt(s.ds, epoch, s.idx[i], x, target)
}

func (s *subset) label(i int) int64 {
	if l, ok := s.ds.(labeler); ok {
		return l.label(s.idx[i])
	}
	return -1 // not reached: Select reads labels through Read then
}

// ErrNoLabels is returned (wrapped) by Select for a dataset with float
// targets.
var ErrNoLabels = errors.New("dataset has float targets, not class labels")

// Select returns the examples of ds whose label is in classes (every label
// when classes is empty), keeping of each class only its first perClass
// examples when perClass > 0. The examples keep their labels and their
// order. A listed class without examples, or an empty result, is an error.
func Select(ds Dataset, classes []int64, perClass int) (Dataset, error) {
	if ds == nil {
		return nil, errNoDataset
	}
	if _, ok := ds.TargetShape(); ok {
		return nil, fmt.Errorf("selecting examples by class: %w", ErrNoLabels)
	}
	if hasNoLabels(ds) {
		return nil, errors.New("selecting examples by class: the dataset is read without labels")
	}
	if perClass < 0 {
		return nil, fmt.Errorf("PerClass = %d, want 0 (all) or more", perClass)
	}
	label, err := labelFunc(ds)
	if err != nil {
		return nil, err
	}
	want := map[int64]bool{}
	for _, c := range classes {
		want[c] = true
	}
	count := map[int64]int{}
	var idx []int
	for i := range ds.Len() {
		y, err := label(i)
		if err != nil {
			return nil, err
		}
		if len(classes) > 0 && !want[y] {
			continue
		}
		if perClass > 0 && count[y] >= perClass {
			continue
		}
		count[y]++
		idx = append(idx, i)
	}
	for _, c := range classes {
		if count[c] == 0 {
			return nil, fmt.Errorf("class %d has no examples", c)
		}
	}
	if len(idx) == 0 {
		return nil, errors.New("no examples selected")
	}
	return Subset(ds, idx)
}

// labelFunc returns a function giving the label of example i of ds.
func labelFunc(ds Dataset) (func(int) (int64, error), error) {
	if l, ok := ds.(labeler); ok {
		if s, isSub := ds.(*subset); !isSub || isLabeler(s.ds) {
			return func(i int) (int64, error) { return l.label(i), nil }, nil
		}
	}
	// Another Dataset: read each example to learn its label.
	x, err := NewExample(ds)
	if err != nil {
		return nil, err
	}
	return func(i int) (int64, error) {
		y, err := ds.Read(i, x, nil)
		if err != nil {
			return 0, fmt.Errorf("data: example %d: %w", i, err)
		}
		return y, nil
	}, nil
}

func isLabeler(ds Dataset) bool { _, ok := ds.(labeler); return ok }
