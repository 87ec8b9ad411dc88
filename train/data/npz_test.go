package data

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// writeNPZ writes arrays to name in a temporary folder and returns its path.
func writeNPZ(t *testing.T, name string, arrays map[string]npz.Array) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := npz.Write(path, arrays); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads every example of ds: the values of its first field, all
// examples one after the other, and the labels or targets.
func readAll(t *testing.T, ds Dataset) (x any, labels []int64, targets []float32) {
	t.Helper()
	all := readFields(t, ds)
	tshape, hasT := ds.TargetShape()
	tsize := numel(tshape)
	for i := range ds.Len() {
		var tg []float32
		if hasT {
			tg = make([]float32, tsize)
		}
		ex, err := NewExample(ds)
		if err != nil {
			t.Fatal(err)
		}
		y, err := ds.Read(i, ex, tg)
		if err != nil {
			t.Fatalf("Read(%d): %v", i, err)
		}
		if hasT {
			targets = append(targets, tg...)
		} else {
			labels = append(labels, y)
		}
	}
	return all[0], labels, targets
}

// readFields reads every example of ds and returns, per field, the values
// of all examples one after the other (a Fixed field's value once).
func readFields(t *testing.T, ds Dataset) []any {
	t.Helper()
	fields := ds.Fields()
	out := make([]any, len(fields))
	for i := range ds.Len() {
		ex, err := NewExample(ds)
		if err != nil {
			t.Fatal(err)
		}
		tshape, _ := ds.TargetShape()
		if _, err := ds.Read(i, ex, make([]float32, numel(tshape))); err != nil {
			t.Fatalf("Read(%d): %v", i, err)
		}
		for k, f := range fields {
			if f.Fixed != nil {
				out[k] = f.Fixed
				continue
			}
			out[k] = appendAny(out[k], ex[k])
		}
	}
	return out
}

// appendAny appends the slice b to the slice a of the same type (nil a:
// a copy of b).
func appendAny(a, b any) any {
	switch v := b.(type) {
	case []float32:
		x, _ := a.([]float32)
		return append(x, v...)
	case []float64:
		x, _ := a.([]float64)
		return append(x, v...)
	case []int64:
		x, _ := a.([]int64)
		return append(x, v...)
	case []int32:
		x, _ := a.([]int32)
		return append(x, v...)
	case []int8:
		x, _ := a.([]int8)
		return append(x, v...)
	case []uint8:
		x, _ := a.([]uint8)
		return append(x, v...)
	case []bool:
		x, _ := a.([]bool)
		return append(x, v...)
	}
	panic(fmt.Sprintf("appendAny %T", b))
}

// exampleShape returns the shape of ds's first field.
func exampleShape(ds Dataset) []int { return ds.Fields()[0].Shape }

// dtypeOf returns the element type of ds's first field.
func dtypeOf(ds Dataset) graph.DType { return ds.Fields()[0].DType }

