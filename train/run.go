package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/train/data"
)

// Source gives the batches of an epoch, in an order that depends only on the
// epoch number (so a resumed run sees what an uninterrupted one saw). A
// *data.Loader is one; training feeds a batch's Inputs to the model's
// graph inputs by name, with its Labels (for cross-entropy) or Targets (for
// mse).
type Source interface {
	// Batches returns how many batches an epoch has.
	Batches() int
	// Batch returns batch i of epoch e.
	Batch(e, i int) (data.Batch, error)
}

var _ Source = (*data.Loader)(nil)

// Config is a training run.
type Config struct {
	Epochs    int   // epochs to run (when Steps is 0)
	Steps     int64 // optimizer steps to run, if set
	Optimizer Algorithm
	Defaults  Hyper // settings of parameters no group matches
	Groups    []GroupSpec
	Freeze    []string
	Schedule  Schedule
	Loss      Loss
	Smoothing float64
	Seed      int64
	// Shuffle says whether src gives each epoch in a shuffled order (Run
	// does not shuffle: a Source does). Checkpoints record it with the
	// other settings that shape the run (seed, schedule, warmup, loss,
	// label smoothing), and a resume under other values is refused.
	Shuffle bool
	// StepOptions: gradient clipping and accumulation, an EMA of the
	// weights, class weights, BatchNorm of frozen layers (step.go).
	StepOptions
	// DataSettings describes what of the data's reading shapes the run
	// beyond its examples (the augmentation: data.Augment's settings, as
	// text); checkpoints record it when set, and a resume under another
	// value is refused.
	DataSettings string
	// MaxBytes bounds each tensor the engine sizes from the model
	// (ops.Options.MaxBytes); zero or less means graph.DefaultMaxBytes.
	MaxBytes int64

	// Checkpoint, when set, is a folder where the model, optimizer state
	// and position are written atomically after every epoch and when the
	// context is cancelled. With Resume, training continues from it.
	Checkpoint string
	Resume     bool

	// Best, when set, watches a validation metric (needs a Validator):
	// Run keeps a copy of the weights of the epoch where it was best (the
	// first such epoch; val_loss is minimized, the others maximized; the
	// copy holds every trained tensor, as much memory again) and
	// puts them in the model when it returns, instead of the last ones.
	// Patience > 0 stops the run after that many epochs in a row without
	// improvement (Hugging Face's EarlyStoppingCallback). Both are saved in
	// checkpoints with the best value and weights, and checked on resume.
	Best     Metric
	Patience int

	Logger logrus.FieldLogger
	// OnGroups is called once, before the first step, with the groups
	// the run trains (resolved once per run, after untying).
	OnGroups func(*Assignment)
	OnStep   func(StepInfo)  // after every step (progress)
	OnEpoch  func(EpochInfo) // after every epoch
}

// StepInfo reports one step.
type StepInfo struct {
	Epoch, Batch, Batches int
	Step                  int64
	Loss                  float64
	Correct, N            int
	LR                    []float64 // per group, as in Assignment.Groups
	Elapsed               time.Duration
}

// EpochInfo reports one epoch.
type EpochInfo struct {
	Epoch           int
	Loss, Accuracy  float64  // means over the epoch's examples
	ValLoss, ValAcc float64  // when a validation set is given (else NaN)
	Val             *Metrics // the validation's metrics (nil without one)
	Best            bool     // with Config.Best: this epoch is the best so far
	Samples         int
	Elapsed         time.Duration
}

// Result is a finished run.
type Result struct {
	Epochs  []EpochInfo
	Steps   int64
	Stopped bool // cancelled; a checkpoint was written if configured
	// With Config.Best: the best epoch (1-based; 0 when none was better
	// than NaN) and its value, whose weights the model holds; EarlyStopped
	// when Patience ended the run.
	BestEpoch    int
	BestValue    float64
	EarlyStopped bool
}

// Validator evaluates the model in inference mode, as Evaluate does.
type Validator func(m *graph.Model) (*Metrics, error)

