package data

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// modelWithInput returns a model whose only input is name, of element type
// dt and dims (a negative dim is symbolic).
func modelWithInput(name string, dt graph.DType, dims ...int64) *graph.Model {
	shape := &graph.Shape{}
	for _, d := range dims {
		if d < 0 {
			shape.Dims = append(shape.Dims, graph.Dim{Param: "batch", HasParam: true})
		} else {
			shape.Dims = append(shape.Dims, graph.Dim{Value: d, HasValue: true})
		}
	}
	in := &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: dt, Shape: shape}}
	return &graph.Model{Graph: &graph.Graph{Inputs: []*graph.ValueInfo{in}}}
}

var batchDim = graph.Dim{Param: "batch", HasParam: true}

func dim(v int64) graph.Dim { return graph.Dim{Value: v, HasValue: true} }

func TestInputOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *graph.Model
		want Input
	}{
		{"image", modelWithInput("input", graph.Float32, -1, 3, 32, 28), Input{Name: "input", DType: graph.Float32, Size: [2]int{32, 28}, Channels: 3,
			HasShape: true, Dims: []graph.Dim{batchDim, dim(3), dim(32), dim(28)}}},
		{"tokens", modelWithInput("ids", graph.Int64, -1, 8), Input{Name: "ids", DType: graph.Int64, HasShape: true, Dims: []graph.Dim{batchDim, dim(8)}}},
		{"symbolic H", modelWithInput("input", graph.Float32, -1, 3, -1, 28), Input{Name: "input", DType: graph.Float32, Channels: 3,
			HasShape: true, Dims: []graph.Dim{batchDim, dim(3), batchDim, dim(28)}}},
		{"0-d", modelWithInput("t", graph.Float32), Input{Name: "t", DType: graph.Float32, HasShape: true, BatchAxis: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := InputOf(tc.m)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("InputOf = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := InputOf(&graph.Model{Graph: &graph.Graph{}}); err == nil {
		t.Error("InputOf of a model without inputs: no error")
	}
}

// TestInputType checks the one rule for element types: a model is fed what
// its input declares, after the conversions OpenNPZ makes.
func TestInputType(t *testing.T) {
	y := npz.Array{Shape: []int{2}, Data: []int64{0, 1}}
	for _, tc := range []struct {
		name    string
		x       npz.Array
		input   graph.DType
		want    graph.DType
		wantErr string
	}{
		{"float32 for float32", npz.Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}, graph.Float32, graph.Float32, ""},
		{"float64 converted for float32", npz.Array{Shape: []int{2, 2}, Data: []float64{1, 2, 3, 4}}, graph.Float32, graph.Float32, ""},
		{"int32 converted for int64", npz.Array{Shape: []int{2, 2}, Data: []int32{1, 2, 3, 4}}, graph.Int64, graph.Int64, ""},
		{"int64 for int64", npz.Array{Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}}, graph.Int64, graph.Int64, ""},
		{"not checked", npz.Array{Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}}, graph.Undefined, graph.Int64, ""},
		{"int64 for float32", npz.Array{Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}}, graph.Float32, 0, "x is int64 [2 2], the model's input is float32"},
		{"float32 for int64", npz.Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}, graph.Int64, 0, "x is float32 [2 2], the model's input is int64"},
		{"int32 for float32", npz.Array{Shape: []int{2, 2}, Data: []int32{1, 2, 3, 4}}, graph.Float32, 0, "x is int32 [2 2], the model's input is float32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeNPZ(t, "d.npz", map[string]npz.Array{"x": tc.x, "y": y})
			for _, unlabeled := range []bool{false, true} {
				ds, err := Open(path, Options{InputType: tc.input, Unlabeled: unlabeled})
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
						t.Errorf("Open (unlabeled %v) = %v; want an error naming %s with %q", unlabeled, err, path, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Open (unlabeled %v): %v", unlabeled, err)
				}
				if dtypeOf(ds) != tc.want {
					t.Errorf("DType = %v, want %v", dtypeOf(ds), tc.want)
				}
			}
		})
	}
	// MNIST and image folders give float32 pixels: a model of token ids
	// cannot take them.
	dir := imageFolder(t, map[string][]byte{"a/1.png": testmodels.ClaimingPNG(t, 4, 4)})
	opts := Options{}.ForInput(Input{Name: "ids", DType: graph.Int64})
	if _, err := Open(dir, opts); err == nil || !strings.Contains(err.Error(), `the examples are float32 [3 4 4], the model's input "ids" is int64`) {
		t.Errorf("image folder for an int64 input: %v", err)
	}
}

// TestUnlabeled checks that Options.Unlabeled reads x alone, and that its
// batches carry no labels.
func TestUnlabeled(t *testing.T) {
	x := npz.Array{Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}
	xOnly := writeNPZ(t, "x.npz", map[string]npz.Array{"x": x, "logits": {Shape: []int{3}, Data: []float32{0, 0, 0}}})
	if _, err := Open(xOnly, Options{}); err == nil || !strings.Contains(err.Error(), "no array y") {
		t.Errorf("Open without y: %v; want no array y", err)
	}
	// y is not read: one of a type training refuses does not matter.
	badY := writeNPZ(t, "bady.npz", map[string]npz.Array{"x": x, "y": {Shape: []int{3}, Data: []bool{true, false, true}}})
	targets := writeNPZ(t, "t.npz", map[string]npz.Array{"x": x, "y": {Shape: []int{3, 1}, Data: []float32{1, 2, 3}}})
	labels := writeNPZ(t, "l.npz", map[string]npz.Array{"x": x, "y": {Shape: []int{3}, Data: []int64{2, 1, 0}}})
	for _, path := range []string{xOnly, badY, targets, labels} {
		t.Run(path[strings.LastIndex(path, "/")+1:], func(t *testing.T) {
			ds, err := Open(path, Options{Unlabeled: true})
			if err != nil {
				t.Fatal(err)
			}
			if ts, ok := ds.TargetShape(); ok {
				t.Errorf("TargetShape = %v, true; want none", ts)
			}
			l, err := NewLoader(ds, 2, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			for b, err := range l.Epoch(0) {
				if err != nil {
					t.Fatal(err)
				}
				if b.Labels != nil || b.Targets != nil {
					t.Errorf("batch has labels %v, targets %v; want none", b.Labels, b.Targets)
				}
				got = append(got, b.Inputs["x"].Data().([]float32)...)
			}
			if want := x.Data.([]float32); !slices.Equal(got, want) {
				t.Errorf("examples %v, want %v", got, want)
			}
			if _, err := Select(ds, []int64{0}, 0); err == nil {
				t.Error("Select of an unlabeled dataset: no error")
			}
		})
	}
	if _, err := Open(labels, Options{Unlabeled: true, PerClass: 1}); err == nil {
		t.Error("Unlabeled with PerClass: no error")
	}
	// WithoutLabels drops the labels of a labelled source; a subset of it
	// has none either.
	ds, err := Open(labels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Subset(WithoutLabels(ds), []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(sub, 2, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Batch(0, 0)
	if err != nil || b.Labels != nil || b.N != 2 {
		t.Errorf("batch of a subset without labels: %+v, %v", b, err)
	}
}
