package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

func (a *app) replaceHeadCmd() *cobra.Command {
	var (
		layer, out string
		classes    int
		seed       int64
	)
	c := &cobra.Command{
		Use:   "replace-head MODEL --layer NAME --classes N -o OUT",
		Short: "Replace a classifier's last linear layer with a fresh one of N classes",
		Long: `Replace-head swaps the linear layer at module path --layer (a Gemm, or a
MatMul followed by Add, such as torchvision's fc) for a new one with
--classes outputs, initialized as PyTorch's nn.Linear initializes itself
(uniform in +-1/sqrt(in_features)) from --seed. The model's output shape is
fixed; node names, opsets and every other tensor are kept. This is
model.fc = nn.Linear(512, N) done on an ONNX export.`,
		Example: `  onnxtune replace-head resnet18.onnx --layer fc --classes 5 -o resnet18_5.onnx
  onnxtune replace-head models/mnist_lenet_0to4.onnx --layer fc3 --classes 10 -o out/lenet10.onnx`,
		Args: positional("MODEL"),
		PreRunE: func(*cobra.Command, []string) error {
			switch {
			case layer == "" || out == "":
				return fmt.Errorf(`required flags --layer and --output`)
			case classes < 1:
				return fmt.Errorf("invalid --classes %d: want 1 or more", classes)
			}
			return nil
		},
		RunE: work(func(_ *cobra.Command, args []string) error {
			if sameFile(args[0], out) {
				return fmt.Errorf("output %s would overwrite the input", out)
			}
			m, err := importer.LoadWith(args[0], importer.Options{Logger: a.log})
			if err != nil {
				return err
			}
			if err := remap.ReplaceHead(m, layer, classes, seed); err != nil {
				return err
			}
			if err := export.WriteFile(out, m); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: %s now has %d outputs\n", out, layer, classes)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&layer, "layer", "", "module path of the linear layer, as in its parameter names (fc for fc.weight)")
	f.IntVar(&classes, "classes", 0, "number of classes of the new layer")
	f.StringVarP(&out, "output", "o", "", "where to write the model (required)")
	f.Int64Var(&seed, "seed", 0, "seed of the new layer's initialization")
	return c
}
