package data_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

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
	fmt.Println(ds.Len(), "examples of shape", ds.ExampleShape(), "in", l.Batches(), "batches")
	seen := map[int64]int{}
	for b, err := range l.Epoch(0) {
		if err != nil {
			log.Fatal(err)
		}
		for _, y := range b.Labels {
			seen[y]++
		}
		if b.N < 64 {
			fmt.Println("last batch:", b.X.Shape())
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
		fmt.Println(b.X.Shape(), b.X.Data(), b.Labels)
	}
	// Output:
	// (2, 2) [0 0 1 1] [0 1]
	// (2, 2) [2 2 3 3] [0 1]
	// (1, 2) [4 4] [0]
}