func TestNPZRoundTrip(t *testing.T) {
	xf := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	tests := []struct {
		name        string
		x, y        npz.Array
		shape       []int
		dtype       graph.DType
		wantX       any
		wantLabels  []int64
		wantTargets []float32
		wantTShape  []int
	}{
		{name: "float32 x, int64 labels",
			x: npz.Array{Shape: []int{3, 2, 2}, Data: xf}, y: npz.Array{Shape: []int{3}, Data: []int64{2, 0, 1}},
			shape: []int{2, 2}, dtype: graph.Float32, wantX: xf, wantLabels: []int64{2, 0, 1}},
		{name: "int32 labels",
			x: npz.Array{Shape: []int{2, 6}, Data: xf}, y: npz.Array{Shape: []int{2}, Data: []int32{7, 3}},
			shape: []int{6}, dtype: graph.Float32, wantX: xf, wantLabels: []int64{7, 3}},
		{name: "uint8 labels",
			x: npz.Array{Shape: []int{4, 3}, Data: xf}, y: npz.Array{Shape: []int{4}, Data: []uint8{9, 0, 255, 1}},
			shape: []int{3}, dtype: graph.Float32, wantX: xf, wantLabels: []int64{9, 0, 255, 1}},
		{name: "int64 x (token ids)",
			x: npz.Array{Shape: []int{2, 3}, Data: []int64{1, 2, 3, 4, 5, 6}}, y: npz.Array{Shape: []int{2}, Data: []int64{0, 1}},
			shape: []int{3}, dtype: graph.Int64, wantX: []int64{1, 2, 3, 4, 5, 6}, wantLabels: []int64{0, 1}},
		{name: "int32 x converted to int64",
			x: npz.Array{Shape: []int{2, 1}, Data: []int32{-4, 5}}, y: npz.Array{Shape: []int{2}, Data: []int8{1, 0}},
			shape: []int{1}, dtype: graph.Int64, wantX: []int64{-4, 5}, wantLabels: []int64{1, 0}},
		{name: "float64 x converted, float32 targets",
			x: npz.Array{Shape: []int{2, 2}, Data: []float64{0.5, 1.5, 2.5, 3.5}}, y: npz.Array{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			shape: []int{2}, dtype: graph.Float32, wantX: []float32{0.5, 1.5, 2.5, 3.5}, wantTargets: []float32{1, 2, 3, 4, 5, 6}, wantTShape: []int{3}},
		{name: "scalar float64 targets",
			x: npz.Array{Shape: []int{3}, Data: []float32{1, 2, 3}}, y: npz.Array{Shape: []int{3}, Data: []float64{-1, 0, 1}},
			shape: []int{}, dtype: graph.Float32, wantX: []float32{1, 2, 3}, wantTargets: []float32{-1, 0, 1}, wantTShape: []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeNPZ(t, "d.npz", map[string]npz.Array{"x": tc.x, "y": tc.y, "other": {Shape: []int{1}, Data: []bool{true}}})
			ds, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.x.Shape[0] || !reflect.DeepEqual(exampleShape(ds), tc.shape) || dtypeOf(ds) != tc.dtype {
				t.Errorf("Len %d, ExampleShape %v, DType %v; want %d, %v, %v", ds.Len(), exampleShape(ds), dtypeOf(ds), tc.x.Shape[0], tc.shape, tc.dtype)
			}
			tshape, hasT := ds.TargetShape()
			if hasT != (tc.wantTargets != nil) || !reflect.DeepEqual(tshape, tc.wantTShape) {
				t.Errorf("TargetShape() = %v, %v; want %v, %v", tshape, hasT, tc.wantTShape, tc.wantTargets != nil)
			}
			x, labels, targets := readAll(t, ds)
			if !reflect.DeepEqual(x, tc.wantX) || !reflect.DeepEqual(labels, tc.wantLabels) || !reflect.DeepEqual(targets, tc.wantTargets) {
				t.Errorf("read x %v labels %v targets %v; want %v %v %v", x, labels, targets, tc.wantX, tc.wantLabels, tc.wantTargets)
			}
		})
	}
}

