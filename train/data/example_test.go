package data_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train/data"
)

// Fifty training images of each digit 0-4, in batches of 64.
func Example() {
	ds, err := data.Open("mnist:train", data.Options{Classes: []int64{0, 1, 2, 3, 4}, PerClass: 50})
	if err != nil {
		log.Fatal(err)
	}
	l, err := data.NewLoader(ds, 64, true, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Len(), "examples of shape", ds.Fields()[0].Shape, "in", l.Batches(), "batches")
	seen := map[int64]int{}
	for b, err := range l.Epoch(0) {
		if err != nil {
			log.Fatal(err)
		}
		for _, y := range b.Labels {
			seen[y]++
		}
		if b.N < 64 {
			fmt.Println("last batch:", b.Inputs["x"].Shape())
		}
	}
	fmt.Println("per digit:", seen)
	// Output:
	// 250 examples of shape [1 28 28] in 4 batches
	// last batch: (58, 1, 28, 28)
	// per digit: map[0:50 1:50 2:50 3:50 4:50]
}

func ExampleNewLoader() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.npz")
	err = npz.Write(path, map[string]npz.Array{
		"x": {Shape: []int{5, 2}, Data: []float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}},
		"y": {Shape: []int{5}, Data: []int64{0, 1, 0, 1, 0}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ds, err := data.Open(path, data.Options{})
	if err != nil {
		log.Fatal(err)
	}
	l, err := data.NewLoader(ds, 2, false, 0)
	if err != nil {
		log.Fatal(err)
	}
	for b, err := range l.Epoch(0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(b.Inputs["x"].Shape(), b.Inputs["x"].Data(), b.Labels)
	}
	// Output:
	// (2, 2) [0 0 1 1] [0 1]
	// (2, 2) [2 2 3 3] [0 1]
	// (1, 2) [4 4] [0]
}

// A model of two inputs, token ids and an attention mask, is fed by name:
// an array per input (InputsOf(m) gives a loaded model's inputs), and
// labels in y. Every batch slices both arrays alike.
func ExampleOptions_ForInputs() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.npz")
	err = npz.Write(path, map[string]npz.Array{
		"input_ids":      {Shape: []int{3, 4}, Data: []int64{5, 6, 7, 0, 8, 9, 0, 0, 4, 3, 2, 1}},
		"attention_mask": {Shape: []int{3, 4}, Data: []int64{1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1}},
		"y":              {Shape: []int{3}, Data: []int64{1, 0, 1}},
	})
	if err != nil {
		log.Fatal(err)
	}
	dims := []graph.Dim{{Param: "batch", HasParam: true}, {Param: "sequence", HasParam: true}}
	inputs := []data.Input{
		{Name: "input_ids", DType: graph.Int64, HasShape: true, Dims: dims},
		{Name: "attention_mask", DType: graph.Int64, HasShape: true, Dims: dims},
	}
	ds, err := data.Open(path, data.Options{}.ForInputs(inputs))
	if err != nil {
		log.Fatal(err)
	}
	l, err := data.NewLoader(ds, 2, false, 0)
	if err != nil {
		log.Fatal(err)
	}
	for b, err := range l.Epoch(0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(b.Inputs["input_ids"].Data(), b.Inputs["attention_mask"].Data(), b.Labels)
	}

	// An array that is not of the type an input declares is refused.
	err = npz.Write(path, map[string]npz.Array{
		"input_ids":      {Shape: []int{1, 2}, Data: []int64{5, 6}},
		"attention_mask": {Shape: []int{1, 2}, Data: []float32{1, 1}},
		"y":              {Shape: []int{1}, Data: []int64{0}},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = data.Open(path, data.Options{}.ForInputs(inputs))
	fmt.Println(err != nil)
	// Output:
	// [5 6 7 0 8 9 0 0] [1 1 1 0 1 1 0 0] [1 0]
	// [4 3 2 1] [1 1 1 1] [1]
	// true
}
