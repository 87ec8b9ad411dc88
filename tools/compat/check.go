package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// Tolerance is the largest relative difference (relDiff) from ONNX
// Runtime's outputs that the run step accepts.
const Tolerance = 1e-4

// RunBatch is the size given to a symbolic batch dimension when the model
// runs; TrainBatch is the training batch.
const (
	RunBatch   = 2
	TrainBatch = 4
	TrainSteps = 2
	TrainLR    = 0.01
)

// Step statuses.
const (
	OK      = "ok"
	Fail    = "fail"
	Skipped = "skipped" // an earlier step failed
	NA      = "n/a"     // no reference: ONNX Runtime cannot run the original file
)

// Step is the outcome of one step.
type Step struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	err    error
}

func (s Step) ok() bool { return s.Status == OK }

// passed: ok, or n/a (the engine raised no error where nothing could check it).
func (s Step) passed() bool { return s.Status == OK || s.Status == NA }

// Entry is a file to check.
type Entry struct {
	File   string `json:"file"`
	Path   string `json:"-"`
	Set    string `json:"set"`    // "realworld" or "corpus"
	Source string `json:"source"` // repository, or registry package version
}

// Result is what Check found for one file.
type Result struct {
	Entry
	Producer string `json:"producer"`
	IR       int64  `json:"ir_version"`
	Opset    int64  `json:"opset"`  // of the default domain
	Opsets   string `json:"opsets"` // every domain=version
	Nodes    int    `json:"nodes"`
	Ops      int    `json:"ops"`     // distinct op types (domain-qualified)
	Params   int    `json:"params"`  // trainable float tensors in the parameter table
	Weights  int    `json:"weights"` // float initializers and Constant tensors of 2 or more elements
	// InitWeights counts the float initializers of 2 or more elements.
	InitWeights int `json:"init_weights"`

	Load   Step `json:"load"`
	Run    Step `json:"run"`
	Train  Step `json:"train"`
	Export Step `json:"ort_runs_result"`

	RelDiff     float64   `json:"run_rel_diff"`            // -1 when not compared
	Reference   string    `json:"reference,omitempty"`     // what the run step compared with: "ONNX Runtime" or "PyTorch test data"
	Rewritten   string    `json:"dynamic_batch,omitempty"` // what remap.DynamicBatch did before training
	Loss        string    `json:"loss,omitempty"`
	Losses      []float64 `json:"losses,omitempty"`
	Trained     int       `json:"trained_params"`
	Unsupported []string  `json:"unsupported_ops,omitempty"`

	// Verdict is "pass" (every step ok), "unsupported" (the first failure is
	// an op the engine lacks, named) or "fail".
	Verdict    string  `json:"verdict"`
	FirstError string  `json:"first_error,omitempty"`
	Category   string  `json:"category,omitempty"`
	Seconds    float64 `json:"seconds"`
}

// Options of Check.
type Options struct {
	Timeout time.Duration // per file; 0 for none
	TempDir string        // for the trained models; "" for os.TempDir
}

// Check loads the file, runs it against ONNX Runtime, trains it and has
// ONNX Runtime run the result. It never panics; a file that takes longer
// than opts.Timeout is reported as failed at the step it was in (its work
// goes on in the background until it ends).
func Check(e Entry, opts Options) Result {
	start := time.Now()
	var mu sync.Mutex
	shared := &Result{Entry: e, RelDiff: -1}
	step := "load"
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				mu.Lock()
				defer mu.Unlock()
				err := fmt.Errorf("panic: %v", r)
				if os.Getenv("COMPAT_STACK") != "" {
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
				shared.set(step, Step{Status: Fail, Error: oneLine(err), err: err})
			}
		}()
		check(shared, opts, func(s string) { mu.Lock(); step = s; mu.Unlock() }, &mu)
	}()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
	case <-timeout:
		mu.Lock()
		err := fmt.Errorf("timed out after %v", opts.Timeout)
		shared.set(step, Step{Status: Fail, Error: err.Error(), err: err})
		mu.Unlock()
	}
	mu.Lock()
	res := shared.copy()
	mu.Unlock()
	res.Seconds = time.Since(start).Seconds()
	res.judge()
	return res
}

func (r *Result) set(step string, s Step) {
	switch step {
	case "load":
		r.Load = s
	case "run":
		r.Run = s
	case "train":
		r.Train = s
	case "export":
		r.Export = s
	}
}

