package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train/data"
)

// ErrNonFinite reports a NaN or infinite loss.
var ErrNonFinite = errors.New("loss is not finite")

// Trainer trains a model's parameters: weights live in one set of tensors
// shared by the programs compiled for each batch size, not in the model's
// initializers, which keep the values they had until Sync writes the trained
// ones back (Run does). Call Sync before exporting the model or reading its
// initializers; Values reads the trained values.
//
// A Trainer is not safe for concurrent use: a step updates the weights,
// the optimizer's state and the random stream in place, and its programs
// reuse their buffers. Trainers of separate models share nothing and may
// step in separate goroutines at once.
type Trainer struct {
	Model     *graph.Model
	Loss      Loss
	Smoothing float64 // cross-entropy label smoothing
	Opt       Optimizer
	Groups    *Assignment
	Seed      int64
	MaxBytes  int64 // ops.Options.MaxBytes of the compiled programs
	// Log, when set, hears of what the trainer does by itself: rewriting
	// a model exported at a fixed batch to run at the batch it is given.
	Log logrus.FieldLogger
	// Momentum, when not 0, replaces every group's momentum (SGD) or beta1
	// (Adam, AdamW) in the steps that follow, as OneCycleLR cycles them
	// (Schedule.Momentum gives the value of each step).
	Momentum float64
	// ClipGrad, ClassWeights and FreezeBN are StepOptions' (step.go).
	// A change of Loss, Smoothing, ClassWeights, FreezeBN or MaxBytes
	// takes effect at the next batch: the programs are compiled again.
	ClipGrad     float64
	ClassWeights []float64
	FreezeBN     bool
	// GCPercent is the Go collector's GOGC while a step runs forward and
	// backward, when lower than the process's own: 0 means
	// DefaultGCPercent, a negative value leaves the collector as it is.
	GCPercent int

	acc        accumulated // gradients for the next Apply (step.go)
	ownBuffers bool        // no ops.ShareBuffers (tests compare against it)

	inputs  []string                 // the graph inputs a batch feeds, in order
	weights map[string]*tensor.Dense // initializer name -> values (params and buffers)
	byName  map[string]*graph.Param  // PyTorch name -> param
	tensors []namedTensor            // float32 params and buffers by PyTorch name, in m.Params order
	progs   map[string]*stepProgram  // by input shapes
	// compiledWith is compileKey when progs were compiled: a change of
	// those settings compiles them again.
	compiledWith string
	seq          int64
	pcg          *randv2.PCG // Dropout's stream, shared by the programs; seeded from Seed on first use
	rng          *rand.Rand
}

// pcgSource is math/rand's Source (what the engine's Dropout draws from)
// over math/rand/v2's PCG, whose state is two words a checkpoint can hold.
type pcgSource struct{ *randv2.PCG }

const pcgStream = 0x6f6e6e7874756e65 // "onnxtune"

func (s pcgSource) Int63() int64    { return int64(s.Uint64() >> 1) }
func (s pcgSource) Seed(seed int64) { s.PCG.Seed(uint64(seed), pcgStream) }

// random returns the trainer's random stream, seeding it from Seed the
// first time.
func (t *Trainer) random() *rand.Rand {
	if t.rng == nil {
		t.pcg = randv2.NewPCG(uint64(t.Seed), pcgStream)
		t.rng = rand.New(pcgSource{t.pcg})
	}
	return t.rng
}

// randState returns the state of the random stream.
func (t *Trainer) randState() ([]byte, error) {
	t.random()
	return t.pcg.MarshalBinary()
}

// setRandState restores a state randState returned.
func (t *Trainer) setRandState(b []byte) error {
	t.random()
	return t.pcg.UnmarshalBinary(b)
}

// namedTensor is a parameter's or buffer's values under its PyTorch name.
type namedTensor struct {
	name string
	t    *tensor.Dense
	view *graph.ParamView // part of t (a recurrent op's weights), or nil: all of t
}

type stepProgram struct {
	p       *ops.Program
	target  *G.Node
	loss    *G.Node
	logits  *G.Node
	grads   map[string]*G.Node // PyTorch name -> gradient
	updates []ops.Update
	vm      G.VM
	shared  int64 // bytes ops.ShareBuffers saved
}

