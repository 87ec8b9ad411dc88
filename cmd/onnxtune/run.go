package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

func (a *app) runCmd() *cobra.Command {
	d := dataSpec{need: examplesOnly}
	var (
		out         string
		all, asJSON bool
		classNames  []string
	)
	c := &cobra.Command{
		Use:   "run MODEL --data DATA [-o OUT.npz]",
		Short: "Run a model on examples (.npz, MNIST or an image folder)",
		Long: `Run computes MODEL's outputs for the examples of DATA, in batches of
--batch-size. DATA takes the forms eval and train read: an .npz file with
an array per model input (y, if any, is not read), mnist:train,
mnist:test, or an image folder ROOT/CLASS/*.png|jpg. It always runs with
inference semantics: a training-mode export runs as the inference model
it stands for (BatchNormalization with running statistics, Dropout off).

` + inputsText + `

` + preprocessText + `

With -o it writes the first output as the array logits of OUT.npz (with
--all-outputs, every output under its graph name too). It prints the
output shapes and, per example, the index of the largest output (the
predicted class of a classifier; as torch.argmax, a NaN counts as the
largest, the first NaN winning) with its name when the model's metadata
has class names (or --class-names a,b,c gives them; a model whose
metadata names fewer or more classes than it scores is refused before
running, unless --class-names gives one name each); --json prints
{"outputs": {name: shape}, "predictions": [...], "predicted_names": [...]}.
Predictions need a first output of float32 class scores [batch, classes]:
for another (a sequence's [batch, seq, C], a 1-D output) run prints the
shapes and says so instead, and --json gives "predictions": [].

` + examplesProgressText + `

` + policyText,
		Example: `  onnxtune run models/lenet.onnx --data models/lenet.expected.npz
  onnxtune run models/multi/text.onnx --data models/multi/text.data.npz   # input_ids, attention_mask
  onnxtune run models/bn_cnn_training.onnx --data models/bn_cnn_training.expected.npz -o /tmp/out.npz
  python3 -c "import numpy as np; print(np.load('/tmp/out.npz')['logits'])"`,
		Args: positional("MODEL"),
		RunE: work(func(_ *cobra.Command, args []string) error {
			res, err := a.run(args[0], d, out, all, classNames)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			tw := newTable(a.stdout)
			for _, name := range res.order {
				fmt.Fprintf(tw, "%s\t%v\n", name, res.Outputs[name])
			}
			if out != "" {
				fmt.Fprintf(tw, "wrote\t%s\n", out)
			}
			if res.noPredictions != "" {
				fmt.Fprintf(tw, "\n%s\n", res.noPredictions)
				return tw.Flush()
			}
			if res.Names != nil {
				fmt.Fprintf(tw, "\nexample\tpredicted\tclass\n")
			} else {
				fmt.Fprintf(tw, "\nexample\tpredicted\n")
			}
			for i, p := range res.Predictions {
				if i == 20 {
					fmt.Fprintf(tw, "...\t(%d more)\n", len(res.Predictions)-20)
					break
				}
				if res.Names != nil {
					fmt.Fprintf(tw, "%d\t%d\t%s\n", i, p, res.Names[i])
					continue
				}
				fmt.Fprintf(tw, "%d\t%d\n", i, p)
			}
			return tw.Flush()
		}),
	}
	dataFlags(c, &d, "examples: file.npz (an array per model input, or x), mnist:train, mnist:test or an image folder (required)")
	f := c.Flags()
	f.StringVarP(&out, "output", "o", "", ".npz file to write the outputs to")
	f.BoolVar(&all, "all-outputs", false, "with -o, write every graph output under its name")
	f.BoolVar(&asJSON, "json", false, "print output shapes and predictions as JSON")
	f.StringSliceVar(&classNames, "class-names", nil, "names of the classes, a,b,c, printed with the predictions (default: the model's metadata)")
	return c
}

