package remap_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

func load(t *testing.T, path string) *graph.Model {
	t.Helper()
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sample is the path of a committed sample model.
func sample(name string) string { return filepath.Join("..", "models", name) }

// big is the path of a model of models/big; it skips the test under -short
// or when the model has not been generated.
func big(t *testing.T, file string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("big models skipped with -short")
	}
	for _, e := range testmodels.Big(t) {
		if e.File == file {
			return e.Path()
		}
	}
	t.Skipf("models/big/%s not generated", file)
	return ""
}

// raw returns the bytes of the initializer that holds parameter name, as
// the file stores them.
func raw(t *testing.T, m *graph.Model, name string) []byte {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("no parameter %s", name)
	}
	return m.Graph.Initializer(p.Initializer).Raw
}

// torch returns parameter name's values laid out as PyTorch holds them
// (MatMul weights, stored transposed, transposed back).
func torch(t *testing.T, m *graph.Model, name string) []byte {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("no parameter %s", name)
	}
	tt := m.Graph.Initializer(p.Initializer)
	if !p.Transposed {
		return tt.Raw
	}
	return transposed(tt.Raw, int(tt.Dims[0]), int(tt.Dims[1]), tt.DType.Bits()/8)
}

// transposed swaps the axes of an r x c matrix of size-byte elements.
func transposed(b []byte, r, c, size int) []byte {
	out := make([]byte, len(b))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			copy(out[(j*r+i)*size:(j*r+i+1)*size], b[(i*c+j)*size:(i*c+j+1)*size])
		}
	}
	return out
}

// poisoned loads a model and sets every initializer to 0xff bytes (float32
// NaN), so values taken from elsewhere stand out.
func poisoned(t *testing.T, path string) *graph.Model {
	t.Helper()
	m := load(t, path)
	for _, tt := range m.Graph.Initializers {
		for i := range tt.Raw {
			tt.Raw[i] = 0xff
		}
	}
	return m
}

func encode(t *testing.T, m *graph.Model) []byte {
	t.Helper()
	b, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renameInitializers renames every parameter's initializer to prefix+its
// PyTorch name, in the IR (a model saved from a DataParallel wrapper).
func renameInitializers(t *testing.T, m *graph.Model, prefix string) {
	t.Helper()
	for _, p := range m.Params {
		if p.Initializer != p.Value {
			t.Fatalf("%s is tied", p.Name)
		}
		old, name := p.Initializer, prefix+p.Name
		for _, tt := range m.Graph.Initializers {
			if tt.Name == old {
				tt.Name = name
			}
		}
		for _, n := range m.Graph.Nodes {
			for i, in := range n.Inputs {
				if in == old {
					n.Inputs[i] = name
				}
			}
		}
	}
}