// Prepare makes m's parameter table the one training uses, as PyTorch
// holds the parameters: a quantized model's integer weights get float
// master copies (remap.QuantMasters, as PyTorch's QAT trains them),
// weights torch.onnx.dynamo_export folded into
// Constants of a function body are read from their inputs again
// (remap.UnfoldFunctionWeights), constants folded from a parameter
// broadcast are computed from it again (remap.RefoldConstants: nn.RNN's
// first step), those a dynamo export keeps in Constant nodes
// become initializers (remap.LiftConstants), tensors the exporter shares
// between parameters get one each (remap.Untie; it also drops
// initializers nothing reads), and zero biases the exporter's optimizer
// removed come back (remap.RestoreBiases). Run and NewTrainer call it;
// call it before Assign when building a Trainer by hand. A second call
// changes nothing.
func Prepare(m *graph.Model) error {
	if err := checkArgs(m, nil, false); err != nil {
		return err
	}
	if _, err := remap.QuantMasters(m); err != nil {
		return err
	}
	if _, err := remap.UnfoldFunctionWeights(m); err != nil {
		return err
	}
	if _, err := remap.LiftConstants(m); err != nil {
		return err
	}
	if _, err := remap.RefoldConstants(m); err != nil {
		return err
	}
	if _, err := remap.Untie(m); err != nil {
		return err
	}
	_, err := remap.RestoreBiases(m)
	return err
}

// checkArgs refuses a nil model (or one without a graph), and a nil source
// where one is needed (need).
func checkArgs(m *graph.Model, src Source, need bool) error {
	if m == nil || m.Graph == nil {
		return errors.New("no model (nil, or without a graph)")
	}
	if need && src == nil {
		return errors.New("no data source (nil)")
	}
	return nil
}

// NewTrainer prepares m for training: tied tensors are untied (fine-tuning
// changes them apart) and every float parameter and buffer gets the tensor
// the compiled programs share. Each group's settings are completed with
// the defaults its zeros stand for under opt (Adam's betas and eps), after
// checking them as Config.Validate does (a *SettingError). An Assignment
// built by hand is checked as torch.optim checks param groups: no nil
// group, no parameter in two groups (or twice in one), none both frozen
// and in a group. The exported fields are checked at every step, as
// Config.Validate checks Run's settings.
func NewTrainer(m *graph.Model, loss Loss, opt Optimizer, groups *Assignment) (*Trainer, error) {
	if groups == nil || opt == nil {
		return nil, errors.New("training needs an optimizer and parameter groups")
	}
	if err := Prepare(m); err != nil {
		return nil, err
	}
	if err := ops.NewRegistry().CheckModel(m); err != nil {
		return nil, err
	}
	names := ops.InputNames(m)
	if len(names) == 0 {
		return nil, errors.New("the model has no input to feed")
	}
	if len(m.Graph.Outputs) == 0 {
		return nil, errors.New("the model has no output to train")
	}
	t := &Trainer{Model: m, Loss: loss, Opt: opt, Groups: groups, inputs: names,
		weights: make(map[string]*tensor.Dense), byName: make(map[string]*graph.Param), progs: make(map[string]*stepProgram)}
	for _, p := range m.Params {
		t.byName[p.Name] = p
		init := m.Graph.Initializer(p.Initializer)
		if init == nil || !init.DType.IsFloat() {
			continue
		}
		if init.DType != graph.Float32 && init.DType != graph.Float64 && init.DType != graph.Float16 && init.DType != graph.BFloat16 {
			return nil, fmt.Errorf("parameter %q is %s; training needs float32, float64, float16 or bfloat16", p.Name, init.DType)
		}
		d, ok := t.weights[init.Name]
		if !ok {
			var err error
			if d, err = ops.TensorFromIR(init); err != nil {
				return nil, fmt.Errorf("parameter %q: %w", p.Name, err)
			}
			t.weights[init.Name] = d
		}
		if p.View != nil && !p.View.Fits(int64(d.Size())) {
			return nil, fmt.Errorf("parameter %q: its view does not fit initializer %q", p.Name, init.Name)
		}
		t.tensors = append(t.tensors, namedTensor{p.Name, d, p.View})
	}
	if err := groups.index(); err != nil {
		return nil, err
	}
	for _, g := range groups.Groups {
		if err := g.Hyper.check(opt.Algorithm()); err != nil {
			if g.Name != "default" {
				err.Group = g.Name
			}
			return nil, err
		}
		g.Hyper = g.Hyper.resolve(opt.Algorithm())
		for _, name := range g.Params {
			p := t.byName[name]
			if p == nil {
				return nil, fmt.Errorf("parameter %q of group %q is not in the model's parameter table", name, g.Name)
			}
			if _, ok := t.weights[p.Initializer]; !ok {
				return nil, fmt.Errorf("parameter %q of group %q has no float32 initializer", name, g.Name)
			}
		}
	}
	return t, nil
}

