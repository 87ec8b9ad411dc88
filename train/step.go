package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/train/data"
)

// StepOptions shape each optimizer step beyond the optimizer's rule, as a
// PyTorch training loop does (Config embeds them; the zero value changes
// nothing).
type StepOptions struct {
	// ClipGrad, when above 0, is torch.nn.utils.clip_grad_norm_'s max_norm:
	// before every optimizer step the gradients of all trained parameters
	// are scaled by min(1, ClipGrad/(total+1e-6)), total their joint
	// 2-norm (before weight decay, which the optimizer adds).
	ClipGrad float64
	// GradAccum sums the gradients of GradAccum consecutive batches, each
	// batch's loss divided by GradAccum, into one optimizer step
	// ((loss/N).backward() every batch, optimizer.step() every N); an
	// epoch's last, shorter group steps too. Steps, schedules and progress
	// count optimizer steps. 0 or 1: a step every batch.
	GradAccum int
	// EMA, when above 0, keeps an exponential moving average of the
	// weights as timm's ModelEmaV2(decay=EMA): after every optimizer step
	// ema = EMA*ema + (1-EMA)*value over every float parameter and buffer
	// (BatchNorm's running statistics too).
	EMA float64
	// WriteEMA leaves the EMA weights in the model when Run returns, and
	// makes the validator see them: the weights validated are the weights
	// written.
	WriteEMA bool
	// ClassWeights is nn.CrossEntropyLoss's weight, one per class: the
	// mean becomes sum w[y_i]*l_i / sum w[y_i] (with label smoothing as
	// PyTorch weighs it, see crossEntropyNode). BalancedWeights computes
	// scikit-learn's "balanced" rule. They weigh the training loss only:
	// validation reports the plain cross-entropy.
	ClassWeights []float64
	// FreezeBN runs the BatchNorm layers whose parameters are all frozen
	// (Config.Freeze) as after .eval() on them: normalized with their
	// running statistics, which stay as they are.
	FreezeBN bool
}

// check refuses values that have no meaning.
func (o StepOptions) check(loss Loss) error {
	switch {
	case !(o.ClipGrad >= 0) || math.IsInf(o.ClipGrad, 0):
		return settingErr("clip-grad %s: want a finite norm above 0 (or 0 for none)", pyFloat(o.ClipGrad))
	case o.GradAccum < 0:
		return settingErr("grad-accum %d: want 1 or more batches a step", o.GradAccum)
	case !(o.EMA >= 0 && o.EMA < 1):
		return settingErr("model-ema %s: want a decay in [0, 1) (0 for none)", pyFloat(o.EMA))
	case o.WriteEMA && o.EMA == 0:
		return settingErr("write-ema needs model-ema DECAY")
	}
	if len(o.ClassWeights) > 0 {
		if loss == MSE {
			return settingErr("class weights are cross-entropy's: not with loss mse")
		}
		sum := 0.0
		for i, w := range o.ClassWeights {
			if !(w >= 0) || math.IsInf(w, 0) {
				return settingErr("class weight %d is %s: want finite weights of 0 or more", i, pyFloat(w))
			}
			sum += w
		}
		if sum == 0 {
			return settingErr("class weights are all 0")
		}
	}
	return nil
}

// StepsPerEpoch is the number of optimizer steps in an epoch of batches
// batches with GradAccum accum: a shorter last group steps too.
func StepsPerEpoch(batches, accum int) int {
	if batches <= 0 {
		return 0
	}
	// Rounded up without batches+accum-1, which overflows for a large accum.
	return (batches-1)/max(accum, 1) + 1
}

// stepSettings adds the options to a checkpoint's settings (runSettings):
// all of them shape the run (WriteEMA what is validated).
func stepSettings(o StepOptions, m map[string]string) map[string]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	w := make([]string, len(o.ClassWeights))
	for i, v := range o.ClassWeights {
		w[i] = f(v)
	}
	m["clip_grad"] = f(o.ClipGrad)
	m["grad_accum"] = strconv.Itoa(o.accum())
	m["model_ema"] = f(o.EMA)
	m["write_ema"] = strconv.FormatBool(o.WriteEMA)
	m["class_weights"] = strings.Join(w, ",")
	m["freeze_bn"] = strconv.FormatBool(o.FreezeBN)
	return m
}

// accum is GradAccum as a count of batches.
func (o StepOptions) accum() int { return max(o.GradAccum, 1) }

// ErrNoExample is returned (wrapped) by BalancedWeights for a class
// without examples.
var ErrNoExample = errors.New("has no training example")

// BalancedWeights returns scikit-learn's class_weight="balanced" for
// labels of classes classes: n_samples / (n_classes * count_c). A class
// without examples is an error (sklearn refuses it too).
func BalancedWeights(labels []int64, classes int) ([]float64, error) {
	if classes < 1 || len(labels) == 0 {
		return nil, errors.New("balanced class weights need labelled examples and a class count")
	}
	counts := make([]int, classes)
	if err := data.CheckLabels(labels, nil, classes); err != nil {
		return nil, err
	}
	for _, y := range labels {
		counts[y]++
	}
	w := make([]float64, classes)
	for c, n := range counts {
		if n == 0 {
			return nil, fmt.Errorf("class %d %w: its balanced weight would be infinite (scikit-learn's compute_class_weight refuses it too)", c, ErrNoExample)
		}
		w[c] = float64(len(labels)) / (float64(classes) * float64(n))
	}
	return w, nil
}

