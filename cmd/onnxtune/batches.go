package main

import (
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/remap"
)

// inferenceModel loads a model to run with inference semantics: a
// training-mode export runs as the inference model it stands for.
func (a *app) inferenceModel(path string) (*graph.Model, error) {
	m, err := a.load(path)
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