type runResult struct {
	Outputs     map[string][]int `json:"outputs"`
	Predictions []int            `json:"predictions"`
	Names       []string         `json:"predicted_names,omitempty"`
	order       []string
	// noPredictions says why there are none: the first output is not
	// float32 [batch, classes].
	noPredictions string
}

func (a *app) run(model string, d dataSpec, out string, all bool, classNames []string) (*runResult, error) {
	m, err := a.inferenceModel(model)
	if err != nil {
		return nil, err
	}
	if len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("%s: the model has no output", model)
	}
	if all {
		// The first output is written and shown as logits: a later output
		// of that name would replace it.
		for i, o := range m.Graph.Outputs[1:] {
			if o.Name == "logits" {
				return nil, fmt.Errorf("--all-outputs: the model's output %d is named %q, the name run gives its first output (%q); run without --all-outputs",
					i+1, o.Name, m.Graph.Outputs[0].Name)
			}
		}
	}
	if err := checkClassNames(m, classNames); err != nil {
		return nil, err
	}
	classes, err := classNamesOf(m, classNames)
	if err != nil {
		return nil, err
	}
	var chk ioCheck
	chk.model("the model", model, m)
	chk.input("--data", d.spec)
	chk.output("-o", out)
	if err := chk.check(); err != nil {
		return nil, err
	}
	l, err := a.openData(m, d)
	if err != nil {
		return nil, err
	}
	r, err := ops.NewRunner(m, ops.Options{MaxBytes: a.limit})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	names := make([]string, len(m.Graph.Outputs))
	for i, o := range m.Graph.Outputs {
		names[i] = o.Name
	}
	axes, err := outputAxes(m)
	if err != nil {
		return nil, err
	}
	collected := make([][]*tensor.Dense, len(names))
	prog := a.examplesProgress(l.Len(), d.batch)
	done := 0
	for b, err := range l.Epoch(0) {
		if err != nil {
			return nil, err
		}
		outs, err := r.Run(b.Inputs)
		if err != nil {
			return nil, fmt.Errorf("examples %d to %d: %w", done, done+b.N-1, err)
		}
		for i, o := range outs {
			collected[i] = append(collected[i], o)
		}
		done += b.N
		prog.set(done)
		a.log.WithField("done", done).WithField("of", l.Len()).Debug("batch")
	}
	prog.finish()
	res := &runResult{Outputs: make(map[string][]int)}
	arrays := make(map[string]npz.Array)
	for i, name := range names {
		if i > 0 && !all {
			break
		}
		arr, err := concatAlong(collected[i], axes[i])
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", name, err)
		}
		key := name
		if i == 0 {
			key = "logits"
			if res.Predictions = argmaxRows(arr); res.Predictions == nil {
				res.Predictions = []int{} // a list under --json, as a script expects
				res.noPredictions = fmt.Sprintf("no predictions: they need a first output of float32 class scores [batch, classes]; %q is %s %v",
					name, strings.TrimPrefix(fmt.Sprintf("%T", arr.Data), "[]"), arr.Shape)
			}
		}
		arrays[key] = arr
		res.Outputs[key] = arr.Shape
		res.order = append(res.order, key)
		if all && i == 0 && name != "logits" {
			// Under its graph name too, as OUT.npz has it.
			arrays[name] = arr
			res.Outputs[name] = arr.Shape
			res.order = append(res.order, name)
		}
	}
	if res.Names, err = predictedNames(res.Predictions, classes); err != nil {
		return nil, err
	}
	if out != "" {
		if err := npz.Write(out, arrays); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// outputAxes returns, per graph output of m, the axis its batch outputs
// are joined along: the one axis its declared shape names as the inputs
// name their batch (stateN [2, batch, 128] of silero VAD: 1), in a model
// of fixed shapes the one axis of the inputs' batch size (hn [2, 3, 8] of
// an LSTM exported at batch 3), else 0.
func outputAxes(m *graph.Model) ([]int, error) {
	ins, err := data.InputsOf(m)
	if err != nil {
		return nil, err
	}
	batch := map[string]bool{}
	size := int64(0) // the batch of a model of fixed shapes
	for _, in := range ins {
		if in.BatchAxis >= 0 && in.BatchAxis < len(in.Dims) {
			switch d := in.Dims[in.BatchAxis]; {
			case d.HasParam && !d.HasValue:
				batch[d.Param] = true
			case d.HasValue && size == 0:
				size = d.Value
			}
		}
	}
	axes := make([]int, len(m.Graph.Outputs))
	for i, o := range m.Graph.Outputs {
		_, dims, ok := o.TensorShape()
		if !ok {
			continue
		}
		var named, sized []int
		for j, d := range dims {
			if d.HasParam && !d.HasValue && batch[d.Param] {
				named = append(named, j)
			}
			if d.HasValue && d.Value == size {
				sized = append(sized, j)
			}
		}
		switch {
		case len(named) == 1:
			axes[i] = named[0]
		case len(batch) == 0 && len(sized) == 1:
			axes[i] = sized[0]
		}
	}
	return axes, nil
}

// concatAlong joins batch outputs along axis (0 for a 0-d output, which
// is the first batch's).
func concatAlong(ts []*tensor.Dense, axis int) (npz.Array, error) {
	if len(ts) == 0 {
		return npz.Array{}, errors.New("no output")
	}
	shape := ops.Shape(ts[0])
	if len(shape) == 0 {
		return npz.Array{Shape: shape, Data: ts[0].Data()}, nil
	}
	if axis >= len(shape) {
		axis = 0
	}
	n := 0
	for _, t := range ts {
		s := ops.Shape(t)
		if len(s) != len(shape) {
			return npz.Array{}, fmt.Errorf("batch outputs of shapes %v and %v", shape, s)
		}
		for j := range s {
			if j != axis && s[j] != shape[j] {
				return npz.Array{}, fmt.Errorf("batch outputs of shapes %v and %v: not joinable along axis %d", shape, s, axis)
			}
		}
		n += s[axis]
	}
	outer, inner := 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	shape[axis] = n
	switch ts[0].Data().(type) {
	case []float32:
		return joinAs[float32](ts, shape, axis, outer, inner)
	case []float64:
		return joinAs[float64](ts, shape, axis, outer, inner)
	case []int64:
		return joinAs[int64](ts, shape, axis, outer, inner)
	case []bool:
		return joinAs[bool](ts, shape, axis, outer, inner)
	}
	return npz.Array{}, fmt.Errorf("element type %v cannot be written", ts[0].Dtype())
}

// joinAs joins ts of element type T along axis: for each index of the
// axes before it (outer), each tensor's rows in turn.
func joinAs[T any](ts []*tensor.Dense, shape []int, axis, outer, inner int) (npz.Array, error) {
	parts := make([][]T, len(ts))
	for k, t := range ts {
		d, err := ops.Data[T](t)
		if err != nil {
			return npz.Array{}, err
		}
		parts[k] = d
	}
	all := make([]T, 0, outer*shape[axis]*inner)
	for o := range outer {
		for k, t := range ts {
			rows := ops.Shape(t)[axis] * inner
			all = append(all, parts[k][o*rows:(o+1)*rows]...)
		}
	}
	return npz.Array{Shape: shape, Data: all}, nil
}

// argmaxRows returns, per row of a 2-D float output, the index of its
// largest value as torch.argmax picks it (train.Argmax: a NaN is the
// largest; nil for other outputs).
func argmaxRows(a npz.Array) []int {
	v, ok := a.Data.([]float32)
	if !ok || len(a.Shape) != 2 {
		return nil
	}
	n, k := a.Shape[0], a.Shape[1]
	out := make([]int, n)
	for i := 0; i < n; i++ {
		out[i] = train.Argmax(v[i*k : (i+1)*k])
	}
	return out
}
