package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// stepFlags are train's flags of train.StepOptions: clipping,
// accumulation, EMA, class weights, BatchNorm of frozen layers.
type stepFlags struct {
	clip         float64
	accum        int
	ema          float64
	writeEMA     bool
	classWeights string
	freezeBN     bool
}

// stepText is the part of train's --help about them.
const stepText = `Each optimizer step can be shaped as in a PyTorch loop: --clip-grad NORM
scales the gradients of all trained parameters as
torch.nn.utils.clip_grad_norm_(params, NORM) before every step (before weight
decay). --grad-accum N sums the gradients of N batches, each loss divided by
N, into one step (an epoch's last, shorter group steps too); --steps,
--warmup, schedules and progress count optimizer steps, and checkpoints are
taken between steps. --model-ema DECAY keeps an average of the weights as
timm's ModelEmaV2 (ema = DECAY*ema + (1-DECAY)*weights over every float
parameter and buffer, after every step); --write-ema writes it instead of the
trained weights, and --val then evaluates it (the weights validated are the
weights written; without --write-ema --val evaluates the trained weights).
--class-weights W1,W2,... is CrossEntropyLoss's weight, one per class of the
model (the mean becomes sum w[y]*loss / sum w[y]); --class-weights balanced
computes n_samples / (n_classes * count) from the training labels
(scikit-learn's rule); --val still reports the unweighted loss. --freeze-bn
runs the BatchNorm layers whose parameters --freeze freezes as after .eval()
on them: normalized with their running statistics, which stay as they are.
All of these are checked on --resume.`

func (s *stepFlags) register(fl *pflag.FlagSet) {
	fl.Float64Var(&s.clip, "clip-grad", 0, "clip the gradients' total 2-norm to NORM before each step (clip_grad_norm_); 0: no clipping")
	fl.IntVar(&s.accum, "grad-accum", 1, "batches whose gradients make one optimizer step, each loss divided by N as in a plain PyTorch loop (an epoch's last, shorter group too; the HF Trainer divides that one by its own count)")
	fl.Float64Var(&s.ema, "model-ema", 0, "keep an EMA of the weights with this DECAY (timm's ModelEmaV2); 0: none")
	fl.BoolVar(&s.writeEMA, "write-ema", false, "write (and validate) the EMA weights instead of the trained ones")
	fl.StringVar(&s.classWeights, "class-weights", "", "cross-entropy class weights W1,W2,... (one per class) or balanced")
	fl.BoolVar(&s.freezeBN, "freeze-bn", false, "BatchNorm layers whose parameters are all frozen keep their running statistics (eval mode)")
}

// options returns the options; balanced says the class weights are to be
// computed from the training labels (withBalanced).
func (s *stepFlags) options() (o train.StepOptions, balanced bool, err error) {
	switch {
	case s.accum < 1:
		return o, false, fmt.Errorf("invalid --grad-accum %d: want 1 or more batches a step", s.accum)
	case !(s.clip >= 0) || math.IsInf(s.clip, 0):
		return o, false, fmt.Errorf("invalid --clip-grad %v: want a finite norm above 0 (or 0 for none)", s.clip)
	case !(s.ema >= 0 && s.ema < 1):
		return o, false, fmt.Errorf("invalid --model-ema %v: want a decay in [0, 1) (0 for none)", s.ema)
	case s.writeEMA && s.ema == 0:
		return o, false, fmt.Errorf("--write-ema needs --model-ema DECAY")
	}
	o = train.StepOptions{ClipGrad: s.clip, GradAccum: s.accum, EMA: s.ema, WriteEMA: s.writeEMA, FreezeBN: s.freezeBN}
	switch w := strings.TrimSpace(s.classWeights); w {
	case "":
	case "balanced":
		balanced = true
	default:
		for _, f := range strings.Split(w, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return o, false, fmt.Errorf("invalid --class-weights %q: want finite weights of 0 or more, W1,W2,... (one per class), or balanced", s.classWeights)
			}
			o.ClassWeights = append(o.ClassWeights, v)
		}
	}
	return o, balanced, nil
}

// completeWeights completes cfg's class weights for model m trained on src:
// balanced ones from the labels of src (scikit-learn's rule), and a count
// that is not the model's classes refused before any work (Run refuses it
// too, a usage error either way).
func (s *stepFlags) completeWeights(cfg *train.Config, m *graph.Model, src *data.Loader) error {
	_, balanced, err := s.options()
	if err != nil || !balanced && len(cfg.ClassWeights) == 0 {
		return err
	}
	in, err := data.InputOf(m)
	classes := in.Classes
	if err != nil || classes < 1 {
		if balanced {
			return fmt.Errorf("--class-weights balanced: the model's class count is not known (its first output is not [batch, classes])")
		}
		return nil // the loss checks them against the output it compiles
	}
	if !balanced {
		if n := len(cfg.ClassWeights); n != classes {
			return &usageError{fmt.Errorf("--class-weights: %d class weights: the model has %d classes", n, classes)}
		}
		return nil
	}
	labels, err := src.Labels()
	if err != nil {
		return fmt.Errorf("--class-weights balanced: %w", err)
	}
	if cfg.ClassWeights, err = train.BalancedWeights(labels, classes); errors.Is(err, train.ErrNoExample) {
		return &usageError{fmt.Errorf("--class-weights balanced: %w; balanced weights need examples of all the model's %d classes (--classes or --per-class may leave some out): give %d explicit weights, --class-weights W1,...,W%d", err, classes, classes, classes)}
	} else if err != nil {
		return fmt.Errorf("--class-weights balanced: %w", err)
	}
	return nil
}
