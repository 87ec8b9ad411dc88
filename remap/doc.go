// Package remap is onnxtune's graph surgery, all of it in one package:
// it turns a training-mode export into its inference model (ToInference),
// unties tensors the exporter de-duplicated (Untie), renames initializers
// to their PyTorch names (Rename), loads a pretrained model's parameters
// into a new graph by name, shape and type with a report of what matched
// (Apply, with rename Rules and a strict mode), and replaces classification
// heads (ReplaceHead).
//
// Parameter names come from the model's table, graph.Model.Params, which
// package graph builds (importer.Load calls graph.Model.BuildParams) and
// keeps current: every change here goes through graph.Model.Edit, so the
// table always describes the graph as it is. Nothing here rebuilds it.
//
// Errors are returned, never panicked; they name the parameter or node.
// Typed errors carry data: *StrictError (the names that did not match, in
// strict mode; errors.As also finds a *ShapeMismatchError for each
// mismatched name); ErrRule and ErrNotLinear are wrapped sentinels.
// ReplaceHead, Rename, ToInference, and Apply for bad rules, strict mode and
// unreadable tensors, fail before changing anything.
//
// Example, PyTorch's fine-tuning recipe on two exports:
//
//	pre, _ := importer.Load("lenet_0to4.onnx")
//	model, _ := importer.Load("lenet_10.onnx")
//	rep, err := remap.Apply(pre, model, remap.Options{})
//	// rep.Matched: the backbone; rep.Mismatched: fc3.weight, fc3.bias
//	err = export.WriteFile("lenet10_pretrained.onnx", model)
package remap
