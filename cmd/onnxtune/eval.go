package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/train"
)

func (a *app) evalCmd() *cobra.Command {
	d := dataSpec{need: classLabels}
	var asJSON bool
	var plotDir string
	var classNames []string
	c := &cobra.Command{
		Use:   "eval MODEL --data DATA",
		Short: "Measure a classifier's accuracy, cross-entropy, per-class scores and confusion matrix",
		Long: `Eval runs MODEL with inference semantics on labelled examples (DATA: an .npz
file with an array per model input and integer labels y, mnist:train,
mnist:test, or an image folder ROOT/CLASS/*.png|jpg, read as run and train
read it) and compares its first output, the class scores (logits), with
the class labels: it prints the accuracy (the share of examples whose
largest score is at the label; a NaN counts as the largest, the first NaN
winning, as torch.argmax takes it), the top-5 accuracy (the label among the
five largest scores), the mean cross-entropy, PyTorch's
nn.CrossEntropyLoss: the batch mean of logsumexp(z) - z[y], the macro F1
(scikit-learn's f1_score(average='macro'): the mean F1 of the classes
present among the labels or the predictions), a table of each class's
precision, recall, F1 and support, as scikit-learn's
precision_recall_fscore_support (a class never predicted has precision 0,
one without examples recall 0), and up to 20 classes the confusion matrix
(rows: true class, columns: predicted). --json prints all of it as one
JSON object: n, loss, accuracy, top5, correct, classes, class_names (the
model's, from its metadata or --class-names, when it has them), precision, recall,
f1, support (lists by class), macro_f1 and confusion (a list of rows); a
number that is NaN or infinite (the loss of a NaN input) is null.
--plot DIR writes the confusion matrix as DIR/confusion.png (DIR is created
when missing; the file is written atomically).

` + examplesProgressText + `

` + inputsText + `

` + preprocessText,
		Example: `  onnxtune eval models/mnist_lenet_0to4.onnx --data models/mnist_0to4_test.npz
  onnxtune eval tuned.onnx --data mnist:test
  onnxtune eval --json model.onnx --data val.npz | jq .accuracy`,
		Args: positional("MODEL"),
		RunE: work(func(_ *cobra.Command, args []string) error {
			if plotDir != "" {
				var chk ioCheck
				chk.input("the model", args[0])
				chk.input("--data", d.spec)
				for _, f := range evalPlots {
					chk.dirOutput("--plot", plotDir, filepath.Join(plotDir, f))
				}
				if err := chk.check(); err != nil {
					return err
				}
			}
			d.names = classNames
			res, names, err := a.eval(args[0], d)
			if err != nil {
				return err
			}
			if plotDir != "" {
				if err := mkdirPlot(plotDir); err != nil {
					return err
				}
				if err := plotConfusion(plotDir, "Confusion matrix", res.Confusion, names); err != nil {
					return err
				}
			}
			if asJSON {
				out := newEvalOutput(res)
				out.ClassNames = names
				return json.NewEncoder(a.stdout).Encode(out)
			}
			printMetrics(a.stdout, res, names)
			return nil
		}),
	}
	dataFlags(c, &d, "labelled examples: file.npz (an array per model input, or x; y), mnist:train, mnist:test or an image folder (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print every metric as one JSON object")
	c.Flags().StringVar(&plotDir, "plot", "", "folder to write confusion.png in (created when missing)")
	c.Flags().StringSliceVar(&classNames, "class-names", nil, "names of the classes, a,b,c (default: the model's metadata); an image folder's classes are labelled by them")
	return c
}

// evalResult is what eval measures.
type evalResult = train.Metrics

// evalOutput is what eval --json prints: the fields of train.Metrics, with
// NaN and infinite numbers written as null.
type evalOutput struct {
	N        int        `json:"n"`
	Loss     jsonNumber `json:"loss"`
	Accuracy jsonNumber `json:"accuracy"`
	Top5     jsonNumber `json:"top5"`
	Correct  int        `json:"correct"`
	Classes  int        `json:"classes"`
	// ClassNames are the model's (metadata or --class-names), when known.
	ClassNames []string     `json:"class_names,omitempty"`
	Precision  []jsonNumber `json:"precision,omitempty"`
	Recall     []jsonNumber `json:"recall,omitempty"`
	F1         []jsonNumber `json:"f1,omitempty"`
	Support    []int        `json:"support,omitempty"`
	MacroF1    jsonNumber   `json:"macro_f1"`
	Confusion  [][]int      `json:"confusion,omitempty"`
}

func newEvalOutput(m *train.Metrics) evalOutput {
	return evalOutput{N: m.N, Loss: jsonNumber(m.Loss), Accuracy: jsonNumber(m.Accuracy), Top5: jsonNumber(m.Top5),
		Correct: m.Correct, Classes: m.Classes, Precision: jsonNumbers(m.Precision), Recall: jsonNumbers(m.Recall),
		F1: jsonNumbers(m.F1), Support: m.Support, MacroF1: jsonNumber(m.MacroF1), Confusion: m.Confusion}
}

// eval measures model on d, and returns the class names that label the
// results: --class-names (d.names), else the model's metadata when they
// count its classes (otherwise a warning, and none).
func (a *app) eval(model string, d dataSpec) (*evalResult, []string, error) {
	m, err := a.inferenceModel(model)
	if err != nil {
		return nil, nil, err
	}
	if err := checkClassNames(m, d.names); err != nil {
		return nil, nil, err
	}
	names, namesErr := classNamesOf(m, d.names)
	l, err := a.openData(m, d)
	if err != nil {
		// Reading an image folder fails on the same metadata: one line.
		return nil, nil, err
	}
	if namesErr != nil {
		a.log.Warnf("%v; classes are shown by index", namesErr)
		names = nil
	}
	prog := a.examplesProgress(l.Len(), d.batch)
	res, err := train.Evaluate(m, l, train.EvalOptions{MaxBytes: a.limit, Progress: prog.set})
	prog.finish()
	if err == nil && names != nil && len(names) != res.Classes {
		a.log.Warnf("%d class names for %d classes scored; classes are shown by index", len(names), res.Classes)
		names = nil
	}
	return res, names, err
}

// printMetrics writes a classifier's metrics as eval prints them; names,
// when not nil, name the classes.
func printMetrics(w io.Writer, m *train.Metrics, names []string) {
	name := func(c int) string {
		if c < len(names) {
			return names[c]
		}
		return fmt.Sprint(c)
	}
	fmt.Fprintf(w, "accuracy  %.4f  (%d of %d)\ntop-5     %.4f\nloss      %.6f  (mean cross-entropy)\nmacro F1  %.4f\n",
		m.Accuracy, m.Correct, m.N, m.Top5, m.Loss, m.MacroF1)
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "CLASS\tPRECISION\tRECALL\tF1\tSUPPORT")
	for c := range m.Classes {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\n", name(c), m.Precision[c], m.Recall[c], m.F1[c], m.Support[c])
	}
	tw.Flush()
	if m.Classes > 20 {
		fmt.Fprintf(w, "\n(confusion matrix of %d classes: see --json or --plot)\n", m.Classes)
		return
	}
	fmt.Fprintln(w, "\nconfusion matrix (rows: true class, columns: predicted)")
	tw = newTable(w)
	head := []string{"true\\pred"}
	for c := range m.Classes {
		head = append(head, name(c))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for c, row := range m.Confusion {
		cells := []string{name(c)}
		for _, v := range row {
			cells = append(cells, fmt.Sprint(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}
