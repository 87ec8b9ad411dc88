package train_test

import (
	"context"
	"fmt"
	"log"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// PyTorch's fine-tuning recipe: keep the pretrained tensors the new model
// has, then train the backbone at lr 0.01 and the new head at 0.1 (SGD,
// momentum 0.9, weight decay 1e-4).
func Example() {
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
	fmt.Println("taken:", len(rep.Matched), "kept (shape differs):", len(rep.Mismatched))

	// Read for the model's inputs: the batches hold them by name.
	inputs, err := data.InputsOf(m)
	if err != nil {
		log.Fatal(err)
	}
	ds, err := data.Open("mnist:train", data.Options{PerClass: 10}.ForInputs(inputs))
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
		Loss:      train.CrossEntropy,
		Seed:      1,
		OnGroups: func(a *train.Assignment) {
			for _, g := range a.Groups {
				fmt.Printf("group %s: lr %g, %d parameters\n", g.Name, g.Hyper.LR, len(g.Params))
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("steps:", res.Steps, "loss fell:", res.Epochs[1].Loss < res.Epochs[0].Loss)
	// Output:
	// taken: 8 kept (shape differs): 2
	// group default: lr 0.01, 8 parameters
	// group fc3.*: lr 0.1, 2 parameters
	// steps: 10 loss fell: true
}
