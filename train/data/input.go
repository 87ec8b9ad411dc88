package data

import (
	"fmt"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Input is what a model declares of one of its graph inputs.
type Input struct {
	Name  string      // the graph input
	DType graph.DType // its element type (graph.Undefined when not declared)
	// Dims is its declared shape, batch dimension first (fixed sizes,
	// symbolic names or unknown), when HasShape; a 0-d input has HasShape
	// and no Dims.
	Dims     []graph.Dim
	HasShape bool
	// Size is its height and width when it is an image batch [N, C, H, W]
	// of known H and W, else zeros.
	Size [2]int
	// Channels is C of an image batch [N, C, H, W] when known, else 0.
	Channels int
	// Classes is C of the model's first output when that is class scores
	// [N, C] of known C, else 0: class labels must be in [0, C).
	Classes int
}

// String describes the input as messages name it: its name, element type
// and declared shape with symbolic dimensions by name, e.g.
// "attention_mask" int64 [batch, sequence].
func (in Input) String() string {
	s := fmt.Sprintf("%q", in.Name)
	if in.DType != graph.Undefined {
		s += " " + in.DType.String()
	}
	if in.HasShape {
		s += " " + dimString(in.Dims)
	}
	return s
}

// is describes the input for a message, as `"input" is float32 [batch,
// 3, 32, 32]` (its name alone when nothing is declared, no name when it
// is not known).
func (in Input) is() string {
	var parts []string
	if in.Name != "" {
		parts = append(parts, fmt.Sprintf("%q", in.Name))
	}
	if in.DType != graph.Undefined || in.HasShape {
		parts = append(parts, "is")
	}
	if in.DType != graph.Undefined {
		parts = append(parts, in.DType.String())
	}
	if in.HasShape {
		parts = append(parts, dimString(in.Dims))
	}
	return strings.Join(parts, " ")
}

// dimString writes dims as [batch, 3, 32, 32] (? for an unknown one).
func dimString(dims []graph.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// InputsOf returns the graph inputs of m that data feeds (those that are
// not initializers), in order, each with what m declares of it. Classes is
// set on each (it is the model's). Options.ForInputs makes Open check the
// data against them.
func InputsOf(m *graph.Model) ([]Input, error) {
	names := ops.InputNames(m)
	if len(names) == 0 {
		return nil, fmt.Errorf("data: the model has no input to feed")
	}
	known := func(d graph.Dim) bool { return d.HasValue && d.Value > 0 && d.Value <= 1<<31 }
	classes := 0
	if len(m.Graph.Outputs) > 0 {
		if _, dims, ok := m.Graph.Outputs[0].TensorShape(); ok && len(dims) == 2 && known(dims[1]) {
			classes = int(dims[1].Value)
		}
	}
	ins := make([]Input, len(names))
	for k, name := range names {
		v := m.Graph.Input(name)
		in := Input{Name: name, Classes: classes}
		if v != nil && v.Type != nil && v.Type.Kind == graph.TypeTensor {
			in.DType = v.Type.Elem
		}
		if _, dims, ok := v.TensorShape(); ok {
			in.Dims, in.HasShape = dims, true
			if len(dims) == 4 {
				if known(dims[1]) {
					in.Channels = int(dims[1].Value)
				}
				if h, w := dims[2], dims[3]; known(h) && known(w) {
					in.Size = [2]int{int(h.Value), int(w.Value)}
				}
			}
		}
		ins[k] = in
	}
	return ins, nil
}

// InputOf returns the first of InputsOf: the input of a model of one input.
func InputOf(m *graph.Model) (Input, error) {
	ins, err := InputsOf(m)
	if err != nil {
		return Input{}, err
	}
	return ins[0], nil
}

// ForInput returns o for a model whose one input is in: ForInputs of it
// alone.
func (o Options) ForInput(in Input) Options { return o.ForInputs([]Input{in}) }

// ForInputs returns o with Inputs set to ins and, from the first of them,
// InputType, InputSize, InputChannels and ModelClasses (what MNIST and
// image folders are checked against).
func (o Options) ForInputs(ins []Input) Options {
	o.Inputs = ins
	if len(ins) > 0 {
		in := ins[0]
		o.InputType, o.InputSize, o.InputChannels, o.ModelClasses = in.DType, in.Size, in.Channels, in.Classes
	}
	return o
}

// exampleName returns the name of the one field of MNIST and image
// folders: the model's input, or "x".
func (o Options) exampleName() string {
	if len(o.Inputs) > 0 {
		return o.Inputs[0].Name
	}
	return "x"
}

// inputName returns the name of the model's first input for a message
// (" \"input\""), or "" when not known.
func (o Options) inputName() string {
	if len(o.Inputs) == 0 || o.Inputs[0].Name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", o.Inputs[0].Name)
}

// checkType refuses the examples of MNIST or an image folder (one float32
// field) for a model of several inputs, or one whose input declares
// another element type.
func checkType(spec string, ds Dataset, opts Options) error {
	if _, ok := ds.(*npzData); ok {
		return nil // checked input by input when opened
	}
	fields := ds.Fields()
	if len(opts.Inputs) > 1 && len(fields) == 1 {
		return fileErr(spec, "one array of examples for a model of %d inputs (%s): give an .npz file with an array named after each", len(opts.Inputs), inputList(opts.Inputs))
	}
	want := opts.InputType
	if want == graph.Undefined || len(fields) != 1 || fields[0].DType == want {
		return nil
	}
	input := "the model's input is " + want.String()
	if len(opts.Inputs) > 0 {
		input = "the model's input " + opts.Inputs[0].is()
	}
	return fileErr(spec, "the examples are %s %v, %s", fields[0].DType, fields[0].Shape, input)
}

// inputList describes inputs for a message, separated by commas.
func inputList(ins []Input) string {
	s := make([]string, len(ins))
	for k, in := range ins {
		s[k] = in.String()
	}
	return strings.Join(s, ", ")
}
