// Package remap works on PyTorch parameter names in ONNX models: it recovers
// the state_dict names an export anonymized, unties tensors the exporter
// de-duplicated, renames initializers, and (later) matches a pretrained model's
// parameters into a new graph and replaces classification heads.
//
// Errors are returned, never panicked; they name the parameter or node.
package remap
