package main

import (
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/remap"
)

func (a *app) convertCmd() *cobra.Command {
	var (
		out     string
		asJSON  bool
		dynamic bool
	)
	c := &cobra.Command{
		Use:   "convert IN -o OUT",
		Short: "Write a model in inference form with one PyTorch-named tensor per parameter",
		Long: `Convert loads the ONNX model IN and writes to OUT the model to fine-tune and
deploy: a training-mode export becomes the inference model it stands for
(BatchNormalization back to one output using running statistics, Dropout as
at inference), every parameter the exporter de-duplicated gets its own tensor
(untied), and initializers are renamed to their PyTorch state_dict names
("onnx::Conv_12" becomes "conv1.weight"). It prints how many nodes changed,
parameters were untied and initializers renamed, or the same as JSON with
--json (keys input, output, inference_nodes, untied, renamed).

With --dynamic-batch, a model exported at a fixed batch size (both of
PyTorch's exporters fix every dimension unless asked otherwise) is rewritten
to run at any batch: the inputs' leading dimension becomes "batch", and the
constants that carry the exported batch (Reshape targets, Expand,
ConstantOfShape and Tile shapes, a Slice over the whole batch) follow it.
The rewrite is proved before anything is written: at the exported batch and
at another, every node must give each example the values it gives at the
exported batch; where one does not, convert fails naming that node. The
report adds dynamic_batch (exported_batch, inputs, rewrites, proved_at).
run, eval and train apply the same rewrite by themselves when the data's
batch differs from a fixed one.

` + policyText + "\n\n" + sideText,
		Example: `  onnxtune convert models/bn_cnn_training.onnx -o /tmp/bn_cnn.onnx
  onnxtune convert --dynamic-batch model_dynamo.onnx -o /tmp/any_batch.onnx
  onnxtune convert --json models/bn_tied.onnx -o /tmp/bn_tied.onnx | jq .untied`,
		Args: positional("IN"),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("output") && out == "" {
				return errors.New("-o (--output) must name the file to write")
			}
			return nil
		},
		RunE: work(func(_ *cobra.Command, args []string) error {
			r, err := a.convert(args[0], out, dynamic)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, r)
			}
			tw := newTable(a.stdout)
			fmt.Fprintf(tw, "wrote %s\n", r.Output)
			fmt.Fprintf(tw, "  nodes changed to inference form\t%d\n", r.InferenceNodes)
			fmt.Fprintf(tw, "  parameters untied\t%d\n", r.Untied)
			fmt.Fprintf(tw, "  initializers renamed\t%d\n", r.Renamed)
			if d := r.DynamicBatch; d != nil {
				if d.Batch == 0 {
					fmt.Fprintf(tw, "  batch\talready dynamic\n")
				} else {
					fmt.Fprintf(tw, "  batch\t%d -> any (proved at %v; %d constants rewritten)\n", d.Batch, d.ProvedAt, len(d.Rewrites))
					for _, line := range d.Rewrites {
						fmt.Fprintf(tw, "    %s\n", line)
					}
				}
			}
			return tw.Flush()
		}),
	}
	c.Flags().StringVarP(&out, "output", "o", "", "file to write (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the counts as one JSON object")
	c.Flags().BoolVar(&dynamic, "dynamic-batch", false, "make a fixed batch dimension symbolic, proved before writing")
	if err := c.MarkFlagRequired("output"); err != nil {
		panic(err) // the flag is defined just above
	}
	return c
}

// convertResult is what convert prints; its JSON form is the --json output.
type convertResult struct {
	Input          string       `json:"input"`
	Output         string       `json:"output"`
	InferenceNodes int          `json:"inference_nodes"`
	Untied         int          `json:"untied"`
	Renamed        int          `json:"renamed"`
	DynamicBatch   *batchResult `json:"dynamic_batch,omitempty"`
}

// batchResult is the --dynamic-batch part of convert's report.
type batchResult struct {
	Batch    int64    `json:"exported_batch"` // 0: the model's batch was already dynamic
	Inputs   []string `json:"inputs"`
	Rewrites []string `json:"rewrites"`
	ProvedAt []int    `json:"proved_at"`
}

func (a *app) convert(in, out string, dynamic bool) (*convertResult, error) {
	m, err := a.load(in)
	if err != nil {
		return nil, err
	}
	var chk ioCheck
	chk.model("the model", in, m)
	chk.modelOutput("-o", out, m)
	if err := chk.check(); err != nil {
		return nil, err
	}
	r := &convertResult{Input: in, Output: out}
	c, err := remap.Convert(m)
	if err != nil {
		return nil, err
	}
	r.InferenceNodes, r.Untied, r.Renamed = c.InferenceNodes, c.Untied, c.Renamed
	if dynamic {
		a.logProof(m)
		b, err := remap.DynamicBatch(m, remap.BatchOptions{MaxBytes: a.limit})
		if err != nil {
			return nil, err
		}
		r.DynamicBatch = &batchResult{Batch: b.Batch, Inputs: nonNil(b.Inputs), Rewrites: nonNil(b.Rewrites), ProvedAt: b.ProvedAt}
	}
	a.log.WithFields(logrus.Fields{"nodes": c.InferenceNodes, "untied": c.Untied, "renamed": c.Renamed}).Debug("converted")
	if err := export.WriteFile(out, m); err != nil {
		return nil, err
	}
	a.log.WithField("path", out).Debug("model written")
	return r, nil
}

// nonNil makes an empty list print as [] in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
