package data_test

import (
	"reflect"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/train/data"
)

// TestOpenForMetadata: OpenFor reads an image folder of mixed sizes with the
// preprocessing the model's metadata records, giving the examples Open
// gives with those options spelled out; without the metadata the folder
// does not fit the model's input, and options given win over it.
func TestOpenForMetadata(t *testing.T) {
	const folder = "../../models/augment/folder"
	m, err := importer.Load("../../models/augment/classifier.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.OpenFor(m, folder, data.Options{}); err == nil {
		t.Fatal("mixed sizes without metadata or --image-size: opened, want an error")
	}
	ins, err := data.InputsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	pre := data.Preprocess{Size: [2]int{7, 7}, Resize: "center_crop", CropPct: 0.875, Interpolation: "bilinear",
		Mean: []float64{0.5, 0.4, 0.3}, Std: []float64{0.2, 0.25, 0.3}}
	if err := data.SetMetadata(m, nil, &pre); err != nil {
		t.Fatal(err)
	}
	read := func(ds data.Dataset) [][]float32 {
		t.Helper()
		var out [][]float32
		for i := range ds.Len() {
			x, err := data.NewExample(ds)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ds.Read(i, x, nil); err != nil {
				t.Fatal(err)
			}
			out = append(out, x[0].([]float32))
		}
		return out
	}
	got, err := data.OpenFor(m, folder, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := data.Open(folder, pre.Options().ForInputs(ins))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := read(got), read(want); !reflect.DeepEqual(g, w) {
		t.Error("OpenFor with metadata: examples differ from Open with the metadata's options")
	}
	// Options given win: the mean.
	own, err := data.OpenFor(m, folder, data.Options{Mean: []float64{0}})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := read(own), read(want); reflect.DeepEqual(g, w) {
		t.Error("OpenFor with Mean {0}: same examples as the metadata's mean, want the given mean to win")
	}
}
