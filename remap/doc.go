// Package remap works on PyTorch parameter names in ONNX models: it recovers
// the state_dict names an export anonymized (Recover), unties tensors the
// exporter de-duplicated (Untie), renames initializers (Rename), loads a
// pretrained model's parameters into a new graph by name, shape and type
// with a report of what matched (Apply, with rename Rules and a strict
// mode), and replaces classification heads (ReplaceHead).
//
// Errors are returned, never panicked; they name the parameter or node.
// Typed errors carry data: *StrictError (the names that did not match, in
// strict mode; errors.As also finds a *ShapeMismatchError for each
// mismatched name); ErrRule and ErrNotLinear are wrapped sentinels.
// ReplaceHead, and Apply for bad rules, strict mode and unreadable tensors,
// fail before changing anything.
//
// Example, PyTorch's fine-tuning recipe on two exports:
//
//	pre, _ := importer.Load("lenet_0to4.onnx")
//	model, _ := importer.Load("lenet_10.onnx")
//	rep, err := remap.Apply(pre, model, remap.Options{})
//	// rep.Matched: the backbone; rep.Mismatched: fc3.weight, fc3.bias
//	err = export.WriteFile("lenet10_pretrained.onnx", model)
package remap
