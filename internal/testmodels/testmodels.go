// Package testmodels gives tests the sample models of models/ and the
// expected outputs models/make_models.py wrote for them with PyTorch, and a
// few hostile inputs (ClaimingPNG). It is for tests and benchmarks only.
package testmodels

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// Entry is one model of a manifest.json.
type Entry struct {
	File       string `json:"file"`
	Arch       string `json:"arch"`
	Mode       string `json:"mode"` // eval, preserve or training
	Opset      int    `json:"opset"`
	InputName  string `json:"input_name"`
	InputDType string `json:"input_dtype"`
	OutputName string `json:"output_name"`
	Expected   string `json:"expected"`
	StateDict  string `json:"state_dict"`
	Status     string `json:"status"`
	NumClasses int    `json:"num_classes"`

	Dir string `json:"-"`
}

// Path is the model file's path.
func (e Entry) Path() string { return filepath.Join(e.Dir, e.File) }

// Name is the file name without ".onnx".
func (e Entry) Name() string { return e.File[:len(e.File)-len(filepath.Ext(e.File))] }

// ModelsDir finds the repository's models/ folder from the working directory.
func ModelsDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "models"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

func read(dir string) ([]Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var es []Entry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	var ok []Entry
	for _, e := range es {
		if e.Status != "" && e.Status != "ok" {
			continue
		}
		e.Dir = dir
		ok = append(ok, e)
	}
	return ok, nil
}

// Samples returns the committed sample models.
func Samples(t testing.TB) []Entry {
	t.Helper()
	dir, err := ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	es, err := read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Big returns the torchvision models `make_models.py --big` writes to
// models/big, or skips the test when they have not been generated.
func Big(t testing.TB) []Entry {
	t.Helper()
	dir, err := ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	es, err := read(filepath.Join(dir, "big"))
	if os.IsNotExist(err) {
		t.Skip("models/big not generated (run /usr/bin/python3 models/make_models.py --big)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Expected returns the model's input and PyTorch's output for it.
func (e Entry) ExpectedIO(t testing.TB) (in ort.Tensor, want []float32) {
	t.Helper()
	arrs, err := npz.Read(filepath.Join(e.Dir, e.Expected))
	if err != nil {
		t.Fatal(err)
	}
	x, ok := arrs["x"]
	if !ok {
		t.Fatalf("%s: no x", e.Expected)
	}
	shape := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		shape[i] = int64(d)
	}
	y, ok := arrs["logits"]
	if !ok {
		t.Fatalf("%s: no logits", e.Expected)
	}
	w, ok := y.Data.([]float32)
	if !ok {
		t.Fatalf("%s: logits are %T, want float32", e.Expected, y.Data)
	}
	return ort.Tensor{Name: e.InputName, Shape: shape, Data: x.Data}, w
}

// MaxAbsDiff returns the largest |a[i]-b[i]| and the largest |b[i]|.
func MaxAbsDiff(a, b []float32) (diff, scale float64) {
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		if d < 0 {
			d = -d
		}
		if d > diff || d != d {
			diff = d
		}
		s := float64(b[i])
		if s < 0 {
			s = -s
		}
		scale = max(scale, s)
	}
	return diff, scale
}
