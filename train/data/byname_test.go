package data

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// input returns a declared input: dims of -1 are "batch", strings are
// symbolic names, ints fixed sizes; no dims at all is a 0-d input.
func input(name string, dt graph.DType, dims ...any) Input {
	in := Input{Name: name, DType: dt, HasShape: true}
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			if v < 0 {
				in.Dims = append(in.Dims, graph.Dim{Param: "batch", HasParam: true})
			} else {
				in.Dims = append(in.Dims, graph.Dim{Value: int64(v), HasValue: true})
			}
		case string:
			in.Dims = append(in.Dims, graph.Dim{Param: v, HasParam: true})
		}
	}
	return in
}

// The inputs of a text classifier (ids and mask [batch, sequence]) and of
// a model of an image, a feature vector, a bool mask and a 0-d scale.
var (
	textInputs = []Input{
		input("input_ids", graph.Int64, -1, "sequence"),
		input("attention_mask", graph.Int64, -1, "sequence"),
	}
	mixedInputs = []Input{
		input("image", graph.Float32, -1, 1, 2, 2),
		input("features", graph.Float64, -1, 3),
		input("mask", graph.Bool, -1, 2),
		input("segment", graph.Int32, -1, 2),
		input("scale", graph.Float32),
	}
)

func ints(n int, f func(i int) int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

// mixedArrays are arrays for mixedInputs, n examples, example i holding i
// (or i%2 == 0 in the mask) everywhere.
func mixedArrays(n int) map[string]npz.Array {
	img := make([]float32, n*4)
	feat := make([]float64, n*3)
	mask := make([]bool, n*2)
	seg := make([]int32, n*2)
	for i := range n {
		for k := range 4 {
			img[i*4+k] = float32(i)
		}
		for k := range 3 {
			feat[i*3+k] = float64(i)
		}
		for k := range 2 {
			mask[i*2+k] = i%2 == 0
			seg[i*2+k] = int32(i)
		}
	}
	return map[string]npz.Array{
		"image":    {Shape: []int{n, 1, 2, 2}, Data: img},
		"features": {Shape: []int{n, 3}, Data: feat},
		"mask":     {Shape: []int{n, 2}, Data: mask},
		"segment":  {Shape: []int{n, 2}, Data: seg},
		"scale":    {Shape: []int{}, Data: []float32{1.5}},
		"y":        {Shape: []int{n}, Data: ints(n, func(i int) int64 { return int64(i % 3) })},
	}
}

// TestNPZByName opens files for models of several inputs: each input is
// fed by the array of its name, with the element type it declares, and
// the fields come in the model's order.
func TestNPZByName(t *testing.T) {
	path := writeNPZ(t, "mixed.npz", mixedArrays(5))
	ds, err := Open(path, Options{}.ForInputs(mixedInputs))
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Name: "image", DType: graph.Float32, Shape: []int{1, 2, 2}},
		{Name: "features", DType: graph.Float64, Shape: []int{3}},
		{Name: "mask", DType: graph.Bool, Shape: []int{2}},
		{Name: "segment", DType: graph.Int32, Shape: []int{2}},
		{Name: "scale", DType: graph.Float32, Shape: []int{}, Fixed: []float32{1.5}},
	}
	if got := ds.Fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("fields\n%+v, want\n%+v", got, want)
	}
	all := readFields(t, ds)
	if !reflect.DeepEqual(all[3], mixedArrays(5)["segment"].Data) || !reflect.DeepEqual(all[2], mixedArrays(5)["mask"].Data) {
		t.Errorf("segment %v mask %v, as stored %v %v", all[3], all[2], mixedArrays(5)["segment"].Data, mixedArrays(5)["mask"].Data)
	}

	// The conversions of x apply by name too: float64 for a float32
	// input, int32 for an int64 one.
	arrays := map[string]npz.Array{
		"input_ids":      {Shape: []int{2, 3}, Data: []int32{1, 2, 3, 4, 5, 6}},
		"attention_mask": {Shape: []int{2, 3}, Data: []int64{1, 1, 1, 1, 1, 0}},
		"y":              {Shape: []int{2}, Data: []int64{0, 1}},
	}
	ds, err = Open(writeNPZ(t, "text.npz", arrays), Options{}.ForInputs(textInputs))
	if err != nil {
		t.Fatal(err)
	}
	if all := readFields(t, ds); !reflect.DeepEqual(all[0], []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("input_ids read as %v", all[0])
	}

	// A model of one input takes an array of its name, or x; with x, the
	// other arrays are not read.
	one := []Input{input("input", graph.Float32, -1, 2)}
	x := npz.Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}
	y := npz.Array{Shape: []int{2}, Data: []int64{0, 1}}
	for name, arrays := range map[string]map[string]npz.Array{
		"by name":        {"input": x, "y": y},
		"x":              {"x": x, "y": y},
		"x with outputs": {"x": x, "y": y, "logits": {Shape: []int{2, 3}, Data: make([]float32, 6)}},
	} {
		ds, err := Open(writeNPZ(t, "one.npz", arrays), Options{}.ForInputs(one))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f := ds.Fields(); len(f) != 1 || f[0].Name != "input" {
			t.Errorf("%s: fields %+v, want one named input", name, f)
		}
	}
}