// copy detaches a result from the goroutine still writing into it.
func (r *Result) copy() Result {
	c := *r
	c.Losses = slices.Clone(r.Losses)
	c.Unsupported = slices.Clone(r.Unsupported)
	return c
}

func check(res *Result, opts Options, at func(string), mu *sync.Mutex) {
	set := func(step string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.set(step, Step{Status: Fail, Error: oneLine(err), err: err})
		} else {
			res.set(step, Step{Status: OK})
		}
	}
	res.Run, res.Train, res.Export = Step{Status: Skipped}, Step{Status: Skipped}, Step{Status: Skipped}

	at("load")
	m, err := importer.Load(res.Path)
	if err != nil {
		set("load", err)
		return
	}
	mu.Lock()
	res.describe(m)
	mu.Unlock()
	set("load", nil)

	at("run")
	ins, ref, refErr, err := runStep(res, m, mu)
	set("run", err)
	if err == nil && res.Reference == "" {
		mu.Lock()
		res.Run = Step{Status: NA, Error: "n/a: no reference: " + oneLine(refErr)}
		mu.Unlock()
	}

	at("train")
	var trained *graph.Model
	if res.Params == 0 && (res.Weights == 0 || res.InitWeights == 0) {
		// Nothing PyTorch would train (a module without parameters, or
		// float tensors only in Constant nodes, which PyTorch's exporters
		// write for tensors that are not parameters): the untrained model
		// goes on to the export step.
		why := "n/a: the model holds no weights (no float tensor of 2 or more elements)"
		if res.Weights > 0 {
			why = "n/a: no parameters: its float tensors are Constant nodes, which PyTorch's exporter writes for tensors that are not parameters"
		}
		mu.Lock()
		res.Train = Step{Status: NA, Error: why}
		mu.Unlock()
		trained = m
	} else {
		trained, err = trainStep(res, mu)
		if err != nil {
			set("train", err)
			return
		}
		set("train", nil)
	}

	if ins == nil {
		return // no inputs to run the result on
	}
	at("export")
	err = exportStep(trained, ins, ref, opts)
	if err != nil && refErr != nil {
		mu.Lock()
		res.Export = Step{Status: NA, Error: "n/a: ONNX Runtime cannot run the original file either: " + oneLine(err)}
		mu.Unlock()
		return
	}
	set("export", err)
}

func (r *Result) describe(m *graph.Model) {
	r.Producer = strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion)
	r.IR = m.IRVersion
	var sets []string
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		if d == "ai.onnx" && r.Opset == 0 {
			r.Opset = o.Version
		}
		sets = append(sets, fmt.Sprintf("%s=%d", d, o.Version))
	}
	r.Opsets = strings.Join(sets, ",")
	kinds := make(map[string]bool)
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, n := range g.Nodes {
			r.Nodes++
			kinds[n.QualifiedOp()] = true
			for _, a := range n.Attrs {
				if a.G != nil {
					walk(a.G)
				}
				for _, sg := range a.Graphs {
					walk(sg)
				}
			}
		}
	}
	walk(m.Graph)
	r.Ops = len(kinds)
	for _, p := range m.Params {
		// A quantized weight (int8 read by DequantizeLinear) trains as
		// its float master copy.
		if p.Role.Trainable() {
			r.Params++
		}
	}
	weight := func(t *graph.Tensor) bool { return t != nil && t.DType.IsFloat() && t.Len() >= 2 }
	for _, t := range m.Graph.Initializers {
		if weight(t) {
			r.Weights++
			r.InitWeights++
		}
	}
	for _, n := range m.Graph.Nodes {
		if a := n.Attr("value"); n.OpType == "Constant" && a != nil && weight(a.T) {
			r.Weights++
		}
	}
}