// Values returns the current float32 values of a parameter or buffer by
// PyTorch name (shared: do not keep it across steps). A parameter that is
// part of its initializer (graph.Param.View: an LSTM's weight_ih_l0 in
// its W) comes as a copy, in PyTorch's layout.
func (t *Trainer) Values(name string) ([]float32, bool) {
	p := t.byName[name]
	if p == nil {
		return nil, false
	}
	w, ok := t.weights[p.Initializer]
	if !ok {
		return nil, false
	}
	v, _, err := floats(w)
	if err == nil && p.View != nil {
		return viewOf(p.View, v), true
	}
	return v, err == nil
}

// anyBatch rewrites a model whose inputs fix a batch other than the one
// shapes give so that it runs at any batch (remap.DynamicBatch, proved),
// once, and says so on Log.
func (t *Trainer) anyBatch(shapes map[string][]int) error {
	fixed := remap.FixedBatch(t.Model)
	if fixed == 0 {
		return nil
	}
	n := fixed
	for _, name := range t.inputs {
		a := remap.BatchAxis(t.Model, name)
		if s := shapes[name]; len(s) > a && int64(s[a]) != fixed {
			n = int64(s[a])
		}
	}
	if n == fixed {
		return nil
	}
	rep, err := remap.DynamicBatch(t.Model, remap.BatchOptions{MaxBytes: t.MaxBytes})
	if err != nil {
		return fmt.Errorf("the model's inputs fix the batch at %d, the batch has %d examples: %w", fixed, n, err)
	}
	if t.Log != nil {
		t.Log.Infof("the model was exported at batch %d: rewritten to run at any batch (%d constants; proved at batches %v)", rep.Batch, len(rep.Rewrites), rep.ProvedAt)
	}
	return nil
}

// program returns the step program for inputs of the given shapes (by
// graph input name) and n examples, key their description, compiling it
// the first time.
func (t *Trainer) program(shapes map[string][]int, key string, n int) (*stepProgram, error) {
	if k := t.compileKey(); k != t.compiledWith {
		t.Close()
		t.compiledWith = k
	}
	if sp, ok := t.progs[key]; ok {
		return sp, nil
	}
	if err := t.anyBatch(shapes); err != nil {
		return nil, err
	}
	evalBN, err := t.frozenBatchNorms()
	if err != nil {
		return nil, err
	}
	p, err := ops.Compile(t.Model, shapes, ops.Options{Train: true, EvalBatchNorm: evalBN, Rand: t.random(), Params: t.weights, MaxBytes: t.MaxBytes})
	if err != nil {
		return nil, err
	}
	sp := &stepProgram{p: p, grads: make(map[string]*G.Node), updates: p.Updates}
	out := p.Outputs[0]
	if !p.FromInputs(out) {
		return nil, fmt.Errorf("the model's first output %q does not depend on its inputs", p.Names[0])
	}
	sp.logits = out.Node
	switch t.Loss {
	case CrossEntropy, "":
		sp.target = G.NewTensor(p.Graph, tensor.Int64, 1, G.WithName("labels"), G.WithShape(n))
		sp.loss, err = crossEntropyNode(p.Graph, out.Node, sp.target, t.Smoothing, t.ClassWeights)
	case MSE:
		sp.target = G.NewTensor(p.Graph, tensor.Float32, out.Rank(), G.WithName("targets"), G.WithShape(out.Shape...))
		sp.loss, err = mseNode(p.Graph, out.Node, sp.target)
	default:
		err = fmt.Errorf("unknown loss %q: want cross-entropy or mse", t.Loss)
	}
	if err != nil {
		return nil, err
	}
	var wrt G.Nodes
	var names []string
	at := make(map[*G.Node]int) // views of one tensor share its gradient
	for _, g := range t.Groups.Groups {
		for _, name := range g.Params {
			node := p.Params[t.byName[name].Initializer]
			if node == nil {
				return nil, fmt.Errorf("parameter %q is not in the compiled graph", name)
			}
			if _, ok := at[node]; !ok {
				at[node] = len(wrt)
				wrt = append(wrt, node)
			}
			names = append(names, name)
		}
	}
	// A parameter the loss does not reach (one only another output reads)
	// gets no gradient, and Step leaves it as it is, as PyTorch's
	// optimizers skip a parameter whose .grad is None.
	grads, err := ops.Grad(sp.loss, wrt)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		sp.grads[name] = grads[at[p.Params[t.byName[name].Initializer]]]
	}
	// Run only what the step reads: the loss, the logits, the parameters'
	// gradients and the running statistics. Gradients that nothing reads
	// (the input image's, a frozen layer's) are left out of the machine.
	roots := G.Nodes{sp.loss, sp.logits}
	for _, name := range names {
		if g := sp.grads[name]; g != nil {
			roots = append(roots, g)
		}
	}
	for _, u := range sp.updates {
		roots = append(roots, u.Node)
	}
	// Kernels whose values are dead by then compute into the buffers of
	// earlier values (ops.ShareBuffers): fewer bytes held through a step.
	sub := p.Graph.ExactSubgraphRoots(roots...)
	if !t.ownBuffers {
		if sp.shared, err = ops.ShareBuffers(sub, roots); err != nil {
			return nil, err
		}
	}
	sp.vm = G.NewTapeMachine(sub)
	t.progs[key] = sp
	return sp, nil
}

