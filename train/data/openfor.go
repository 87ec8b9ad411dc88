package data

import (
	"os"

	"github.com/onnxtune/onnxtune/graph"
)

// OpenFor opens spec (as Open) for the inputs model m declares: their
// names, shapes, dtypes and batch axes (InputsOf, Options.ForInputs). An
// image folder is read with the evaluation preprocessing m's metadata
// records (ReadMetadata: what 'onnxtune train' writes) where opts leaves
// it unset: the size when opts.ImageSize is zero, with its crop, and the
// mean and std when opts has none. It is what the CLI does before
// training or evaluating.
func OpenFor(m *graph.Model, spec string, opts Options) (Dataset, error) {
	ins, err := InputsOf(m)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		_, pre, err := ReadMetadata(m)
		if err != nil {
			return nil, err
		}
		if pre != nil {
			if opts.ImageSize == [2]int{} {
				opts.ImageSize, opts.CropPct = pre.Size, pre.CropPct
				opts.Grayscale = opts.Grayscale || pre.Grayscale
			}
			if opts.Mean == nil {
				opts.Mean = pre.Mean
			}
			if opts.Std == nil {
				opts.Std = pre.Std
			}
		}
	}
	return Open(spec, opts.ForInputs(ins))
}