// accumulated holds the gradients of the batches since the last Apply,
// by parameter name in PyTorch's layout (a view's own elements).
type accumulated struct {
	grads   map[string][]float32
	borrows bool // grads are the program's values (one batch, not copied)
}

func (a *accumulated) clear() { a.grads, a.borrows = nil, false }

// gather adds scale times the gradients sp computed to t.acc.
func (t *Trainer) gather(sp *stepProgram, scale float64, own bool) error {
	if t.acc.borrows {
		return errors.New("gradients held from an earlier batch: Apply before the next batch")
	}
	first := len(t.acc.grads) == 0
	if first {
		t.acc.grads = make(map[string][]float32)
		t.acc.borrows = !own && scale == 1
	}
	s := float32(scale)
	for _, g := range t.Groups.Groups {
		for _, name := range g.Params {
			node := sp.grads[name]
			if node == nil {
				continue // no gradient: the loss does not depend on it
			}
			gv, err := valueData(node.Value())
			if err != nil {
				return fmt.Errorf("gradient of %q: %w", name, err)
			}
			if v := t.byName[name].View; v != nil {
				gv = viewOf(v, gv)
			}
			acc, ok := t.acc.grads[name]
			switch {
			case !ok && t.acc.borrows:
				t.acc.grads[name] = gv
			case !ok:
				acc = make([]float32, len(gv))
				for i, x := range gv {
					acc[i] = s * x
				}
				t.acc.grads[name] = acc
			default:
				for i, x := range gv {
					acc[i] += s * x
				}
			}
		}
	}
	return nil
}

// Accumulate runs forward and backward on b (as StepBatch does) and adds
// scale times its gradients to those held for the next Apply: a step over
// N batches is N calls with scale 1/N, then Apply. BatchNorm's running
// statistics move with every batch, as in PyTorch. A scale that is
// negative, NaN or infinite is a *SettingError; like any failed batch, it
// drops the gradients held.
func (t *Trainer) Accumulate(b data.Batch, scale float64) (StepResult, error) {
	if math.IsNaN(scale) || math.IsInf(scale, 0) || scale < 0 {
		t.acc.clear()
		return StepResult{}, &SettingError{Reason: fmt.Sprintf("gradient scale %v: want a finite number, 0 or more", scale)}
	}
	if err := t.settings(); err != nil {
		t.acc.clear()
		return StepResult{}, err
	}
	res, err := t.backward(b, scale, true)
	if err != nil {
		t.acc.clear()
	}
	return res, err
}

// Apply steps the optimizer with the gradients accumulated since the last
// Apply, clipped to ClipGrad, every group's learning rate times factor,
// and clears them. It returns each group's learning rate. A parameter with
// no gradient is left as it is. A factor that is negative, NaN or infinite
// is a *SettingError, and nothing changes.
func (t *Trainer) Apply(factor float64) ([]float64, error) {
	defer t.acc.clear()
	if err := checkFactor(factor); err != nil {
		return nil, err
	}
	if err := t.settings(); err != nil {
		return nil, err
	}
	return t.apply(factor)
}

// apply is Apply once the factor and the settings are checked (StepBatch
// checks them before its batch runs).
func (t *Trainer) apply(factor float64) ([]float64, error) {
	if len(t.acc.grads) == 0 {
		return nil, errors.New("no gradients to apply: run a batch first")
	}
	if t.ClipGrad > 0 {
		t.clip()
	}
	lr := make([]float64, len(t.Groups.Groups))
	for k, g := range t.Groups.Groups {
		h := g.Hyper
		if t.Momentum != 0 {
			h = withMomentum(h, t.Opt.Algorithm(), t.Momentum)
		}
		h.LR *= factor
		lr[k] = h.LR
		for _, name := range g.Params {
			gv, ok := t.acc.grads[name]
			if !ok {
				continue
			}
			if err := t.update(name, gv, h); err != nil {
				return lr, err
			}
		}
	}
	t.seq++
	return lr, nil
}

// errNotMade reports a Trainer written as a literal: NewTrainer makes the
// tensors the programs share and the lists of inputs and parameters.
var errNotMade = errors.New("train: the Trainer was not made by NewTrainer")