// StepResult is what one optimizer step saw.
type StepResult struct {
	Loss    float64
	Correct int // examples whose largest score is at the label (cross-entropy)
	N       int
	LR      []float64 // the learning rate of each group, as in Assignment.Groups
}

// Step runs StepBatch on a batch of a model of one input: x feeds that
// input, labels are class indices (cross-entropy), targets float targets
// (mse).
func (t *Trainer) Step(x *tensor.Dense, labels []int64, targets *tensor.Dense, factor float64) (StepResult, error) {
	if t.weights == nil {
		return StepResult{}, errNotMade
	}
	if len(t.inputs) != 1 {
		return StepResult{}, fmt.Errorf("the model takes %d inputs (%s): give them by name to StepBatch", len(t.inputs), strings.Join(t.inputs, ", "))
	}
	if x == nil || x.IsScalar() {
		return StepResult{}, fmt.Errorf("input %q: want a batch of examples along the first axis", t.inputs[0])
	}
	return t.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{t.inputs[0]: x}, Labels: labels, Targets: targets, N: ops.Shape(x)[0]}, factor)
}

// StepBatch runs forward and backward on one batch and updates every
// trainable parameter with its group's settings, the learning rate scaled
// by factor (the schedule): Accumulate then Apply, without copying the
// gradients. b.Inputs feeds every graph input of the model
// by name (nothing else; a model of one input also takes it as x);
// b.Labels are class indices (cross-entropy),
// b.Targets float targets (mse). A program is compiled for each set of
// input shapes the first time it comes. Gradients accumulated before
// (Accumulate) are added to this batch's. A factor Apply refuses is refused
// before the batch runs.
func (t *Trainer) StepBatch(b data.Batch, factor float64) (res StepResult, err error) {
	if err := checkFactor(factor); err != nil {
		t.acc.clear()
		return res, err
	}
	if err := t.settings(); err != nil {
		t.acc.clear()
		return res, err
	}
	if res, err = t.backward(b, 1, len(t.acc.grads) > 0); err != nil {
		t.acc.clear()
		return res, err
	}
	defer t.acc.clear()
	res.LR, err = t.apply(factor)
	return res, err
}

