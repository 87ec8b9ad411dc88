package data

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Input is what a model declares of the input that examples feed.
type Input struct {
	Name  string      // the graph input
	DType graph.DType // its element type (graph.Undefined when not declared)
	// Size is its height and width when it is an image batch [N, C, H, W]
	// of known H and W, else zeros.
	Size [2]int
}

// InputOf returns the input of m that examples feed: its first graph input
// that is not an initializer. Options.ForInput makes Open check the data
// against it.
func InputOf(m *graph.Model) (Input, error) {
	names := ops.InputNames(m)
	if len(names) == 0 {
		return Input{}, fmt.Errorf("data: the model has no input to feed")
	}
	v := m.Graph.Input(names[0])
	in := Input{Name: names[0]}
	if v != nil && v.Type != nil && v.Type.Kind == graph.TypeTensor {
		in.DType = v.Type.Elem
	}
	_, dims, ok := v.TensorShape()
	if !ok || len(dims) != 4 {
		return in, nil
	}
	h, w := dims[2], dims[3]
	if h.HasValue && w.HasValue && h.Value > 0 && w.Value > 0 && h.Value <= 1<<31 && w.Value <= 1<<31 {
		in.Size = [2]int{int(h.Value), int(w.Value)}
	}
	return in, nil
}

// ForInput returns o with InputType and InputSize set from in.
func (o Options) ForInput(in Input) Options {
	o.InputType, o.InputSize, o.inputName = in.DType, in.Size, in.Name
	return o
}

// checkType refuses examples of ds whose element type is not want (when
// known), the type of the model's input name (when known).
func checkType(spec string, ds Dataset, want graph.DType, name string) error {
	got := ds.DType()
	if want == graph.Undefined || got == want {
		return nil
	}
	what := "the examples are"
	if _, ok := ds.(*npzData); ok {
		what = "x is"
	}
	input := "the model's input"
	if name != "" {
		input += fmt.Sprintf(" %q", name)
	}
	return fileErr(spec, "%s %s, %s is %s", what, got, input, want)
}