// TestNPZByNameErrors: a missing, extra or mis-shaped array, or one of a
// type the input does not declare, is one line naming the file, the array
// and the input with its declared element type and shape.
func TestNPZByNameErrors(t *testing.T) {
	ids := npz.Array{Shape: []int{3, 4}, Data: make([]int64, 12)}
	mask := npz.Array{Shape: []int{3, 4}, Data: make([]int64, 12)}
	y := npz.Array{Shape: []int{3}, Data: []int64{0, 1, 2}}
	with := func(base map[string]npz.Array, name string, a npz.Array) map[string]npz.Array {
		m := map[string]npz.Array{}
		for k, v := range base {
			m[k] = v
		}
		if a.Data == nil {
			delete(m, name)
		} else {
			m[name] = a
		}
		return m
	}
	text := map[string]npz.Array{"input_ids": ids, "attention_mask": mask, "y": y}
	mixed := mixedArrays(3)
	const maskDecl = `"attention_mask" is int64 [batch, sequence]`
	tests := []struct {
		name      string
		inputs    []Input
		arrays    map[string]npz.Array
		unlabeled bool
		want      string
	}{
		{"missing", textInputs, with(text, "attention_mask", npz.Array{}), false,
			`no array attention_mask for the model's input "attention_mask" int64 [batch, sequence] (the archive has [input_ids y])`},
		{"misspelt", textInputs, with(with(text, "attention_mask", npz.Array{}), "attn_mask", mask), false,
			`no array attention_mask for the model's input "attention_mask" int64 [batch, sequence] (the archive has [attn_mask input_ids y])`},
		{"x for two inputs", textInputs, map[string]npz.Array{"x": ids, "y": y}, false,
			`no array input_ids for the model's input "input_ids" int64 [batch, sequence]`},
		{"extra", textInputs, with(text, "token_type_ids", ids), false,
			`array token_type_ids feeds no input: the model's inputs are "input_ids" int64 [batch, sequence], "attention_mask" int64 [batch, sequence] (labels go in y)`},
		{"extra when unlabeled", textInputs, with(text, "token_type_ids", ids), true, "array token_type_ids feeds no input"},
		{"extra beside the input of a one-input model", []Input{input("input", graph.Int64, -1, 4)}, map[string]npz.Array{"input": ids, "x": ids, "y": y}, false,
			`array x feeds no input: the model's input is "input" int64 [batch, 4]`},
		{"missing for a one-input model", []Input{input("input", graph.Int64, -1, 4)}, map[string]npz.Array{"ids": ids, "y": y}, false,
			`no array input (or x) for the model's input "input" int64 [batch, 4] (the archive has [ids y])`},
		{"wrong dtype", textInputs, with(text, "attention_mask", npz.Array{Shape: []int{3, 4}, Data: make([]float32, 12)}), false,
			"attention_mask is float32 [3 4], the model's input " + maskDecl},
		{"bool for int64", textInputs, with(text, "attention_mask", npz.Array{Shape: []int{3, 4}, Data: make([]bool, 12)}), false,
			"attention_mask is bool [3 4], the model's input " + maskDecl},
		{"int64 for bool", mixedInputs, with(mixed, "mask", npz.Array{Shape: []int{3, 2}, Data: make([]int64, 6)}), false,
			`mask is int64 [3 2], the model's input "mask" is bool [batch, 2]`},
		{"int64 for int32", mixedInputs, with(mixed, "segment", npz.Array{Shape: []int{3, 2}, Data: make([]int64, 6)}), false,
			`segment is int64 [3 2], the model's input "segment" is int32 [batch, 2]`},
		{"float32 for float64", mixedInputs, with(mixed, "features", npz.Array{Shape: []int{3, 3}, Data: make([]float32, 9)}), false,
			`features is float32 [3 3], the model's input "features" is float64 [batch, 3]`},
		{"rank", textInputs, with(text, "attention_mask", npz.Array{Shape: []int{3, 4, 1}, Data: make([]int64, 12)}), false,
			"attention_mask has shape [3 4 1], the model's input " + maskDecl},
		{"fixed size", mixedInputs, with(mixed, "image", npz.Array{Shape: []int{3, 1, 2, 3}, Data: make([]float32, 18)}), false,
			`image has shape [3 1 2 3], the model's input "image" is float32 [batch, 1, 2, 2]`},
		{"symbolic size differs", textInputs, with(text, "attention_mask", npz.Array{Shape: []int{3, 5}, Data: make([]int64, 15)}), false,
			"attention_mask has shape [3 5], the model's input " + maskDecl + ", and input_ids gives sequence = 4"},
		{"examples differ", textInputs, with(text, "attention_mask", npz.Array{Shape: []int{2, 4}, Data: make([]int64, 8)}), false,
			"array attention_mask has 2 examples (shape [2 4]), input_ids has 3"},
		{"y differs", textInputs, with(text, "y", npz.Array{Shape: []int{2}, Data: []int64{0, 1}}), false,
			"input_ids has 3 examples (shape [3 4]) but y has 2"},
		{"0-d for a batched input", mixedInputs, with(mixed, "mask", npz.Array{Shape: []int{}, Data: []bool{true}}), false,
			`mask is a 0-d value, the model's input "mask" is bool [batch, 2]`},
		{"batched for a 0-d input", mixedInputs, with(mixed, "scale", npz.Array{Shape: []int{3}, Data: []float32{1, 2, 3}}), false,
			`scale has shape [3], the model's input "scale" is float32 [] (a 0-d array feeds it, one value for every batch)`},
		{"only 0-d arrays", []Input{input("scale", graph.Float32)}, map[string]npz.Array{"scale": {Shape: []int{}, Data: []float32{1}}, "y": y}, false,
			"no array has examples along its batch's axis"},
		{"input named y", []Input{input("x", graph.Float32, -1, 4), input("y", graph.Float32, -1, 4)},
			map[string]npz.Array{"x": {Shape: []int{3, 4}, Data: make([]float32, 12)}, "y": {Shape: []int{3, 4}, Data: make([]float32, 12)}}, false,
			`the model's input "y" float32 [batch, 4] takes the array y, which then cannot hold the labels`},
		{"no y", textInputs, with(text, "y", npz.Array{}), false, "no array y (labels or targets)"},
		{"odd name", textInputs, with(text, "a\nb", ids), false, `array "a\nb" feeds no input`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeNPZ(t, "bad.npz", tc.arrays)
			_, err := Open(path, Options{Unlabeled: tc.unlabeled}.ForInputs(tc.inputs))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "data: "+path+": ") {
				t.Fatalf("error %v\nwant one naming %s with %q", err, path, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q has several lines", err)
			}
		})
	}
	// Read without labels, y may be anything (run does not read it), and
	// a model input named y takes it.
	ds, err := Open(writeNPZ(t, "y.npz", map[string]npz.Array{"input_ids": ids, "attention_mask": mask, "y": {Shape: []int{}, Data: []bool{true}}}),
		Options{Unlabeled: true}.ForInputs(textInputs))
	if err != nil || ds.Len() != 3 {
		t.Errorf("unlabeled with an odd y: %v", err)
	}
}