// backward runs forward and backward on b, updates the running
// statistics, and adds scale times the gradients to t.acc: copied when
// own, else (nothing accumulated, scale 1) held as the program's own
// values until Apply.
func (t *Trainer) backward(b data.Batch, scale float64, own bool) (res StepResult, err error) {
	inputs, shapes, key, err := t.shapes(b.Inputs)
	if err != nil {
		return res, err
	}
	n := b.N
	if n == 0 { // not said: the first axis of the first input that has one
		for _, name := range t.inputs {
			if s := shapes[name]; len(s) > 0 {
				n = s[0]
				break
			}
		}
	}
	if n <= 0 {
		return res, errors.New("the batch has no examples")
	}
	sp, err := t.program(shapes, fmt.Sprintf("%s%d", key, n), n)
	if err != nil {
		return res, err
	}
	// Cross-entropy's scores are [N, classes]; mse compares the whole
	// output with the targets (below), whatever axis holds the examples.
	if s := ops.ShapeOf(sp.logits); t.Loss != MSE && len(s) > 0 && s[0] != n {
		return res, fmt.Errorf("the batch has %d examples (N), the model's output %q has %d for these inputs", n, sp.p.Names[0], s[0])
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("training step: %v", r)
		}
	}()
	for _, name := range t.inputs {
		if err := let(sp.p.Inputs[name], inputs[name]); err != nil {
			return res, fmt.Errorf("input %q: %w", name, err)
		}
	}
	labels, targets := b.Labels, b.Targets
	switch t.Loss {
	case MSE:
		switch {
		case targets == nil && labels != nil:
			return res, errors.New("the examples have class labels y; mse needs float targets y (or use --loss cross-entropy)")
		case targets == nil:
			return res, errors.New("mse needs float targets")
		}
		if want, got := ops.ShapeOf(sp.logits), ops.Shape(targets); !slices.Equal(got, want) {
			return res, fmt.Errorf("targets have shape %v, the model's output %q has %v", got, sp.p.Names[0], want)
		}
		if targets.Dtype() != tensor.Float32 {
			return res, fmt.Errorf("targets are %v, mse needs float32", targets.Dtype())
		}
		err = G.Let(sp.target, targets)
	default:
		if labels == nil && targets != nil {
			return res, errors.New("the examples have float targets y; cross-entropy needs integer class indices y (or use --loss mse)")
		}
		if len(labels) != n {
			return res, fmt.Errorf("%d labels for %d examples", len(labels), n)
		}
		if s := ops.ShapeOf(sp.logits); len(s) == 2 {
			if err := data.CheckLabels(labels, nil, s[1]); err != nil {
				return res, err
			}
		}
		err = G.Let(sp.target, ops.Dense([]int{n}, labels))
	}
	if err != nil {
		return res, err
	}
	defer sp.vm.Reset()
	defer lowerGC(t.gcPercent())()
	if err := ops.RunAll(sp.vm); err != nil {
		return res, err
	}
	lv, err := scalar(sp.loss.Value())
	if err != nil {
		return res, err
	}
	res.Loss, res.N = lv, n
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return res, ErrNonFinite
	}
	if labels != nil {
		z, err := valueData(sp.logits.Value())
		if err != nil {
			return res, err
		}
		if _, res.Correct, err = ScoreLogits(z, labels); err != nil {
			return res, err
		}
	}
	// Running statistics first: their update nodes read the old values.
	for _, u := range sp.updates {
		nv, err := valueData(u.Node.Value())
		if err != nil {
			return res, err
		}
		w, ok := t.weights[u.Initializer]
		if !ok {
			return res, fmt.Errorf("running statistic %q is not a parameter initializer", u.Initializer)
		}
		d, _ := ops.Data[float32](w)
		copy(d, nv)
	}
	return res, t.gather(sp, scale, own)
}

// Sync writes the trained values back into the model's initializers.
func (t *Trainer) Sync() error {
	if err := t.made(); err != nil {
		return err
	}
	for _, init := range t.Model.Graph.Initializers {
		w, ok := t.weights[init.Name]
		if !ok {
			continue
		}
		if d, err := ops.Data[float64](w); err == nil && init.DType == graph.Float64 {
			// A float64 parameter keeps its type, values as trained.
			if err := setRaw(init, len(d), graph.Encode(d)); err != nil {
				return err
			}
			continue
		}
		v, _, err := floats(w)
		if err != nil {
			return err
		}
		if err := setFloats(init, v); err != nil {
			return err
		}
	}
	return nil
}

// setFloats writes float32 values into an initializer in its own element
// type: a float16 or bfloat16 parameter's float32 master copy is rounded to
// nearest, ties to even (graph's codec), so the file keeps its types.
func setFloats(init *graph.Tensor, v []float32) error {
	if init.DType != graph.Float16 && init.DType != graph.BFloat16 {
		return init.SetFloat32s(v)
	}
	raw, err := graph.EncodeFloat32sAs(init.DType, v)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", init.Name, err)
	}
	return setRaw(init, len(v), raw)
}

