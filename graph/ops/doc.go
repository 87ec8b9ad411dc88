// Package ops is the engine: a Registry of the ONNX ops onnxtune supports,
// each lowered to a gorgonia node with its forward kernel and gradient, and
// Compile, which lowers a whole graph.Model for one set of input shapes and
// one mode (inference or training) into a Program.
//
// Runner is the usual entry point for inference: it compiles the model once
// per set of input shapes and keeps the programs, so batches of any size
// run without recompiling.
//
//	r, err := ops.NewRunner(m, ops.Options{})
//	...
//	defer r.Close()
//	outs, err := r.Run(map[string]*tensor.Dense{"input": x})
//
// # Errors
//
// Exported functions return errors: panics of gorgonia and of the kernels
// are recovered at the package boundary and returned as errors. An
// unsupported model fails in NewRunner or Compile with one
// *UnsupportedError listing every missing op; inputs that do not fit the
// model wrap ErrShape; sizes derived from the model above Options.MaxBytes,
// each or in total, wrap a *graph.LimitError; Run after Close returns
// ErrClosed. A kernel that fails while a program runs (or while Compile
// folds constants) gives a *RunError of one line naming the IR node and the
// kernel's message, `node "/Gather" (Gather): index 7 out of range [-5,
// 5)`, without gorgonia's wrapping (RunAll does the same for a machine a
// caller builds); a nil input or one of the wrong element type is an error
// naming the input.
//
// # Concurrency
//
// A Runner is safe for concurrent use by several goroutines: each call runs
// on a program no other call is using. The Runner compiles another program
// for the same shapes when all of them are busy, so it holds up to one per
// goroutine running at once, each with its own buffers and its own copy of
// the weights (unless Options.Params gives them). The outputs of
// Runner.Run and Program.Run are copies that belong to the caller: no later
// run writes into them. Inputs are only read, and may be shared between
// goroutines.
//
// A Program is not safe for concurrent use: its machine, the values bound
// to its nodes and the output buffers its kernels keep from run to run are
// reused by every run. The model, Options.Params and Options.Constants must
// not change while a Runner or Program built from them runs (a trainer
// updates the tensors of Options.Params between runs, never during one).
package ops
