package data

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/remap"
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
	// BatchAxis is the axis of the input that holds the examples: 0 unless
	// the model declares the batch elsewhere (PyTorch's recurrent initial
	// states [layers*directions, batch, hidden] have it on axis 1), or -1
	// for an input without a batch, fed one value for every batch (an
	// input of rank 0, or one whose declared shape does not have the
	// batch). InputsOf finds it (see there); an Input made otherwise has
	// its examples on axis 0.
	BatchAxis int
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
//
// BatchAxis is found from what m declares. Each input has a first guess:
// the axis a recurrent op that reads it declares for the batch
// (remap.BatchAxis: an LSTM, GRU or RNN of ONNX's layout 0 reads a
// sequence-first X and its initial states with the batch on axis 1), else
// axis 0. The batch's names are the symbolic names at the inputs' guesses,
// but for those an input has on its other axes (a 1-d input [sequence]
// beside [batch, sequence] is no batch). An input has its batch on the
// axis of one of those names (silero VAD's state [2, batch, 128] on axis
// 1); of several, on its guess when that is one of them, else it is an
// error naming the input. In a model that names its batch, an input
// without such a name has no batch (BatchAxis -1), unless its guess is an
// unknown dimension. In a model of fixed shapes, the batch is the size of
// the first input at its guess; another input has its batch on its guess
// when that has this size and is a recurrent op's or the only axis of
// that size, else on the only axis of that size; on none when no axis has
// it (BatchAxis -1); several are an error naming the input (export the
// model with a named batch). An input of rank 0 has BatchAxis -1; one
// without a declared shape, 0.
func InputsOf(m *graph.Model) ([]Input, error) {
	if m == nil || m.Graph == nil {
		return nil, errNoModel
	}
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
	if err := batchAxes(m, ins); err != nil {
		return nil, err
	}
	return ins, nil
}

// batchAxes sets the BatchAxis of each of m's inputs ins (see InputsOf).
func batchAxes(m *graph.Model, ins []Input) error {
	symbolic := func(d graph.Dim) bool { return d.HasParam && !d.HasValue }
	unknown := func(d graph.Dim) bool { return !d.HasParam && !d.HasValue }
	// hint: the axis a recurrent op declares, else 0.
	hint := make([]int, len(ins))
	names := map[string]bool{}
	size, sized := int64(0), false // the batch of a model of fixed shapes
	for k, in := range ins {
		if !in.HasShape || len(in.Dims) == 0 {
			continue
		}
		if a := remap.BatchAxis(m, in.Name); a >= 0 && a < len(in.Dims) {
			hint[k] = a
		}
		switch d := in.Dims[hint[k]]; {
		case symbolic(d):
			names[d.Param] = true
		case d.HasValue && !sized:
			size, sized = d.Value, true
		}
	}
	// A name on another axis of an input whose batch's axis is named is
	// no batch (a 1-d input [sequence] beside [batch, sequence]).
	for k, in := range ins {
		if len(in.Dims) == 0 || !symbolic(in.Dims[hint[k]]) {
			continue
		}
		for j, d := range in.Dims {
			if j != hint[k] && symbolic(d) && d.Param != in.Dims[hint[k]].Param {
				delete(names, d.Param)
			}
		}
	}
	for k := range ins {
		in := &ins[k]
		switch {
		case !in.HasShape:
			in.BatchAxis = 0
			continue
		case len(in.Dims) == 0:
			in.BatchAxis = -1
			continue
		}
		var named, sizes []int
		for j, d := range in.Dims {
			if symbolic(d) && names[d.Param] {
				named = append(named, j)
			}
			if d.HasValue && d.Value == size {
				sizes = append(sizes, j)
			}
		}
		switch r := hint[k]; {
		case len(named) == 1:
			in.BatchAxis = named[0]
		case len(named) > 1 && slices.Contains(named, r):
			in.BatchAxis = r
		case len(named) > 1:
			return fmt.Errorf("data: the model's input %s has the batch's dimension %s on axes %v: which one holds the examples is not known", in, in.Dims[named[0]], named)
		case unknown(in.Dims[r]):
			in.BatchAxis = r // as declared as can be: the examples go there
		case len(names) > 0:
			in.BatchAxis = -1 // the model names its batch, this input has none
		case !sized || len(sizes) == 0:
			in.BatchAxis = -1
		case in.Dims[r].HasValue && in.Dims[r].Value == size && (r != 0 || len(sizes) == 1 || k == firstShaped(ins)):
			in.BatchAxis = r
		case len(sizes) == 1:
			in.BatchAxis = sizes[0]
		default:
			return fmt.Errorf("data: the model's input %s has the batch's size %d on axes %v: which one holds the examples is not known (export the model with a named dynamic batch axis)", in, size, sizes)
		}
	}
	return nil
}

// firstShaped returns the index of the first of ins of a declared shape of
// rank 1 or more (the one that gives a model of fixed shapes its batch),
// or -1.
func firstShaped(ins []Input) int {
	for k, in := range ins {
		if in.HasShape && len(in.Dims) > 0 {
			return k
		}
	}
	return -1
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
	if len(fields) != 1 || (want == graph.Undefined || fields[0].DType == want) && !shapeDiffers(fields[0].Shape, opts.Inputs) {
		return nil
	}
	input := "the model's input is " + want.String()
	if len(opts.Inputs) > 0 {
		input = "the model's input " + opts.Inputs[0].is()
	}
	return fileErr(spec, "the examples are %s %v, %s", fields[0].DType, fields[0].Shape, input)
}

// shapeDiffers reports whether examples of shape ex (without the batch)
// cannot feed the first of ins: another rank, or another size on an axis
// the input fixes, besides its batch axis. An input of unknown shape or
// without a batch takes them (the engine checks it).
func shapeDiffers(ex []int, ins []Input) bool {
	if len(ins) == 0 || !ins[0].HasShape || ins[0].BatchAxis < 0 || ins[0].BatchAxis >= len(ins[0].Dims) {
		return false
	}
	in := ins[0]
	if len(ex) != len(in.Dims)-1 {
		return true
	}
	rest := slices.Delete(slices.Clone(in.Dims), in.BatchAxis, in.BatchAxis+1)
	for i, d := range rest {
		if d.HasValue && int64(ex[i]) != d.Value {
			return true
		}
	}
	return false
}

// inputList describes inputs for a message, separated by commas.
func inputList(ins []Input) string {
	s := make([]string, len(ins))
	for k, in := range ins {
		s[k] = in.String()
	}
	return strings.Join(s, ", ")
}