// runStep runs the inference model on generated inputs in the engine and
// in ONNX Runtime (the original file) and compares every output. Where
// ONNX Runtime cannot run the file (it implements no opset below 7) and
// PyTorch's own test data lies beside it (NAME.input_0.pb,
// NAME.output_0.pb, ...), the inputs and outputs come from there. It
// returns the inputs and reference outputs for the export step, and
// ONNX Runtime's error on the original.
func runStep(res *Result, m *graph.Model, mu *sync.Mutex) (ins []input, ref []ort.Tensor, refErr, err error) {
	ins, err = planInputs(m, RunBatch, false)
	if err != nil {
		return nil, nil, nil, err
	}
	reference := "ONNX Runtime"
	ref, refErr = ort.RunFile(res.Path, ortTensors(ins), 1)
	if refErr != nil {
		if tin, tout, ok, err := testData(res.Path, ops.InputNames(m)); err != nil {
			return ins, nil, refErr, err
		} else if ok {
			ins, ref, reference = tin, tout, "PyTorch test data"
		}
	}
	inf, err := importer.Load(res.Path)
	if err != nil {
		return ins, nil, refErr, err
	}
	if _, err := remap.ToInference(inf); err != nil {
		return ins, nil, refErr, err
	}
	r, err := ops.NewRunner(inf, ops.Options{})
	if err != nil {
		return ins, nil, refErr, err
	}
	defer r.Close()
	outs, err := r.Run(denseMap(ins))
	if err != nil {
		return ins, nil, refErr, err
	}
	if ref == nil {
		return ins, nil, refErr, nil // n/a: nothing to compare with
	}
	if len(outs) != len(ref) {
		return ins, ref, refErr, fmt.Errorf("%d outputs, the reference (%s) has %d", len(outs), reference, len(ref))
	}
	worst, at := 0.0, ""
	for i, o := range outs {
		if !sameDims(ops.Shape(o), ref[i].Shape) {
			return ins, ref, refErr, fmt.Errorf("output %q has shape %v, %s gives %v", ref[i].Name, ops.Shape(o), reference, ref[i].Shape)
		}
		got, ok1 := floats(o.Data())
		want, ok2 := floats(ref[i].Data)
		if !ok1 || !ok2 {
			return ins, ref, refErr, fmt.Errorf("output %q: cannot compare %T with %T", ref[i].Name, o.Data(), ref[i].Data)
		}
		if d := relDiff(got, want); d > worst || at == "" {
			worst, at = d, ref[i].Name
		}
	}
	mu.Lock()
	res.RelDiff, res.Reference = worst, reference
	mu.Unlock()
	if !(worst <= Tolerance) {
		return ins, ref, refErr, fmt.Errorf("output %q differs from %s's by %.3g (relative to its largest magnitude; tolerance %g)", at, reference, worst, Tolerance)
	}
	return ins, ref, refErr, nil
}

// testData reads PyTorch's test data beside a model file: inputs by
// position onto the graph inputs, and the expected outputs.
func testData(path string, names []string) (ins []input, outs []ort.Tensor, ok bool, err error) {
	base := strings.TrimSuffix(path, ".onnx")
	for i := 0; ; i++ {
		t, found, err := readTensor(fmt.Sprintf("%s.input_%d.pb", base, i))
		if err != nil {
			return nil, nil, false, err
		}
		if !found {
			break
		}
		if i >= len(names) {
			return nil, nil, false, fmt.Errorf("test data: more inputs than the model's %d", len(names))
		}
		d, err := ops.TensorFromIR(t)
		if err != nil {
			return nil, nil, false, fmt.Errorf("test data input %d: %w", i, err)
		}
		ins = append(ins, input{Name: names[i], DType: t.DType, Shape: ops.Shape(d), Data: d.Data()})
	}
	for i := 0; ; i++ {
		t, found, err := readTensor(fmt.Sprintf("%s.output_%d.pb", base, i))
		if err != nil {
			return nil, nil, false, err
		}
		if !found {
			break
		}
		d, err := ops.TensorFromIR(t)
		if err != nil {
			return nil, nil, false, fmt.Errorf("test data output %d: %w", i, err)
		}
		shape := make([]int64, len(t.Dims))
		copy(shape, t.Dims)
		outs = append(outs, ort.Tensor{Name: t.Name, Shape: shape, Data: d.Data()})
	}
	if len(ins) == 0 || len(outs) == 0 || len(ins) != len(names) {
		return nil, nil, false, nil
	}
	return ins, outs, true, nil
}