// Run trains m on src with cfg; m's initializers hold the trained values
// (with WriteEMA their average) when it returns (also when it stops
// early), and when val and OnEpoch see m. val, if not nil, runs after
// each epoch. cfg is checked first (Config.Validate; errors about settings
// are *SettingError); a resumed run checks the checkpoint against the model
// and cfg before using it. A run whose trained values end up NaN or
// infinite fails with an error naming the parameter.
//
// Run changes m (untying, then the trained values) and reads it until it
// returns: no other goroutine may use m meanwhile, nor a Runner of m
// (export a copy, or wait). Runs of separate models may go on in several
// goroutines at once and share no state; they may share cfg, and src when
// its Batch may be called concurrently. src, val, cfg.OnStep and
// cfg.OnEpoch are called from Run's goroutine only.
//
// A cancelled ctx stops the run at the next step with a nil error and
// Result.Stopped set (a checkpoint written if configured): check Stopped
// before exporting m, which then holds the values of the steps taken.
func Run(ctx context.Context, m *graph.Model, src Source, val Validator, cfg Config) (*Result, error) {
	log := cfg.Logger
	if log == nil {
		l := logrus.New()
		l.Out = nopWriter{}
		log = l
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkArgs(m, src, true); err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	// The table training uses, before assigning groups.
	if err := Prepare(m); err != nil {
		return nil, err
	}
	groups, err := Assign(m.Params, cfg.Groups, cfg.Defaults.resolve(cfg.Optimizer), cfg.Freeze)
	if err != nil {
		return nil, err
	}
	tr, err := NewTrainer(m, cfg.Loss, opt, groups)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	if cfg.OnGroups != nil {
		cfg.OnGroups(groups)
	}
	tr.Smoothing, tr.Seed, tr.MaxBytes = cfg.Smoothing, cfg.Seed, cfg.MaxBytes
	tr.Log = log
	tr.ClipGrad, tr.ClassWeights, tr.FreezeBN = cfg.ClipGrad, cfg.ClassWeights, cfg.FreezeBN
	if err := tr.reportFrozenBN(log); err != nil {
		return nil, err
	}
	// The class count the model declares: labels are checked as each
	// batch enters, naming the example (Step checks against the compiled
	// output as well).
	classes := 0
	if in, err := data.InputOf(m); err == nil && cfg.Loss != MSE {
		classes = in.Classes
	}
	if w := cfg.ClassWeights; len(w) > 0 && classes > 0 && len(w) != classes {
		return nil, settingErr("%d class weights: the model has %d classes", len(w), classes)
	}
	nb := src.Batches()
	if nb <= 0 {
		return nil, errors.New("the training data has no examples")
	}
	accum := cfg.accum()
	epochs := cfg.Epochs
	if cfg.Steps > 0 {
		epochs = int((cfg.Steps-1)/int64(StepsPerEpoch(nb, accum)) + 1)
	}
	if int64(epochs) > math.MaxInt64/int64(nb) {
		return nil, settingErr("%d epochs of %d batches are more steps than can be counted", epochs, nb)
	}
	if cfg.Schedule, err = cfg.Schedule.Resolve(cfg.Schedule.length(epochs, StepsPerEpoch(nb, accum), cfg.Steps)); err != nil {
		return nil, err
	}
	if m, ok := cfg.Schedule.Momentum(0); ok {
		tr.Momentum = m // before the checkpoint: its buffers follow the momentum
		log.Info("onecycle cycles every group's momentum (SGD) or beta1 (Adam) between 0.95 and 0.85")
	}
	var ema *emaCopy
	if cfg.EMA > 0 {
		ema = newEMA(tr, cfg.EMA)
	}
	if cfg.Best != "" && val == nil {
		return nil, settingErr("watching %s needs validation data", cfg.Best)
	}
	bk := &bestKeeper{metric: cfg.Best, value: nan()}
	ck := &checkpoint{dir: cfg.Checkpoint, tr: tr, groups: groups, batches: nb, accum: accum, ema: ema, settings: withDataSettings(runSettings(cfg), cfg), best: bk}
	var pos position
	if cfg.Resume {
		if cfg.Checkpoint == "" {
			return nil, settingErr("resume needs a checkpoint folder")
		}
		if pos, err = ck.load(epochs, cfg.Steps); err != nil {
			return nil, err
		}
		// Epochs, batches and steps count from 1, as --metrics counts them.
		at := log.WithField("epoch", pos.Epoch+1).WithField("step", pos.Step+1)
		if pos.Batch == 0 {
			at.Infof("resuming at epoch %d, step %d (after epoch %d, step %d)", pos.Epoch+1, pos.Step+1, pos.Epoch, pos.Step)
		} else {
			at.Infof("resuming at epoch %d, batch %d, step %d (after step %d, batch %d of epoch %d)",
				pos.Epoch+1, pos.Batch+1, pos.Step+1, pos.Step, pos.Batch, pos.Epoch+1)
		}
	}
	res := &Result{Steps: pos.Step}
	// written runs f with the weights Run writes in the trainer's tensors:
	// the trained ones, or with WriteEMA the average (swapped back after f:
	// the trainer keeps training the others).
	written := func(f func() error) error {
		if ema == nil || !cfg.WriteEMA {
			return f()
		}
		ema.swap(tr)
		defer ema.swap(tr)
		return f()
	}
	syncWritten := func() error { return written(tr.Sync) }
	// m holds the best epoch's weights when Run returns after a watched
	// run (and on an error or a stop, the weights in training as before).
	finish := func() error {
		if bk.metric != "" {
			res.BestEpoch, res.BestValue = bk.epoch, bk.value
		}
		if bk.weights == nil {
			return syncWritten()
		}
		bk.restore(tr)
		return tr.Sync()
	}
	save := func(p position) error {
		if err := tr.checkFinite(p.Step); err != nil {
			return err
		}
		if cfg.Checkpoint == "" {
			return nil
		}
		if err := tr.Sync(); err != nil {
			return err
		}
		return ck.save(p)
	}
	for e := pos.Epoch; e < epochs; e++ {
		if cfg.Patience > 0 && bk.bad >= cfg.Patience {
			res.EarlyStopped = true
			log.WithFields(logrus.Fields{"best_epoch": bk.epoch, string(bk.metric): bk.value}).
				Infof("early stop after %d epochs: %d without a better %s", e, bk.bad, bk.metric)
			break
		}
		start := time.Now()
		var lossSum float64
		var correct, seen int
		var group StepResult // the batches of the step under way (GradAccum)
		first, cut := 0, -1  // cut: the batch where Steps ended the run mid-epoch
		if e == pos.Epoch {
			first = pos.Batch
			lossSum, correct, seen = pos.LossSum, pos.Correct, pos.Seen
		}
		for i := first; i < nb; i++ {
			// Stops and checkpoints come between optimizer steps only: no
			// accumulated gradient is ever left to save.
			if i%accum == 0 {
				if cfg.Steps > 0 && res.Steps >= cfg.Steps {
					cut = i
					break
				}
				if ctx.Err() != nil {
					res.Stopped = true
					if err := save(position{Epoch: e, Batch: i, Step: res.Steps, LossSum: lossSum, Correct: correct, Seen: seen}); err != nil {
						return res, err
					}
					return res, syncWritten()
				}
			}
			b, err := src.Batch(e, i)
			if err != nil {
				return res, fmt.Errorf("epoch %d batch %d: %w", e+1, i+1, err)
			}
			if classes > 0 && b.Labels != nil {
				if err := data.CheckLabels(b.Labels, b.Indices, classes); err != nil {
					return res, fmt.Errorf("epoch %d batch %d: %w", e+1, i+1, err)
				}
			}
			at := cfg.Schedule.position(e, res.Steps)
			factor := cfg.Schedule.Factor(at)
			if m, ok := cfg.Schedule.Momentum(at); ok {
				tr.Momentum = m
			}
			last := (i+1)%accum == 0 || i == nb-1
			var sr StepResult
			if accum == 1 {
				sr, err = tr.StepBatch(b, factor)
			} else if sr, err = tr.Accumulate(b, 1/float64(accum)); err == nil && last {
				sr.LR, err = tr.Apply(factor)
			}
			if err != nil {
				if errors.Is(err, ErrNonFinite) {
					kept := ""
					if cfg.Checkpoint != "" {
						kept = "; the last checkpoint is kept"
					}
					return res, fmt.Errorf("step %d (epoch %d, batch %d): %w (%v)%s", res.Steps+1, e+1, i+1, err, sr.Loss, kept)
				}
				return res, fmt.Errorf("step %d (epoch %d, batch %d): %w", res.Steps+1, e+1, i+1, err)
			}
			lossSum += sr.Loss * float64(sr.N)
			correct += sr.Correct
			seen += sr.N
			group.Loss += sr.Loss * float64(sr.N)
			group.Correct += sr.Correct
			group.N += sr.N
			if !last {
				continue
			}
			res.Steps++
			if ema != nil {
				ema.update(tr)
			}
			if cfg.OnStep != nil {
				cfg.OnStep(StepInfo{Epoch: e, Batch: i, Batches: nb, Step: res.Steps, Loss: group.Loss / float64(group.N),
					Correct: group.Correct, N: group.N, LR: sr.LR, Elapsed: time.Since(start)})
			}
			group = StepResult{}
		}
		if cut >= 0 {
			// The step count ended the run inside the epoch: a resume with
			// more steps goes on from its next batch, as an uninterrupted
			// run would. Saved before this partial epoch's validation,
			// which an uninterrupted run does not make (nor its best).
			p := position{Epoch: e, Batch: cut, Step: res.Steps, LossSum: lossSum, Correct: correct, Seen: seen}
			if err := save(p); err != nil {
				return res, err
			}
		}
		info := EpochInfo{Epoch: e, Samples: seen, Elapsed: time.Since(start)}
		if seen > 0 {
			info.Loss, info.Accuracy = lossSum/float64(seen), float64(correct)/float64(seen)
		}
		info.ValLoss, info.ValAcc = nan(), nan()
		if val != nil {
			// The best epoch keeps the weights validated: with WriteEMA,
			// the average.
			err := written(func() error {
				if err := tr.Sync(); err != nil {
					return err
				}
				var err error
				if info.Val, err = val(m); err != nil {
					return fmt.Errorf("validation after epoch %d: %w", e+1, err)
				}
				if info.Val == nil {
					return fmt.Errorf("validation after epoch %d: the validator returned no metrics (nil) and no error", e+1)
				}
				if bk.metric != "" {
					info.Best = bk.observe(tr, e+1, info.Val)
				}
				return nil
			})
			if err != nil {
				return res, err
			}
			info.ValLoss, info.ValAcc = info.Val.Loss, info.Val.Accuracy
		}
		res.Epochs = append(res.Epochs, info)
		// NaN is no JSON number: the validation's fields only with one.
		fields := logrus.Fields{"epoch": e + 1, "loss": info.Loss, "accuracy": info.Accuracy}
		if info.Val != nil {
			fields["val_loss"], fields["val_accuracy"] = info.ValLoss, info.ValAcc
		}
		log.WithFields(fields).Debug("epoch done")
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(info)
		}
		if cut < 0 {
			if err := save(position{Epoch: e + 1, Step: res.Steps}); err != nil {
				return res, err
			}
		}
	}
	if err := tr.checkFinite(res.Steps); err != nil {
		return res, err
	}
	return res, finish()
}