// TestLoaderSeveralFields: every batch holds each field by name, the rows
// of all batched fields from the same examples (shuffled or not), and a
// Fixed field's value as it is.
func TestLoaderSeveralFields(t *testing.T) {
	const n = 11
	ds, err := Open(writeNPZ(t, "mixed.npz", mixedArrays(n)), Options{}.ForInputs(mixedInputs))
	if err != nil {
		t.Fatal(err)
	}
	for _, shuffle := range []bool{false, true} {
		l, err := NewLoader(ds, 4, shuffle, 7)
		if err != nil {
			t.Fatal(err)
		}
		var seen []int
		for b, err := range l.Epoch(1) {
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Inputs) != len(mixedInputs) {
				t.Fatalf("batch inputs %v, want %d", b.Inputs, len(mixedInputs))
			}
			img := b.Inputs["image"].Data().([]float32)
			feat := b.Inputs["features"].Data().([]float64)
			mask := b.Inputs["mask"].Data().([]bool)
			seg := b.Inputs["segment"].Data().([]int32)
			if s := b.Inputs["scale"]; !s.IsScalar() || s.Data() != float32(1.5) {
				t.Errorf("scale %v (shape %v), want the 0-d 1.5", s.Data(), s.Shape())
			}
			if s := []int(b.Inputs["image"].Shape()); !slices.Equal(s, []int{b.N, 1, 2, 2}) {
				t.Errorf("image shape %v", s)
			}
			for k, i := range b.Indices {
				if img[k*4] != float32(i) || img[k*4+3] != float32(i) || feat[k*3+2] != float64(i) ||
					mask[k*2+1] != (i%2 == 0) || seg[k*2] != int32(i) || b.Labels[k] != int64(i%3) {
					t.Fatalf("shuffle %v: row %d of the batch is not all example %d: image %v features %v mask %v segment %v label %d",
						shuffle, k, i, img[k*4:k*4+4], feat[k*3:k*3+3], mask[k*2:k*2+2], seg[k*2:k*2+2], b.Labels[k])
				}
			}
			seen = append(seen, b.Indices...)
		}
		slices.Sort(seen)
		if len(seen) != n || seen[0] != 0 || seen[n-1] != n-1 {
			t.Errorf("shuffle %v: epoch gave examples %v", shuffle, seen)
		}
	}
	// A batch's fixed value is its own: changing it changes no other.
	l, _ := NewLoader(ds, 4, false, 0)
	b1, _ := l.Batch(0, 0)
	b1.Inputs["scale"].Set(0, float32(9))
	if b2, _ := l.Batch(0, 1); b2.Inputs["scale"].Data() != float32(1.5) {
		t.Errorf("a batch's scale changed another's: %v", b2.Inputs["scale"].Data())
	}
}

// TestNPZByNameTargets: float targets y go with inputs by name as with x.
func TestNPZByNameTargets(t *testing.T) {
	path := writeNPZ(t, "t.npz", map[string]npz.Array{
		"input_ids":      {Shape: []int{2, 3}, Data: []int64{1, 2, 3, 4, 5, 6}},
		"attention_mask": {Shape: []int{2, 3}, Data: []int64{1, 1, 1, 1, 1, 0}},
		"y":              {Shape: []int{2, 2}, Data: []float64{0.5, 1, 1.5, 2}},
	})
	ds, err := Open(path, Options{}.ForInputs(textInputs))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, 2, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Batch(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Labels != nil || !reflect.DeepEqual(b.Targets.Data(), []float32{0.5, 1, 1.5, 2}) || len(b.Inputs) != 2 {
		t.Errorf("batch labels %v targets %v inputs %v", b.Labels, b.Targets, b.Inputs)
	}
}
