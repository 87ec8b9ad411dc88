package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
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
		Long: `Remap does on ONNX models what PyTorch's fine-tuning recipe does with
state_dicts ({k: v for k, v in pretrained.items() if k in new_state}, then
load_state_dict), properly: every parameter and buffer of NEW whose PyTorch
name and shape PRE also has takes PRE's values, converted to NEW's float type
when PRE has another (float16, bfloat16, float32, float64), as load_state_dict
casts; OUT is NEW with those values. Names are the recovered PyTorch names, so anonymized exports
("onnx::Conv_193") match too; tensors NEW's exporter shared are untied first.

The report lists every name: matched (taken from PRE), missing (only in NEW,
which keeps its own), unexpected (only in PRE, dropped) and mismatched (in
both with other shapes, or types that are not both float, such as a classifier head with another
number of classes: NEW keeps its own, where load_state_dict would fail).

--rename RE=REPL rewrites PRE's names first, in order, as Go's
regexp.ReplaceAllString ('^module\.=' strips DataParallel's prefix,
'^backbone\.(.*)=$1' unwraps a wrapper); a rule that matches no name is
logged as a warning. --strict makes any missing, unexpected or mismatched
name an error (exit 1, the report still printed) and writes nothing. --json
prints the report as one object: matched, missing and unexpected (lists of
names), mismatched (objects with name, from and into), and warnings when
there are any.

` + policyText + "\n\n" + sideText,
		Example: `  onnxtune remap --from models/mnist_lenet_0to4.onnx --into models/mnist_lenet_10.onnx -o lenet10.onnx
  onnxtune remap --from dp.onnx --into new.onnx -o out.onnx --rename '^module\.='
  onnxtune remap --strict --json --from a.onnx --into b.onnx -o c.onnx | jq .mismatched`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if from == "" || into == "" || out == "" {
				return errors.New("required flags: --from, --into and -o (--output)")
			}
			var err error
			if rules, err = remap.ParseRules(renames); err != nil {
				return fmt.Errorf("--rename: %w", err)
			}
			return nil
		},
		RunE: work(func(*cobra.Command, []string) error {
			pre, err := a.load(from)
			if err != nil {
				return err
			}
			dst, err := a.load(into)
			if err != nil {
				return err
			}
			var chk ioCheck
			chk.model("--from", from, pre)
			chk.model("--into", into, dst)
			chk.modelOutput("-o", out, dst, pre)
			if err := chk.check(); err != nil {
				return err
			}
			rep, err := remap.Apply(pre, dst, remap.Options{Rules: rules, Strict: strict, Logger: a.log})
			var se *remap.StrictError
			if err != nil && !errors.As(err, &se) {
				return err
			}
			written := ""
			if err == nil {
				if err := export.WriteFile(out, dst); err != nil {
					return err
				}
				a.log.WithField("path", out).Debug("model written")
				written = out
			}
			if perr := printRemap(a.stdout, rep, dst, written, asJSON); perr != nil {
				return perr
			}
			return err
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "the pretrained model (required)")
	f.StringVar(&into, "into", "", "the new model whose parameters are filled (required)")
	f.StringVarP(&out, "output", "o", "", "where to write the result (required)")
	f.StringArrayVar(&renames, "rename", nil, "rewrite pretrained names: REGEXP=REPLACEMENT; repeatable, applied in order")
	f.BoolVar(&strict, "strict", false, "fail, writing nothing, unless every name matches")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return c
}

// printRemap prints the report as JSON or as a table with a row per name
// (shapes from the target dst) and a summary. written is the file written,
// "" if none.
func printRemap(w io.Writer, rep remap.Report, dst *graph.Model, written string, asJSON bool) error {
	if asJSON {
		return writeJSON(w, rep)
	}
	shape := func(name string) string {
		if p := dst.Param(name); p != nil {
			dims := make([]string, len(p.Shape))
			for i, d := range p.Shape {
				dims[i] = strconv.FormatInt(d, 10)
			}
			return fmt.Sprintf("%s[%s]", p.DType, strings.Join(dims, ","))
		}
		return ""
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "STATUS\tNAME\tSHAPE\tRESULT")
	for _, n := range rep.Matched {
		fmt.Fprintf(tw, "matched\t%s\t%s\ttaken from the pretrained model\n", n, shape(n))
	}
	for _, m := range rep.Mismatched {
		fmt.Fprintf(tw, "mismatched\t%s\t%s -> %s\tthe new model's kept\n", m.Name, m.From, m.Into)
	}
	for _, n := range rep.Missing {
		fmt.Fprintf(tw, "missing\t%s\t%s\tthe new model's kept\n", n, shape(n))
	}
	for _, n := range rep.Unexpected {
		fmt.Fprintf(tw, "unexpected\t%s\t\tdropped\n", n)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d matched, %d mismatched, %d missing, %d unexpected\n",
		len(rep.Matched), len(rep.Mismatched), len(rep.Missing), len(rep.Unexpected))
	if written == "" {
		_, err := fmt.Fprintln(w, "nothing written")
		return err
	}
	_, err := fmt.Fprintf(w, "wrote %s\n", written)
	return err
}
