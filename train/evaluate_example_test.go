package train_test

import (
	"fmt"
	"log"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// Evaluating a classifier on labelled examples, as 'onnxtune eval' does
// (models/metrics: a 7-class MLP and 60 examples; class 6 has none).
func ExampleEvaluate() {
	m, err := importer.Load("../models/metrics/classifier.onnx")
	if err != nil {
		log.Fatal(err)
	}
	ins, err := data.InputsOf(m)
	if err != nil {
		log.Fatal(err)
	}
	ds, err := data.Open("../models/metrics/data.npz", data.Options{}.ForInputs(ins))
	if err != nil {
		log.Fatal(err)
	}
	val, err := data.NewLoader(ds, 16, false, 0)
	if err != nil {
		log.Fatal(err)
	}
	res, err := train.Evaluate(m, val, train.EvalOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d examples: accuracy %.4f, top-5 %.4f, macro F1 %.4f\n", res.N, res.Accuracy, res.Top5, res.MacroF1)
	fmt.Println("support:", res.Support)
	fmt.Println("class 0 predicted as:", res.Confusion[0])
	// Output:
	// 60 examples: accuracy 0.4333, top-5 0.9500, macro F1 0.2390
	// support: [22 5 15 7 8 3 0]
	// class 0 predicted as: [13 0 5 1 3 0 0]
}
