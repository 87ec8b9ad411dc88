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
	// Channels is C of an image batch [N, C, H, W] when known, else 0.
	Channels int
	// Classes is C of the model's first output when that is class scores
	// [N, C] of known C, else 0: class labels must be in [0, C).
	Classes int
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
	known := func(d graph.Dim) bool { return d.HasValue && d.Value > 0 && d.Value <= 1<<31 }
	if len(m.Graph.Outputs) > 0 {
		if _, dims, ok := m.Graph.Outputs[0].TensorShape(); ok && len(dims) == 2 && known(dims[1]) {
			in.Classes = int(dims[1].Value)
		}
	}
	_, dims, ok := v.TensorShape()
	if !ok || len(dims) != 4 {
		return in, nil
	}
	if known(dims[1]) {
		in.Channels = int(dims[1].Value)
	}
	h, w := dims[2], dims[3]
	if known(h) && known(w) {
		in.Size = [2]int{int(h.Value), int(w.Value)}
	}
	return in, nil
}

// ForInput returns o with InputType, InputSize, InputChannels and
// ModelClasses set from in.
func (o Options) ForInput(in Input) Options {
	o.InputType, o.InputSize, o.InputChannels, o.inputName = in.DType, in.Size, in.Channels, in.Name
	o.ModelClasses = in.Classes
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

// quoted returns ` "name"` for a message about an input, or "" when the
// name is not known.
func quoted(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}
