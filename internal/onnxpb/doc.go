// Package onnxpb is the ONNX protobuf schema (onnx.proto) compiled to Go with
// gogo/protobuf. It holds generated code only; the rest of onnxtune reaches the
// wire format through importer and export.
package onnxpb

//go:generate ./gen.sh
