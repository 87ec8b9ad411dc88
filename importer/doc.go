// Package importer reads ONNX files into the graph IR.
//
// It reads any opset and every tensor type PyTorch writes (float32/64/16,
// bfloat16, int8 to int64, uint8, bool), with values in raw_data, in typed
// fields, or in external data files next to the model. External data must
// stay inside the model's folder: absolute locations and locations that leave
// the folder are refused. Only regular files are read: a FIFO, a device or a
// folder given as the model or as a side file is refused without blocking.
//
// Errors: every problem is returned as an error naming what is wrong and
// where (file, node, initializer, input index); bad bytes never panic and
// never make the importer allocate more than the file's bytes justify.
// Options.MaxBytes (graph.DefaultMaxBytes when zero) bounds the model file
// and each tensor, checked from its dims before it is read; over it, the
// error wraps a *graph.LimitError naming the tensor or file. The
// sentinels ErrFormat, ErrEmpty, ErrTensor, ErrExternal and ErrGraph classify
// them for errors.Is.
//
// Example:
//
//	m, err := importer.Load("models/lenet.onnx")
//	if err != nil {
//		log.Fatal(err) // importer: models/lenet.onnx: ...
//	}
//	fmt.Println(len(m.Graph.Nodes), "nodes")
package importer
