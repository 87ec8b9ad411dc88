package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// PyTorch's fine-tuning recipe (models/recipe_pytorch.py): keep the
// pretrained tensors the new model has (same name, same shape), then train
// the backbone at lr 0.01 and the new head at 0.1 (SGD, momentum 0.9,
// weight decay 1e-4), and export the inference model.
func Example() {
	dir, err := os.MkdirTemp("", "recipe")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// recipe begins
	pre, err := importer.Load("../models/mnist_lenet_0to4.onnx") // 5 classes
	if err != nil {
		log.Fatal(err)
	}
	m, err := importer.Load("../models/mnist_lenet_10.onnx") // 10 classes
	if err != nil {
		log.Fatal(err)
	}
	rep, err := remap.Apply(pre, m, remap.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ds, err := data.OpenFor(m, "../models/mnist_0to4_test.npz", data.Options{})
	if err != nil {
		log.Fatal(err)
	}
	src, err := data.NewLoader(ds, 20, true, 1)
	if err != nil {
		log.Fatal(err)
	}
	res, err := train.Run(context.Background(), m, src, nil, train.Config{
		Epochs:    2,
		Optimizer: train.SGD,
		Defaults:  train.Hyper{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4},
		Groups:    []train.GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.1}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if res.Stopped { // a cancelled context: m holds the steps taken
		log.Fatal("stopped after ", res.Steps, " steps")
	}
	if _, err := remap.ToInference(m); err != nil {
		log.Fatal(err)
	}
	if err := export.WriteFile(filepath.Join(dir, "tuned.onnx"), m); err != nil {
		log.Fatal(err)
	}
	// recipe ends
	fmt.Println("taken:", len(rep.Matched), "kept (shape differs):", len(rep.Mismatched))
	fmt.Println("steps:", res.Steps, "loss fell:", res.Epochs[1].Loss < res.Epochs[0].Loss)
	// Output:
	// taken: 8 kept (shape differs): 2
	// steps: 20 loss fell: true
}
