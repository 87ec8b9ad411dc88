package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/spf13/cobra"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/npz"
)

func (a *app) evalCmd() *cobra.Command {
	var (
		data   string
		batch  int
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "eval MODEL --data X.npz",
		Short: "Measure a classifier's accuracy and cross-entropy on labelled examples",
		Long: `Eval runs MODEL with inference semantics on the examples x of an .npz file
and compares its first output, the class scores (logits), with the integer
class labels y: it prints the accuracy (the share of examples whose largest
score is at the label) and the mean cross-entropy, PyTorch's
nn.CrossEntropyLoss: the batch mean of logsumexp(z) - z[y]. --json prints
{"accuracy", "loss", "n"}.`,
		Example: `  onnxtune eval models/mnist_lenet_0to4.onnx --data digits.npz
  onnxtune eval --json model.onnx --data val.npz | jq .accuracy`,
		Args: positional("MODEL"),
		RunE: work(func(_ *cobra.Command, args []string) error {
			res, err := a.eval(args[0], data, batch)
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
	f := c.Flags()
	f.StringVar(&data, "data", "", ".npz file with examples x and integer labels y (required)")
	f.IntVar(&batch, "batch-size", 64, "examples per batch")
	f.BoolVar(&asJSON, "json", false, `print {"accuracy", "loss", "n"}`)
	c.MarkFlagRequired("data")
	c.PreRunE = func(*cobra.Command, []string) error {
		if batch < 1 {
			return fmt.Errorf("invalid --batch-size %d: want 1 or more", batch)
		}
		return nil
	}
	return c
}

type evalResult struct {
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	N        int     `json:"n"`
	correct  int
}

func (a *app) eval(model, data string, bs int) (*evalResult, error) {
	m, err := a.inferenceModel(model)
	if err != nil {
		return nil, err
	}
	x, input, err := readX(m, data, "x")
	if err != nil {
		return nil, err
	}
	labels, err := readLabels(data, x.Shape[0])
	if err != nil {
		return nil, err
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res := &evalResult{N: len(labels)}
	lossSum := 0.0
	err = a.forEachBatch(r, input, x, bs, func(outs []*tensor.Dense, first int) error {
		z, err := ops.Data[float32](outs[0])
		shape := ops.Shape(outs[0])
		if err != nil || len(shape) != 2 {
			return fmt.Errorf("the first output must be float32 class scores of shape [batch, classes], have %v %v", outs[0].Dtype(), shape)
		}
		k := shape[1]
		for i := 0; i < shape[0]; i++ {
			y := labels[first+i]
			if y < 0 || int(y) >= k {
				return fmt.Errorf("label y[%d] = %d is not a class of the model's %d", first+i, y, k)
			}
			row := z[i*k : (i+1)*k]
			best, mx := 0, float64(row[0])
			for j, v := range row {
				if float64(v) > mx {
					best, mx = j, float64(v)
				}
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(float64(v) - mx)
			}
			lossSum += mx + math.Log(s) - float64(row[y])
			if best == int(y) {
				res.correct++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Accuracy = float64(res.correct) / float64(res.N)
	res.Loss = lossSum / float64(res.N)
	return res, nil
}

// readLabels reads the integer labels y of an .npz file, one per example.
func readLabels(path string, n int) ([]int64, error) {
	arrs, err := npz.Read(path)
	if err != nil {
		return nil, err
	}
	y, ok := arrs["y"]
	if !ok {
		return nil, fmt.Errorf("%s has no array y of class labels (it has %s)", path, keys(arrs))
	}
	var labels []int64
	switch d := y.Data.(type) {
	case []int64:
		labels = d
	case []int32:
		for _, v := range d {
			labels = append(labels, int64(v))
		}
	case []uint8:
		for _, v := range d {
			labels = append(labels, int64(v))
		}
	default:
		return nil, fmt.Errorf("%s: y is %T; want integer class labels", path, y.Data)
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s: %d labels y for %d examples x", path, len(labels), n)
	}
	return labels, nil
}
