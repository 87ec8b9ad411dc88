// Package train fine-tunes a graph.Model as PyTorch would: forward and
// backward through the engine (graph/ops) in training mode (BatchNorm with
// batch statistics and running-statistic updates, Dropout active), and
// torch.optim's update rules applied per parameter group.
//
// The pieces, each in its own file:
//
//   - optim.go, sgd.go, adam.go, adamw.go: the Optimizer interface and
//     SGD (momentum, dampening, Nesterov, weight decay), Adam and AdamW,
//     exactly as torch.optim computes them;
//   - hyper.go: the one table of hyperparameters (names, defaults, which
//     optimizer reads them, PyTorch's checks and messages), used by flags,
//     --group keys, config files and checkpoints;
//   - groups.go: parameter groups by glob over PyTorch state_dict names,
//     and frozen parameters;
//   - schedule.go: learning-rate schedules stepped per optimizer step or
//     per epoch as transformers and PyTorch compute them (warmup, then
//     constant, linear, cosine, StepLR or OneCycleLR with its momentum);
//   - loss.go: cross-entropy (with label smoothing and class weights) and
//     mean squared error;
//   - step.go and ema.go: StepOptions, the shape of each optimizer step
//     (gradient clipping, accumulation over batches with Accumulate and
//     Apply, class weights, BatchNorm of frozen layers in eval mode) and
//     the EMA copy of the weights (timm's ModelEmaV2);
//   - trainer.go: one optimizer step on a batch that feeds every graph
//     input of the model by name (Trainer.StepBatch; Trainer.Step for a
//     model of one input);
//   - run.go and checkpoint.go: the loop over epochs (Run), validation,
//     the best epoch's weights and early stopping (Config.Best, Patience),
//     cancellation, and checkpoints keyed by PyTorch names that resume
//     bit-identically;
//   - evaluate.go and metrics.go: a model in inference mode on a data
//     source (Evaluate): loss, top-1 and top-5 accuracy, per-class
//     precision, recall and F1, macro F1 and the confusion matrix.
//
// Errors: settings PyTorch refuses are *SettingError with PyTorch's message;
// every other failure is an error naming the parameter, step or file. No
// function panics on a model or checkpoint read from a file.
//
// Concurrency: a Trainer is used by one goroutine; Run changes its model.
// Runs of separate models may go on at once.
package train
