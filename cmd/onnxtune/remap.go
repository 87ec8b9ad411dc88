package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

func (a *app) remapCmd() *cobra.Command {
	var (
		from, into, out string
		renames         []string
		strict, asJSON  bool
		rules           []remap.Rule
	)
	c := &cobra.Command{
		Use:   "remap --from PRE.onnx --into NEW.onnx -o OUT.onnx",
		Short: "Load a pretrained model's parameters into a new model, by PyTorch name",
		Long: `Remap does what PyTorch's fine-tuning recipe does with state_dicts
({k: v for k, v in pretrained.items() if k in new_state}, then
load_state_dict), on ONNX models: every parameter of NEW whose PyTorch name
and shape PRE also has takes PRE's values; OUT is NEW with those values.
Names are the recovered PyTorch names, so anonymized exports
("onnx::Conv_193") match too. The report lists the names matched, missing
(only in NEW, which keeps its own), unexpected (only in PRE, dropped) and
mismatched (in both with other shapes: NEW keeps its own, e.g. a classifier
head with another number of classes).

--rename RE=REPL rewrites PRE's names first, in order ('^module\.=' strips
DataParallel's prefix); a rule that matches nothing is a warning. --strict
makes any missing, unexpected or mismatched name an error, and writes
nothing. --json prints {"matched", "missing", "unexpected", "mismatched"}.`,
		Example: `  onnxtune remap --from models/mnist_lenet_0to4.onnx --into models/mnist_lenet_10.onnx -o out/lenet10.onnx
  onnxtune remap --from dp.onnx --into new.onnx -o out.onnx --rename '^module\.='`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			for _, r := range renames {
				rule, err := remap.ParseRule(r)
				if err != nil {
					return err
				}
				rules = append(rules, rule)
			}
			if from == "" || into == "" || out == "" {
				return fmt.Errorf(`required flags --from, --into and --output`)
			}
			return nil
		},
		RunE: work(func(*cobra.Command, []string) error {
			if sameFile(from, out) || sameFile(into, out) {
				return fmt.Errorf("output %s would overwrite an input", out)
			}
			pre, err := importer.LoadWith(from, importer.Options{Logger: a.log})
			if err != nil {
				return err
			}
			dst, err := importer.LoadWith(into, importer.Options{Logger: a.log})
			if err != nil {
				return err
			}
			rep, err := remap.Apply(pre, dst, remap.Options{Rules: rules, Strict: strict, Logger: a.log})
			if err != nil {
				return err
			}
			if err := export.WriteFile(out, dst); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "wrote %s\n", out)
			fmt.Fprintf(tw, "matched\t%d\t(taken from %s)\n", len(rep.Matched), from)
			for _, m := range rep.Mismatched {
				fmt.Fprintf(tw, "mismatched\t%s\t%s in %s, %s in %s: kept the new model's\n", m.Name, m.From, from, m.Into, into)
			}
			for _, n := range rep.Missing {
				fmt.Fprintf(tw, "missing\t%s\tonly in %s: kept\n", n, into)
			}
			for _, n := range rep.Unexpected {
				fmt.Fprintf(tw, "unexpected\t%s\tonly in %s: dropped\n", n, from)
			}
			return tw.Flush()
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "the pretrained model (required)")
	f.StringVar(&into, "into", "", "the new model whose parameters are filled (required)")
	f.StringVarP(&out, "output", "o", "", "where to write the result (required)")
	f.StringArrayVar(&renames, "rename", nil, "rewrite pretrained names: REGEXP=REPLACEMENT; repeatable, applied in order")
	f.BoolVar(&strict, "strict", false, "fail, writing nothing, unless every name matches")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}
