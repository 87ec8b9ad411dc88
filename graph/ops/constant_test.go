package ops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// shapeOps are the ops of shape.go, index.go and constant.go.
var shapeOps = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Identity": true,
	"Transpose": true, "Expand": true, "Tile": true, "Concat": true, "Split": true, "Slice": true,
	"Gather": true, "Pad": true, "Shape": true, "Size": true, "Constant": true,
	"ConstantOfShape": true, "Range": true,
}

// shapeCasesOut are the conformance cases of those ops that cannot pass.
var shapeCasesOut = map[string]string{
	"test_identity_opt":                       "optional type: the engine has tensors only",
	"test_identity_sequence":                  "sequence type: the engine has tensors only",
	"test_range_bfloat16_type_positive_delta": "bfloat16 is not an element type of the engine",
	"test_range_float16_type_positive_delta":  "float16 is not an element type of the engine",
	"test_constantofshape_int_shape_zero":     "empty output: gorgonia's Dense cannot hold zero elements (Data panics)",
	"test_shape_start_greater_than_end":       "empty output: gorgonia's Dense cannot hold zero elements",
	"test_split_zero_size_splits_opset13":     "empty input: gorgonia's Dense cannot hold zero elements",
	"test_split_zero_size_splits_opset18":     "empty input: gorgonia's Dense cannot hold zero elements",
	"test_slice_start_out_of_bounds":          "empty output: gorgonia's Dense cannot hold zero elements",
	"test_reshape_allowzero_reordered":        "empty input: gorgonia's Dense cannot hold zero elements",
}

// TestShapeConformanceFolded runs the conformance cases of the shape ops
// with their integer inputs (shapes, axes, pads, repeats, splits: what
// exported models hold as constants) and Range's bounds turned into
// initializers. The engine compiles per input shape, so such inputs must be
// known at compile time; TestConformance feeds them as graph inputs.
func TestShapeConformanceFolded(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(casesDir, "test_*"))
	if len(dirs) == 0 {
		t.Skipf("ONNX conformance cases not found at %s", casesDir)
	}
	n := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		m, err := importer.Load(filepath.Join(dir, "model.onnx"))
		if err != nil || len(m.Graph.Nodes) != 1 || !shapeOps[m.Graph.Nodes[0].OpType] {
			continue
		}
		if _, out := shapeCasesOut[name]; out {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			if err := runFolded(dir, m); err != nil {
				t.Error(err)
			}
		})
	}
	if n < 95 {
		t.Errorf("ran %d cases, want over 95", n)
	}
}

func runFolded(dir string, m *graph.Model) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	op := m.Graph.Nodes[0].OpType
	var keep []*graph.ValueInfo
	shapes := make(map[string][]int)
	values := make(map[string]*tensor.Dense)
	for i, in := range m.Graph.Inputs {
		b, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			return err
		}
		ir, err := importer.DecodeTensor(b)
		if err != nil {
			return err
		}
		t, err := ops.TensorFromIR(ir)
		if err != nil {
			return err
		}
		if dt := in.Type.Elem; dt == graph.Int64 || dt == graph.Int32 || op == "Range" {
			ir.Name = in.Name
			m.Graph.Initializers = append(m.Graph.Initializers, ir)
			continue
		}
		keep = append(keep, in)
		shapes[in.Name] = ops.Shape(t)
		values[in.Name] = t
	}
	m.Graph.Inputs = keep
	p, err := ops.Compile(m, shapes, ops.Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	var outs []*tensor.Dense
	if len(keep) == 0 {
		// Every input folded: the outputs are constants and the machine has
		// nothing to run.
		for _, o := range p.Outputs {
			if !o.IsConst() {
				return fmt.Errorf("output %v is not a constant", o)
			}
			outs = append(outs, o.Const)
		}
	} else if outs, err = p.Run(values); err != nil {
		return err
	}
	for i := range m.Graph.Outputs {
		want, err := readPB(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			return err
		}
		if err := compare(outs[i], want); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}
	return nil
}