// bestKeeper follows the watched metric and keeps the best epoch's
// weights (every trained tensor, BatchNorm's statistics included).
type bestKeeper struct {
	metric  Metric
	epoch   int                  // best epoch, 1-based (0: none yet)
	value   float64              // its value (NaN: none yet)
	bad     int                  // epochs since, without improvement
	seen    bool                 // a validation was observed
	weights map[string][]float32 // by PyTorch name
}

// observe records epoch's metrics and reports whether it is the best.
func (b *bestKeeper) observe(tr *Trainer, epoch int, m *Metrics) bool {
	v := b.metric.Value(m)
	first := !b.seen
	b.seen = true
	if !b.metric.Better(v, b.value) {
		// As the Trainer's EarlyStoppingCallback, the first validation
		// never counts against the patience (a NaN there included).
		if !first {
			b.bad++
		}
		return false
	}
	b.epoch, b.value, b.bad = epoch, v, 0
	b.weights = make(map[string][]float32, len(tr.tensors))
	for _, w := range tr.tensors {
		b.weights[w.name] = w.values()
	}
	return true
}

// restore puts the best weights into the trainer's tensors.
func (b *bestKeeper) restore(tr *Trainer) {
	for _, w := range tr.tensors {
		w.set(b.weights[w.name])
	}
}

func nan() float64 { var z float64; return z / z }

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
