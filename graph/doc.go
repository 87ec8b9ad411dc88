// Package graph is onnxtune's intermediate representation of an ONNX model:
// the Model with its opsets and metadata, the Graph with nodes in topological
// order, initializers, inputs and outputs with symbolic dimensions, and the
// parameter table that names every trainable tensor as PyTorch's state_dict
// would.
//
// The IR keeps everything an ONNX file holds, so that a model read by package
// importer and written by package export without changes comes out with the
// same fields. Fields the IR does not model are carried as raw protobuf bytes
// (Unknown, Functions, TrainingInfo, ...); optional fields written with their
// zero value are remembered in Explicit.
//
// The parameter table (Model.Params) has one owner, this package. Which
// input of which ai.onnx op holds a PyTorch parameter (Conv weight and bias,
// Gemm with transB, MatMul+Add, BatchNormalization statistics, Gather
// embeddings, the norms) is declared with each op in graph/ops and reaches
// this package as a generated table (paramslots_gen.go, read by SlotOf);
// Model.BuildParams names every parameter from it and from the module paths
// PyTorch writes into node names (ModulePath). The importer builds the table
// once; Model.Edit rebuilds it after every change of the graph, so it always
// describes the graph as it is.
//
// The package does no I/O and imports nothing else of onnxtune. Its functions
// return errors; they never panic on a model that came from a file.
//
// Example:
//
//	m, err := importer.Load("lenet.onnx")
//	if err != nil { ... }
//	for _, p := range m.Params {
//		fmt.Println(p.Name, p.Shape, p.Role)
//	}
package graph