// settings checks what the Trainer's exported fields hold, which a user
// may set or clear after NewTrainer, as Config.Validate checks Run's: a
// model, an optimizer and groups, a known loss, label smoothing in [0, 1],
// StepOptions' clipping norm and class weights, and the momentum that
// Momentum puts in every group. Errors about values are *SettingError.
func (t *Trainer) settings() error {
	if err := t.made(); err != nil {
		return err
	}
	switch {
	case t.Opt == nil:
		return errors.New("train: the Trainer has no optimizer (nil)")
	case t.Groups == nil:
		return errors.New("train: the Trainer has no parameter groups (nil)")
	}
	switch t.Loss {
	case CrossEntropy, "":
		if !(t.Smoothing >= 0 && t.Smoothing <= 1) {
			return &SettingError{Param: "label_smoothing", Reason: fmt.Sprintf("label_smoothing must be between 0.0 and 1.0. Got: %s", cppFloat(t.Smoothing))}
		}
	case MSE:
	default:
		return settingErr("unknown loss %q: want cross-entropy or mse", t.Loss)
	}
	if err := (StepOptions{ClipGrad: t.ClipGrad, ClassWeights: t.ClassWeights}).check(t.Loss); err != nil {
		return err
	}
	if t.Momentum != 0 {
		a := t.Opt.Algorithm()
		for _, g := range t.Groups.Groups {
			if g == nil {
				continue // index refuses it
			}
			if err := withMomentum(g.Hyper, a, t.Momentum).check(a); err != nil {
				if g.Name != "default" {
					err.Group = g.Name
				}
				return err
			}
		}
	}
	return nil
}

// made refuses a Trainer written as a literal, or whose Model was cleared
// after NewTrainer.
func (t *Trainer) made() error {
	switch {
	case t.weights == nil:
		return errNotMade
	case t.Model == nil || t.Model.Graph == nil:
		return errors.New("train: the Trainer has no model (nil, or without a graph)")
	}
	return nil
}

// checkFactor refuses a learning-rate factor that would write NaN into
// the weights or step against the gradient.
func checkFactor(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return &SettingError{Param: "lr", Reason: fmt.Sprintf("learning-rate factor %v: want a finite number, 0 or more", f)}
	}
	return nil
}

// clip scales the held gradients as torch.nn.utils.clip_grad_norm_(params,
// ClipGrad): the 2-norm of every parameter's gradient, their 2-norm, then
// every gradient times min(1, ClipGrad/(total+1e-6)) in float32 (PyTorch
// multiplies by the clamped coefficient even when it is 1).
func (t *Trainer) clip() {
	total := 0.0
	for _, name := range t.trainedNames() {
		s := 0.0
		for _, x := range t.acc.grads[name] {
			s += float64(x) * float64(x)
		}
		n := float64(float32(math.Sqrt(s))) // each norm is a float32 tensor
		total += n * n
	}
	norm := float32(math.Sqrt(total))
	coef := min(float32(t.ClipGrad)/(norm+1e-6), 1)
	for _, g := range t.acc.grads {
		for i := range g {
			g[i] *= coef
		}
	}
}

// trainedNames lists the parameters with a held gradient, in group order.
func (t *Trainer) trainedNames() []string {
	var names []string
	for _, g := range t.Groups.Groups {
		for _, name := range g.Params {
			if _, ok := t.acc.grads[name]; ok {
				names = append(names, name)
			}
		}
	}
	return names
}

// frozenBatchNorms returns, under FreezeBN, the BatchNormalization nodes
// (by running-mean initializer) whose scale and bias are parameters that
// are all frozen, to be compiled as in inference.
func (t *Trainer) frozenBatchNorms() (map[string]bool, error) {
	if !t.FreezeBN {
		return nil, nil
	}
	if err := t.settings(); err != nil {
		return nil, err
	}
	g, err := t.Model.Inlined()
	if err != nil {
		return nil, err
	}
	byInit := make(map[string]*graph.Param)
	for _, p := range t.Model.Params {
		byInit[p.Initializer] = p
	}
	out := make(map[string]bool)
	for _, n := range g.Nodes {
		if n.OpType != "BatchNormalization" || len(n.Inputs) < 5 {
			continue
		}
		frozen, params := true, 0
		for _, in := range n.Inputs[1:3] {
			p := byInit[in]
			if p == nil || !p.Role.Trainable() {
				continue
			}
			params++
			if t.Groups.GroupOf(p.Name) != nil {
				frozen = false
			}
		}
		if frozen && params > 0 {
			out[n.Inputs[3]] = true
		}
	}
	return out, nil
}

// reportFrozenBN says on log which BatchNorm layers FreezeBN keeps in
// eval mode, and warns when it keeps none.
func (t *Trainer) reportFrozenBN(log logrus.FieldLogger) error {
	if !t.FreezeBN {
		return nil
	}
	names, err := t.FrozenBatchNorms()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		log.Warn("--freeze-bn: no BatchNorm layer has all its parameters frozen (see --freeze): every one keeps training")
		return nil
	}
	log.WithField("running_means", strings.Join(names, ",")).Infof("--freeze-bn: %d BatchNorm layers run in eval mode", len(names))
	return nil
}

// FrozenBatchNorms names the running means of the BatchNorm layers that
// FreezeBN keeps in eval mode (for reports and tests), sorted.
func (t *Trainer) FrozenBatchNorms() ([]string, error) {
	m, err := t.frozenBatchNorms()
	if err != nil {
		return nil, err
	}
	var names []string
	for init := range m {
		name := init
		for _, p := range t.Model.Params {
			if p.Initializer == init {
				name = p.Name
			}
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}