func setRaw(init *graph.Tensor, n int, raw []byte) error {
	if int64(n) != init.Len() {
		return fmt.Errorf("tensor %q: %d values for dims %v", init.Name, n, init.Dims)
	}
	init.Raw = raw
	return nil
}

// compileKey says what of the exported settings the programs are compiled
// with: the loss node's and the BatchNorm modes'.
func (t *Trainer) compileKey() string {
	return fmt.Sprintf("%s|%v|%v|%v|%d", t.Loss, t.Smoothing, t.ClassWeights, t.FreezeBN, t.MaxBytes)
}

// Close releases the compiled programs.
func (t *Trainer) Close() {
	for _, sp := range t.progs {
		sp.vm.Close()
		sp.p.Close()
	}
	t.progs = map[string]*stepProgram{}
}

// shapes checks that inputs feed exactly the model's inputs and returns
// the tensor for each and its shape, and a key that tells sets of shapes
// apart.
func (t *Trainer) shapes(inputs map[string]*tensor.Dense) (map[string]*tensor.Dense, map[string][]int, string, error) {
	if x, ok := inputs["x"]; ok && len(inputs) == 1 && len(t.inputs) == 1 {
		// An array x feeds a model of one input, as in an .npz file (data
		// opened without the model's inputs names its examples x).
		inputs = map[string]*tensor.Dense{t.inputs[0]: x}
	}
	shapes := make(map[string][]int, len(t.inputs))
	var key strings.Builder
	for _, name := range t.inputs {
		x, ok := inputs[name]
		if !ok || x == nil {
			return nil, nil, "", fmt.Errorf("the batch has no input %q (the model's inputs: %s)", name, strings.Join(t.inputs, ", "))
		}
		shapes[name] = ops.Shape(x)
		fmt.Fprintf(&key, "%q%v;", name, shapes[name])
	}
	if len(inputs) != len(t.inputs) {
		for name := range inputs {
			if _, ok := shapes[name]; !ok {
				return nil, nil, "", fmt.Errorf("the batch has an input %q that the model does not take (its inputs: %s)", name, strings.Join(t.inputs, ", "))
			}
		}
	}
	return inputs, shapes, key.String(), nil
}

// let binds x to the input node n: a 0-d tensor as gorgonia's scalar.
func let(n *G.Node, x *tensor.Dense) error {
	if n == nil {
		return errors.New("not in the compiled graph")
	}
	if x.Dtype() != n.Dtype() {
		return fmt.Errorf("%v values, the model wants %v", x.Dtype(), n.Dtype())
	}
	if !n.IsScalar() {
		return G.Let(n, x)
	}
	if x.Size() != 1 {
		return fmt.Errorf("%d values for a 0-d input", x.Size())
	}
	var v G.Value
	switch e := x.Get(0).(type) {
	case float32:
		v = G.NewF32(e)
	case float64:
		v = G.NewF64(e)
	case int64:
		v = G.NewI64(e)
	case int32:
		v = G.NewI32(e)
	case uint8:
		v = G.NewU8(e)
	case bool:
		v = G.NewB(e)
	default:
		return fmt.Errorf("a 0-d input of type %v is not supported", x.Dtype())
	}
	return G.Let(n, v)
}

func scalar(v G.Value) (float64, error) {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s), nil
	case *G.F64:
		return float64(*s), nil
	}
	d, err := valueData(v)
	if err != nil || len(d) != 1 {
		return 0, fmt.Errorf("loss is %T", v)
	}
	return float64(d[0]), nil
}

func valueData(v G.Value) ([]float32, error) {
	switch s := v.(type) {
	case *tensor.Dense:
		v, _, err := floats(s)
		return v, err
	case *G.F32:
		return []float32{float32(*s)}, nil
	}
	return nil, fmt.Errorf("value is %T", v)
}

// checkFinite returns an error naming the first trained parameter or
// running statistic that holds a NaN or an infinity after step steps.
func (t *Trainer) checkFinite(steps int64) error {
	for _, p := range t.Model.Params {
		if t.Groups.GroupOf(p.Name) == nil && p.Role != graph.RoleRunningMean && p.Role != graph.RoleRunningVar {
			continue // not changed by training
		}
		w, ok := t.weights[p.Initializer]
		if !ok {
			continue
		}
		v, _, err := floats(w)
		if err != nil {
			return err
		}
		for i, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("parameter %q holds %v (element %d) after step %d: nothing is written", p.Name, x, i, steps)
			}
		}
	}
	return nil
}
