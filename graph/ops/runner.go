package ops

import (
	"fmt"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Runner runs a model on inputs of any batch size, compiling it once per set
// of input shapes and keeping the compiled programs.
type Runner struct {
	model *graph.Model
	opts  Options
	progs map[string]*Program
}

// NewRunner returns a Runner for m. It checks the ops at once, so an
// unsupported model fails here, before any input is read.
func NewRunner(m *graph.Model, opts Options) (*Runner, error) {
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if err := opts.Registry.Check(m.Graph); err != nil {
		return nil, err
	}
	return &Runner{model: m, opts: opts, progs: make(map[string]*Program)}, nil
}

// InputNames lists the graph inputs that are not initializers, in order.
func InputNames(m *graph.Model) []string {
	var names []string
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializer(in.Name) == nil {
			names = append(names, in.Name)
		}
	}
	return names
}

// Run runs the model once on inputs (by graph input name) and returns its
// outputs in graph order.
func (r *Runner) Run(inputs map[string]*tensor.Dense) ([]*tensor.Dense, error) {
	shapes := make(map[string][]int, len(inputs))
	var key strings.Builder
	for _, name := range InputNames(r.model) {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("%w: no value for input %q", ErrShape, name)
		}
		shapes[name] = Shape(t)
		fmt.Fprintf(&key, "%s%v;", name, Shape(t))
	}
	p, ok := r.progs[key.String()]
	if !ok {
		var err error
		if p, err = Compile(r.model, shapes, r.opts); err != nil {
			return nil, err
		}
		r.progs[key.String()] = p
	}
	return p.Run(inputs)
}

// Close releases every compiled program.
func (r *Runner) Close() error {
	for _, p := range r.progs {
		p.Close()
	}
	r.progs = nil
	return nil
}
