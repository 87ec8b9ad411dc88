package ops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Runner runs a model on inputs of any batch size, compiling it once per set
// of input shapes and keeping the compiled programs.
//
// A Runner is safe for concurrent use by several goroutines. A Program is
// not (its machine, the values bound to its nodes and its kernels' output
// buffers are reused from run to run), so the Runner lends each call a
// program of its own: it keeps, per set of input shapes, the programs not
// running at the moment, and compiles another when all of them are busy.
// A Runner used from one goroutine thus holds one program per set of
// shapes; used from n at once it holds up to n, each with its own copy of
// the weights and its own buffers. The outputs of Run belong to the
// caller: no later run, from any goroutine, writes into them.
type Runner struct {
	model *graph.Model
	opts  Options

	mu     sync.Mutex
	idle   map[string][]*Program // programs not running, by input shapes
	closed bool
}

// ErrClosed reports a Run after Close.
var ErrClosed = errors.New("runner closed")

// NewRunner returns a Runner for m. It checks the ops at once, so an
// unsupported model fails here, before any input is read. The Runner reads
// m (and opts.Params, opts.Constants) on every compile: change none of them
// while it is in use.
func NewRunner(m *graph.Model, opts Options) (*Runner, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("no model (nil, or without a graph)")
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if err := opts.Registry.CheckModel(m); err != nil {
		return nil, err
	}
	return &Runner{model: m, opts: opts, idle: make(map[string][]*Program)}, nil
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
// outputs in graph order: every input of InputNames needs a value, and a
// name the model does not take is an error (ErrShape). It may be called
// from several goroutines at once; it only reads the input tensors.
func (r *Runner) Run(inputs map[string]*tensor.Dense) ([]*tensor.Dense, error) {
	if r.model == nil {
		return nil, errors.New("ops: the Runner was not made by NewRunner")
	}
	// A run is a chain of short parallel products and serial stretches:
	// the GEMM helpers keep polling through it instead of parking.
	defer gemm.Hot()()
	shapes := make(map[string][]int, len(inputs))
	var b strings.Builder
	for _, name := range InputNames(r.model) {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("%w: no value for input %q", ErrShape, name)
		}
		if t == nil {
			return nil, fmt.Errorf("input %q has no tensor", name)
		}
		shapes[name] = Shape(t)
		fmt.Fprintf(&b, "%s%v;", name, Shape(t))
	}
	if len(inputs) != len(shapes) {
		// A name the model does not take is a caller's mistake (a typo, the
		// inputs of another model), not a value to drop silently.
		var extra []string
		for name := range inputs {
			if _, ok := shapes[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(extra)
		return nil, fmt.Errorf("%w: the model has no input %q (its inputs: %s)", ErrShape, extra[0], strings.Join(InputNames(r.model), ", "))
	}
	key := b.String()
	p, err := r.take(key)
	if err != nil {
		return nil, err
	}
	if p == nil {
		if p, err = Compile(r.model, shapes, r.opts); err != nil {
			return nil, err
		}
	}
	outs, err := p.Run(inputs)
	if err != nil {
		// A run that failed may have left the machine part way: drop it.
		p.Close()
		return nil, err
	}
	r.give(key, p)
	return outs, nil
}

// take removes an idle program for key from the pool, or returns nil when
// there is none.
func (r *Runner) take(key string) (*Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	ps := r.idle[key]
	if len(ps) == 0 {
		return nil, nil
	}
	p := ps[len(ps)-1]
	ps[len(ps)-1] = nil
	r.idle[key] = ps[:len(ps)-1]
	return p, nil
}

// give returns p to the pool, or closes it if the Runner was closed while
// p ran.
func (r *Runner) give(key string, p *Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		p.Close()
		return
	}
	r.idle[key] = append(r.idle[key], p)
}

// Close releases every compiled program; a program running at the time is
// released when its run ends. Run after Close returns ErrClosed.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ps := range r.idle {
		for _, p := range ps {
			p.Close()
		}
	}
	r.idle = nil
	r.closed = true
	return nil
}
