package train

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Algorithm names an optimizer.
type Algorithm string

// Optimizers.
const (
	SGD   Algorithm = "sgd"
	Adam  Algorithm = "adam"
	AdamW Algorithm = "adamw"
)

// Optimizer applies one of torch.optim's update rules to parameters held
// as float32 slices, keeping its state per parameter by PyTorch name. It is
// the project's own code: gorgonia supplies gradients, not updates. Each
// optimizer is in a file of its own (sgd.go, adam.go, adamw.go); the
// settings they read are rows of the hyperparameter table (hyper.go).
type Optimizer interface {
	// Algorithm names the optimizer.
	Algorithm() Algorithm
	// Update changes p in place from its gradient g with the group
	// settings h, as torch.optim's single-tensor implementation (PyTorch
	// 1.13) does, in float32.
	Update(name string, p, g []float32, h Hyper) error
	// Buffers names the state kept for a parameter trained with h, as
	// torch.optim's state_dict names it ("momentum_buffer", "exp_avg").
	Buffers(h Hyper) []string
	// State is the optimizer's state, which checkpoints save and restore.
	State() *State
}

// optimizers are the optimizers NewOptimizer makes, in the order messages
// list them.
var optimizers = []struct {
	algo Algorithm
	make func() Optimizer
}{
	{SGD, func() Optimizer { return &sgd{st: newState()} }},
	{Adam, func() Optimizer { return &adam{st: newState()} }},
	{AdamW, func() Optimizer { return &adamW{st: newState()} }},
}

// NewOptimizer returns the optimizer a names, with empty state. An unknown
// name is a *SettingError.
func NewOptimizer(a Algorithm) (Optimizer, error) {
	for _, o := range optimizers {
		if o.algo == a {
			return o.make(), nil
		}
	}
	return nil, unknownOptimizer(a)
}

func unknownOptimizer(a Algorithm) *SettingError {
	names := make([]string, len(optimizers))
	for i, o := range optimizers {
		names[i] = string(o.algo)
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return settingErr("unknown optimizer %q: want %s", a, list)
}

// State is an optimizer's state per parameter, by PyTorch name: the steps
// taken and named buffers, as in torch.optim's state_dict.
type State struct {
	Buffers map[string]map[string][]float32
	Steps   map[string]int64
}

func newState() State {
	return State{Buffers: make(map[string]map[string][]float32), Steps: make(map[string]int64)}
}

// buf returns buffer key of parameter name, zeros of length n when new, and
// whether it existed.
func (s *State) buf(name, key string, n int) ([]float32, bool) {
	m := s.Buffers[name]
	if m == nil {
		m = make(map[string][]float32)
		s.Buffers[name] = m
	}
	b, ok := m[key]
	if !ok {
		b = make([]float32, n)
		m[key] = b
	}
	return b, ok
}

// reset empties the state.
func (s *State) reset() { *s = newState() }

func sameLength(name string, p, g []float32) error {
	if len(p) != len(g) {
		return fmt.Errorf("parameter %q: %d values, %d gradients", name, len(p), len(g))
	}
	return nil
}

// parallelChunks runs f over [0, n) in chunks of at least 32 K elements,
// up to chunksPerProc a core, on the GOMAXPROCS goroutines of
// gemm.Parallel, when n is large enough to pay for them. More chunks than
// cores let the caller take a late helper's: the helper is parked during
// the step's one-core work and wakes some 80 µs after the call (much
// later now and then), and with one chunk a core the caller then waited
// that long at the end of the embedding's update. Updates are elementwise,
// so the split does not change any result.
func parallelChunks(n int, f func(lo, hi int)) {
	chunks := 1
	if procs := runtime.GOMAXPROCS(0); procs > 1 {
		chunks = min(chunksPerProc*procs, n/(1<<15))
	}
	gemm.Ranges(n, chunks, f)
}

// chunksPerProc is the most chunks a core of an update.
var chunksPerProc = 4