func TestNPZErrors(t *testing.T) {
	x := npz.Array{Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}
	y := npz.Array{Shape: []int{3}, Data: []int64{0, 1, 2}}
	tests := []struct {
		name   string
		arrays map[string]npz.Array
		opts   Options
		want   string
	}{
		{"lengths differ", map[string]npz.Array{"x": x, "y": {Shape: []int{2}, Data: []int64{0, 1}}}, Options{}, "x has 3 examples (shape [3 2]) but y has 2"},
		{"no y", map[string]npz.Array{"x": x, "labels": y}, Options{}, "no array y (labels or targets) in the archive (it has [labels x])"},
		{"no x", map[string]npz.Array{"y": y}, Options{}, "no array x"},
		{"empty archive", map[string]npz.Array{}, Options{}, "no arrays x and y"},
		{"scalar x", map[string]npz.Array{"x": {Shape: []int{}, Data: []float32{1}}, "y": y}, Options{}, "x is a scalar"},
		{"no examples", map[string]npz.Array{"x": {Shape: []int{0, 2}, Data: []float32{}}, "y": {Shape: []int{0}, Data: []int64{}}}, Options{}, "no examples"},
		{"empty examples", map[string]npz.Array{"x": {Shape: []int{3, 0}, Data: []float32{}}, "y": y}, Options{}, "examples are empty"},
		{"int64 x for a float32 input", map[string]npz.Array{"x": {Shape: []int{3}, Data: []int64{1, 2, 3}}, "y": y}, Options{InputType: graph.Float32}, "x is int64 [3], the model's input is float32"},
		{"bool y", map[string]npz.Array{"x": x, "y": {Shape: []int{3}, Data: []bool{true, false, true}}}, Options{}, "y has element type bool"},
		{"2-D labels", map[string]npz.Array{"x": x, "y": {Shape: []int{3, 1}, Data: []int64{0, 1, 2}}}, Options{}, "y holds integer labels of shape [3 1]"},
		{"negative label", map[string]npz.Array{"x": x, "y": {Shape: []int{3}, Data: []int64{0, -100, 2}}}, Options{}, "label y[1] = -100 is negative"},
		{"select on targets", map[string]npz.Array{"x": x, "y": {Shape: []int{3}, Data: []float32{0, 1, 2}}}, Options{PerClass: 1}, "float targets, not class labels"},
		{"grayscale option", map[string]npz.Array{"x": x, "y": y}, Options{Grayscale: true}, "Grayscale applies only to image folders"},
		{"mean option", map[string]npz.Array{"x": x, "y": y}, Options{Mean: []float64{0.5}}, "do not apply to .npz"},
		{"missing class", map[string]npz.Array{"x": x, "y": y}, Options{Classes: []int64{1, 5}}, "class 5 has no examples"},
		// Select refuses it; Open kept every example.
		{"negative per class", map[string]npz.Array{"x": x, "y": y}, Options{PerClass: -1}, "option PerClass -1: want 0 (all) or more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeNPZ(t, "bad.npz", tc.arrays)
			_, err := Open(path, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q has several lines", err)
			}
		})
	}
	t.Run("not a zip", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "junk.npz")
		writeFile(t, path, []byte("not a zip archive at all"))
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v, want one naming %s", err, path)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "none.npz"), Options{})
		if err == nil || !strings.Contains(err.Error(), "none.npz") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestReadErrors(t *testing.T) {
	path := writeNPZ(t, "d.npz", map[string]npz.Array{
		"x": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"y": {Shape: []int{2}, Data: []int64{0, 1}},
	})
	ds, err := OpenNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		i    int
		x    []any
	}{
		{"index past the end", 2, []any{make([]float32, 2)}},
		{"negative index", -1, []any{make([]float32, 2)}},
		{"wrong type", 0, []any{make([]int64, 2)}},
		{"wrong length", 0, []any{make([]float32, 3)}},
		{"nil", 0, []any{nil}},
		{"no arrays", 0, nil},
		{"two arrays", 0, []any{make([]float32, 2), make([]float32, 2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ds.Read(tc.i, tc.x, nil); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSelectAndSubset(t *testing.T) {
	labels := []int64{3, 1, 3, 0, 1, 3, 2, 1, 0, 3}
	xs := make([]float32, len(labels))
	for i := range xs {
		xs[i] = float32(i)
	}
	path := writeNPZ(t, "d.npz", map[string]npz.Array{
		"x": {Shape: []int{len(xs)}, Data: xs},
		"y": {Shape: []int{len(labels)}, Data: labels},
	})
	tests := []struct {
		name     string
		classes  []int64
		perClass int
		want     []float32 // the examples kept (their index)
	}{
		{"all", nil, 0, xs},
		{"per class 1", nil, 1, []float32{0, 1, 3, 6}},
		{"per class 2", nil, 2, []float32{0, 1, 2, 3, 4, 6, 8}},
		{"classes", []int64{1, 0}, 0, []float32{1, 3, 4, 7, 8}},
		{"classes per class", []int64{3}, 2, []float32{0, 2}},
		{"per class above counts", []int64{2}, 50, []float32{6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Open(path, Options{Classes: tc.classes, PerClass: tc.perClass})
			if err != nil {
				t.Fatal(err)
			}
			x, y, _ := readAll(t, ds)
			if !reflect.DeepEqual(x, tc.want) {
				t.Errorf("kept %v, want %v", x, tc.want)
			}
			for k, v := range x.([]float32) {
				if y[k] != labels[int(v)] {
					t.Errorf("example %v has label %d, want %d", v, y[k], labels[int(v)])
				}
			}
		})
	}
	ds, _ := OpenNPZ(path)
	if _, err := Select(ds, nil, -1); err == nil {
		t.Error("Select with PerClass -1 succeeded")
	}
	sub, err := Subset(ds, []int{9, 0, 9})
	if err != nil {
		t.Fatal(err)
	}
	// A subset of a subset, and a selection over it.
	sub2, err := Subset(sub, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if x, y, _ := readAll(t, sub2); !reflect.DeepEqual(x, []float32{9, 0}) || !reflect.DeepEqual(y, []int64{3, 3}) {
		t.Errorf("subset of subset read %v %v", x, y)
	}
	sel, err := Select(sub, nil, 1)
	if err != nil || sel.Len() != 1 {
		t.Errorf("Select over a subset: %v, %v", sel, err)
	}
	for _, bad := range [][]int{{10}, {-1}, {0, 1, 11}} {
		if _, err := Subset(ds, bad); err == nil {
			t.Errorf("Subset(%v) succeeded", bad)
		}
	}
	// A Dataset of another package: labels come through Read.
	sel, err = Select(foreign{ds}, []int64{2}, 0)
	if err != nil || sel.Len() != 1 {
		t.Errorf("Select over a foreign dataset: %v, %v", sel, err)
	}
	if _, err := Select(ds, []int64{7}, 0); err == nil || errors.Is(err, ErrNoLabels) {
		t.Errorf("Select of an absent class: %v", err)
	}
}

// foreign hides the labeler of a Dataset, as a Dataset from another package.
type foreign struct{ Dataset }
