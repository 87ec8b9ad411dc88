package remap

import (
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestNilModel: every function of the package given a nil model, or one
// without a graph, returns an error; ToInference, Untie, Rename and
// Convert panicked on a nil pointer.
func TestNilModel(t *testing.T) {
	for _, m := range []*graph.Model{nil, {}} {
		for name, f := range map[string]func() error{
			"ToInference":  func() error { _, err := ToInference(m); return err },
			"Untie":        func() error { _, err := Untie(m); return err },
			"Rename":       func() error { _, err := Rename(m); return err },
			"Convert":      func() error { _, err := Convert(m); return err },
			"DynamicBatch": func() error { _, err := DynamicBatch(m, BatchOptions{}); return err },
			"Apply":        func() error { _, err := Apply(m, m, Options{}); return err },
			"ReplaceHead":  func() error { return ReplaceHead(m, "fc", 2, 0) },
		} {
			t.Run(name, func(t *testing.T) {
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("model %v: panic: %v", m, r)
						}
					}()
					err = f()
				}()
				if err == nil {
					t.Errorf("model %v: no error", m)
				}
			})
		}
	}
}
