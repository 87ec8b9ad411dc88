package data

import "fmt"

// Labels returns the class label of every example of the loader's data, in
// file order, without decoding examples when the dataset knows its labels
// (all of this package's do): what class-count statistics (balanced class
// weights) read.
func (l *Loader) Labels() ([]int64, error) {
	if l.ds == nil {
		return nil, errNotMade
	}
	if l.targets || !l.labels {
		return nil, fmt.Errorf("the examples have no class labels")
	}
	label, err := labelFunc(l.ds)
	if err != nil {
		return nil, err
	}
	out := make([]int64, l.ds.Len())
	for i := range out {
		if out[i], err = label(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
