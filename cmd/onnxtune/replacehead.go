package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/remap"
)

func (a *app) replaceHeadCmd() *cobra.Command {
	var (
		layer, out string
		classes    int
		seed       int64
		classNames []string
		asJSON     bool
	)
	c := &cobra.Command{
		Use:   "replace-head MODEL --layer NAME --classes N -o OUT",
		Short: "Replace a classifier's linear layer with a fresh one of N classes",
		Long: `Replace-head does model.fc = nn.Linear(in_features, N) on an ONNX export:
it swaps the linear layer at module path --layer (the prefix of its
parameter names: fc for fc.weight; a Gemm, or a MatMul followed by the Add
of its bias) for a new one with --classes outputs, initialized as
nn.Linear initializes itself (weight and bias uniform in
[-1/sqrt(in_features), 1/sqrt(in_features)]) from a Go random source seeded
with --seed (the same seed gives the same tensors; they are not PyTorch's
numbers). The parameters keep their PyTorch names with the new shapes, the
declared output shape gets the new number of classes, and node names,
opsets and every other tensor are kept. The new weight and bias together
may not exceed --max-bytes (checked before they are made, exit 1). A layer
that a later node is sized for (a BatchNorm1d after it, the next Linear)
is refused naming that node (exit 1): with another width the model could
not run.
--class-names a,b,c (N names) are written in OUT's metadata
(onnxtune.class_names); without it, class names the model carried are
dropped (they named the old classes). It prints the new shapes, or with
--json one JSON object: input, output, layer, old_outputs, new_outputs,
seed, params (name, old_shape and new_shape of the weight and of the bias,
if any) and class_names (those written in OUT; [] for none).

` + policyText + "\n\n" + sideText,
		Example: `  onnxtune replace-head resnet18.onnx --layer fc --classes 5 -o resnet18_5.onnx
  onnxtune replace-head models/mnist_lenet_0to4.onnx --layer fc3 --classes 10 --seed 7 -o lenet10.onnx`,
		Args: positional("MODEL"),
		PreRunE: func(*cobra.Command, []string) error {
			switch {
			case layer == "" || out == "":
				return errors.New("required flags: --layer and -o (--output)")
			case classes < 1:
				return fmt.Errorf("invalid --classes %d: want 1 or more", classes)
			case classNames != nil && len(classNames) != classes:
				return fmt.Errorf("invalid --class-names: %d names for --classes %d", len(classNames), classes)
			}
			return nil
		},
		RunE: work(func(_ *cobra.Command, args []string) error {
			in := args[0]
			m, err := a.load(in)
			if err != nil {
				return err
			}
			var chk ioCheck
			chk.model("the model", in, m)
			chk.modelOutput("-o", out, m)
			if err := chk.check(); err != nil {
				return err
			}
			r := headResult{Input: in, Output: out, Layer: layer, NewOutputs: classes, Seed: seed, ClassNames: nonNil(classNames)}
			names := []string{layer + ".weight", layer + ".bias"}
			before := make(map[string][]int64)
			for _, n := range names {
				if p := m.Param(n); p != nil {
					before[n] = p.Shape
				}
			}
			if w := before[names[0]]; len(w) == 2 {
				r.OldOutputs = w[0] // PyTorch's [out_features, in_features]
			}
			if err := remap.ReplaceHeadWith(m, layer, classes, remap.HeadOptions{Seed: seed, MaxBytes: a.limit}); err != nil {
				return err
			}
			if err := headClassNames(m, classNames); err != nil {
				return err
			}
			if err := export.WriteFile(out, m); err != nil {
				return err
			}
			r.Params = []headParam{}
			for _, n := range names {
				if p := m.Param(n); p != nil {
					r.Params = append(r.Params, headParam{Name: n, OldShape: before[n], NewShape: p.Shape})
				}
			}
			if asJSON {
				return writeJSON(a.stdout, r)
			}
			for i, p := range r.Params {
				if i == 0 {
					fmt.Fprintf(a.stdout, "%s %v -> %v\n", p.Name, p.OldShape, p.NewShape)
					continue
				}
				fmt.Fprintf(a.stdout, "%s %v\n", p.Name, p.NewShape)
			}
			fmt.Fprintf(a.stdout, "wrote %s: %s now has %d outputs\n", out, layer, classes)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&layer, "layer", "", "module path of the linear layer, as in its parameter names (fc for fc.weight) (required)")
	f.IntVar(&classes, "classes", 0, "number of outputs of the new layer (required)")
	f.StringVarP(&out, "output", "o", "", "where to write the model (required)")
	f.Int64Var(&seed, "seed", 0, "seed of the new layer's initialization")
	f.StringSliceVar(&classNames, "class-names", nil, "names of the N new classes, a,b,c, written in OUT's metadata")
	f.BoolVar(&asJSON, "json", false, "print what changed as one JSON object")
	return c
}

// headResult is what replace-head --json prints.
type headResult struct {
	Input      string      `json:"input"`
	Output     string      `json:"output"`
	Layer      string      `json:"layer"`
	OldOutputs int64       `json:"old_outputs"`
	NewOutputs int         `json:"new_outputs"`
	Seed       int64       `json:"seed"`
	Params     []headParam `json:"params"` // the weight, then the bias if the layer has one
	ClassNames []string    `json:"class_names"`
}

// headParam is a parameter of the replaced layer, with PyTorch shapes.
type headParam struct {
	Name     string  `json:"name"`
	OldShape []int64 `json:"old_shape"`
	NewShape []int64 `json:"new_shape"`
}
