// Package export writes graph IR models as ONNX files.
//
// A model read by package importer and written back without changes has the
// same protobuf fields as the file it came from: node names, doc strings,
// opsets, producer, metadata, value_info, symbolic dims and fields this
// version of the schema does not know. Export changes only what the caller
// changed in the IR.
//
// WriteFile never leaves a half-written file: it writes a temporary file in
// the destination folder and renames it into place. It writes only the path
// it is given and, when the model keeps tensors in external data, one side
// file named after it (SidePath: OUT.onnx.data), packed from offset 0; the
// locations a model was read with never choose where bytes go. It replaces
// only regular files (never a FIFO, device or folder). Errors wrap ErrModel.
//
// Example:
//
//	m, _ := importer.Load("in.onnx")
//	if err := export.WriteFile("out.onnx", m); err != nil {
//		log.Fatal(err)
//	}
package export