func readTensor(path string) (*graph.Tensor, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	t, err := importer.DecodeTensor(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return t, true, nil
}

func sameDims(a []int, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int64(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// trainStep trains a fresh copy of the file as a user would with
// `onnxtune train` (untie, one parameter group, SGD): TrainSteps steps at lr
// TrainLR on batches of TrainBatch generated examples that feed every graph
// input by name; when that is refused for the input shapes (ops.ErrShape: a
// batch fixed at export), it makes the batch symbolic as `onnxtune convert
// --dynamic-batch` does (remap.DynamicBatch) and trains again. A classifier
// (first output declared [N, C], C >= 2) takes cross-entropy against labels
// i mod C; any other float output takes MSE against zeros.
func trainStep(res *Result, mu *sync.Mutex) (*graph.Model, error) {
	m, err := trainOnce(res, mu, false)
	if err != nil && errors.Is(err, ops.ErrShape) {
		// As a user told "the model wants [1, ...]" would: convert
		// --dynamic-batch, then train again.
		m, err = trainOnce(res, mu, true)
	}
	return m, err
}

func trainOnce(res *Result, mu *sync.Mutex, dynamic bool) (*graph.Model, error) {
	m, err := importer.Load(res.Path)
	if err != nil {
		return nil, err
	}
	if dynamic {
		rep, err := remap.DynamicBatch(m, remap.BatchOptions{})
		if err != nil {
			return nil, fmt.Errorf("after training at batch %d was refused, convert --dynamic-batch: %w", TrainBatch, err)
		}
		mu.Lock()
		res.Rewritten = fmt.Sprintf("batch %d made symbolic (inputs %s; %d nodes rewritten)", rep.Batch, strings.Join(rep.Inputs, ", "), len(rep.Rewrites))
		mu.Unlock()
	}
	batches, loss, err := trainingData(m)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	res.Loss = string(loss)
	mu.Unlock()
	// As train.Run: untie first, so the groups see the table training uses.
	if err := train.Prepare(m); err != nil {
		return nil, err
	}
	groups, err := train.Assign(m.Params, nil, train.Hyper{LR: TrainLR}, nil)
	if err != nil {
		return nil, err
	}
	trained := 0
	for _, g := range groups.Groups {
		trained += len(g.Params)
	}
	opt, err := train.NewOptimizer(train.SGD)
	if err != nil {
		return nil, err
	}
	tr, err := train.NewTrainer(m, loss, opt, groups)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	tr.Seed = 1
	var losses []float64
	for i, b := range batches {
		sr, err := tr.StepBatch(b, 1)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		losses = append(losses, sr.Loss)
	}
	if err := tr.Sync(); err != nil {
		return nil, err
	}
	mu.Lock()
	res.Trained, res.Losses = trained, losses
	mu.Unlock()
	return m, nil
}

// classes is the class count of a classifier's first output, declared
// [N, C], or 0.
func classes(m *graph.Model) int {
	if len(m.Graph.Outputs) == 0 {
		return 0
	}
	_, dims, ok := m.Graph.Outputs[0].TensorShape()
	if !ok || len(dims) != 2 || !dims[1].HasValue || dims[1].Value < 2 || dims[1].Value > 1<<31 {
		return 0
	}
	return int(dims[1].Value)
}

// trainingData makes TrainSteps batches for the model's inputs and chooses
// the loss.
func trainingData(m *graph.Model) ([]data.Batch, train.Loss, error) {
	if len(m.Graph.Outputs) == 0 {
		return nil, "", errors.New("the model has no output")
	}
	outDT, _, _ := m.Graph.Outputs[0].TensorShape()
	if outDT != graph.Undefined && !outDT.IsFloat() {
		return nil, "", fmt.Errorf("not trained: the first output %q is %s, no loss applies", m.Graph.Outputs[0].Name, outDT)
	}
	loss, c := train.MSE, classes(m)
	if c > 0 {
		loss = train.CrossEntropy
	}
	var bs []data.Batch
	var shape []int
	for k := range TrainSteps {
		ins, err := planInputs(m, TrainBatch, true)
		if err != nil {
			return nil, "", err
		}
		// A different batch each step.
		if k > 0 {
			d, err := generate(ins[0].Name, ins[0].DType, ins[0].Shape, uint64(100+k))
			if err != nil {
				return nil, "", err
			}
			ins[0].Data = d
		}
		b := data.Batch{Inputs: denseMap(ins), N: TrainBatch, Indices: []int{0, 1, 2, 3}}
		if loss == train.CrossEntropy {
			b.Labels = make([]int64, TrainBatch)
			for i := range b.Labels {
				b.Labels[i] = int64(i % c)
			}
		} else {
			if shape == nil {
				shape = targetShape(m, ins)
			}
			b.Targets = ops.Dense(shape, make([]float32, elems(shape)))
		}
		bs = append(bs, b)
	}
	return bs, loss, nil
}

// targetShape is the shape of the first output at the training batch: what
// the engine computes in inference mode (after remap.DynamicBatch when the
// inputs fix another batch: m is rewritten, as the trainer would), or else
// the declared shape with the batch and 1 for symbolic dimensions.
func targetShape(m *graph.Model, ins []input) []int {
	for try := 0; try < 2; try++ {
		if r, err := ops.NewRunner(m, ops.Options{}); err == nil {
			outs, err := r.Run(denseMap(ins))
			r.Close()
			if err == nil && len(outs) > 0 {
				return ops.Shape(outs[0])
			}
		}
		// A batch fixed at export: freed as the trainer will free it
		// (train.Trainer's anyBatch), so that the output's batch axis
		// is the one the trained model has (a sequence-first output
		// holds it on axis 1).
		if try > 0 || remap.FixedBatch(m) == 0 {
			break
		}
		if _, err := remap.DynamicBatch(m, remap.BatchOptions{}); err != nil {
			break
		}
	}
	_, dims, _ := m.Graph.Outputs[0].TensorShape()
	shape := make([]int, len(dims))
	for i, d := range dims {
		switch {
		case i == 0:
			shape[i] = TrainBatch // the trainer frees a fixed batch
		case d.HasValue:
			shape[i] = int(d.Value)
		default:
			shape[i] = 1
		}
	}
	return shape
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// exportStep writes the trained model in its inference form, as `onnxtune
// train -o` does, and has ONNX Runtime run it on the run step's inputs: it
// must run, give outputs of the original's shapes, and finite floats.
func exportStep(m *graph.Model, ins []input, ref []ort.Tensor, opts Options) error {
	if ins == nil {
		return errors.New("no inputs could be generated")
	}
	if _, err := remap.ToInference(m); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(opts.TempDir, "compat-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "trained.onnx")
	if err := export.WriteFile(path, m); err != nil {
		return err
	}
	outs, err := ort.RunFile(path, ortTensors(ins), 1)
	if err != nil {
		return fmt.Errorf("ONNX Runtime: %w", err)
	}
	for i, o := range outs {
		if ref != nil && i < len(ref) && !slices.Equal(o.Shape, ref[i].Shape) {
			return fmt.Errorf("ONNX Runtime: output %q of the trained model has shape %v, the original's %v", o.Name, o.Shape, ref[i].Shape)
		}
		if v, ok := floats(o.Data); ok {
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return fmt.Errorf("ONNX Runtime: output %q of the trained model is not finite", o.Name)
				}
			}
		}
	}
	return nil
}

// judge sets Verdict, FirstError, Category and Unsupported.
func (r *Result) judge() {
	steps := []struct {
		name string
		s    Step
	}{{"load", r.Load}, {"run", r.Run}, {"train", r.Train}, {"ort-runs-result", r.Export}}
	for _, st := range steps {
		var ue *ops.UnsupportedError
		if st.s.err != nil && errors.As(st.s.err, &ue) && r.Unsupported == nil {
			for op := range ue.Ops {
				r.Unsupported = append(r.Unsupported, op)
			}
			slices.Sort(r.Unsupported)
		}
	}
	r.Verdict = "pass"
	for _, st := range steps {
		if st.s.passed() {
			continue
		}
		r.FirstError = st.name + ": " + st.s.Error
		if st.s.Error == "" {
			r.FirstError = st.name + ": " + st.s.Status
		}
		r.Category = categorize(st.s)
		var ue *ops.UnsupportedError
		if st.s.err != nil && errors.As(st.s.err, &ue) {
			r.Verdict = "unsupported"
		} else {
			r.Verdict = "fail"
		}
		return
	}
}

// categorize names the kind of a failure, for the summary.
func categorize(s Step) string {
	var ue *ops.UnsupportedError
	msg := s.Error
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(msg, p) {
				return true
			}
		}
		return false
	}
	switch {
	case s.err != nil && errors.As(s.err, &ue):
		for op := range ue.Ops {
			if strings.HasPrefix(op, "pkg.") {
				return "local functions (unsupported op named)"
			}
		}
		return "unsupported op (named)"
	case has("no trainable parameter", "empty parameter list"):
		return "weights that are not parameters"
	case has("the model wants [", "compiled for ["):
		return "fixed batch"
	case has("give them by name", "no shape given for graph input", "no value for input"):
		return "several inputs"
	case has("float16", "bfloat16"):
		return "float16 / bfloat16 input"
	case has("differs from"):
		return "output differs from the reference"
	case has("no loss applies"):
		return "no float output to train"
	case has("must be known when the model is compiled"):
		return "shape known only at run time"
	case has("timed out"):
		return "timeout"
	case has("panic"):
		return "panic"
	case strings.HasPrefix(msg, "node "):
		return "engine error at a node"
	}
	return "other"
}

// oneLine is the error's first line, at most 300 characters.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}
