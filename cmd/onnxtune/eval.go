package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) evalCmd() *cobra.Command {
	d := dataSpec{need: classLabels}
	var asJSON bool
	c := &cobra.Command{
		Use:   "eval MODEL --data DATA",
		Short: "Measure a classifier's accuracy and cross-entropy on labelled examples",
		Long: `Eval runs MODEL with inference semantics on labelled examples (DATA: an .npz
file with an array per model input and integer labels y, mnist:train,
mnist:test, or an image folder ROOT/CLASS/*.png|jpg, read as run and train
read it) and compares its first output, the class scores (logits), with
the class labels: it prints the accuracy (the share of examples whose
largest score is at the label) and the mean cross-entropy, PyTorch's
nn.CrossEntropyLoss: the batch mean of logsumexp(z) - z[y]. --json prints
{"accuracy", "loss", "n"}.

` + inputsText + `

` + preprocessText,
		Example: `  onnxtune eval models/mnist_lenet_0to4.onnx --data models/mnist_0to4_test.npz
  onnxtune eval tuned.onnx --data mnist:test
  onnxtune eval --json model.onnx --data val.npz | jq .accuracy`,
		Args: positional("MODEL"),
		RunE: work(func(_ *cobra.Command, args []string) error {
			res, err := a.eval(args[0], d)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			fmt.Fprintf(a.stdout, "accuracy  %.4f  (%d of %d)\nloss      %.6f  (mean cross-entropy)\n",
				res.Accuracy, res.correct, res.N, res.Loss)
			return nil
		}),
	}
	dataFlags(c, &d, "labelled examples: file.npz (an array per model input, or x; y), mnist:train, mnist:test or an image folder (required)")
	c.Flags().BoolVar(&asJSON, "json", false, `print {"accuracy", "loss", "n"}`)
	return c
}

type evalResult struct {
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	N        int     `json:"n"`
	correct  int
}

func (a *app) eval(model string, d dataSpec) (*evalResult, error) {
	m, err := a.inferenceModel(model)
	if err != nil {
		return nil, err
	}
	l, err := a.openData(m, d)
	if err != nil {
		return nil, err
	}
	bar := a.examplesBar(l.Len(), d.batch)
	loss, correct, n, err := evaluateCount(m, l, a.limit, func(done int) {
		if bar != nil {
			bar.Set(done)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return nil, err
	}
	return &evalResult{Accuracy: float64(correct) / float64(n), Loss: loss, N: n, correct: correct}, nil
}
