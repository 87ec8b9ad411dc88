// Package ort runs ONNX models in-process with ONNX Runtime, for tests and
// benchmarks that use ONNX Runtime as the reference implementation.
//
// It wraps github.com/yalue/onnxruntime_go (cgo), which loads the ONNX Runtime
// shared library at run time. The library is installed into the repository by
// scripts/setup.sh (ONNX Runtime 1.30.0 from the npm package onnxruntime-node);
// LibraryPath tells where it is looked for.
//
// The API is deliberately small:
//
//   - Run and RunFile load a model, run it once on named inputs and return
//     every graph output, in the graph's output order, with its name and shape.
//   - NewSession / NewSessionFile load a model once for many runs (benchmarks,
//     or tests that run one model on many inputs); Session.Run is safe for
//     concurrent use.
//
// Tensors are plain Go values (see Tensor). Inputs are passed to ONNX Runtime
// without copying; outputs are Go-owned copies.
//
// The ONNX Runtime environment is created once per process, on first use, and
// is never torn down. Every function of this package is safe to call from
// concurrent tests.
package ort
