package ops

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// OpProfile adds up the time spent in each kernel, by op label (Conv,
// ConvGradWeight, Relu, ...), while it is installed with StartProfile. It is
// the engine's answer to ONNX Runtime's per-node profiling: which ops a step
// spends its time in.
type OpProfile struct {
	mu    sync.Mutex
	stats map[string]*OpStat
}

// OpStat is one op label's total.
type OpStat struct {
	Op    string
	Calls int
	Time  time.Duration
}

var profiling atomic.Pointer[OpProfile]

// StartProfile installs a new profile for every kernel that runs from now on
// (in any program) and returns it; StopProfile removes it.
func StartProfile() *OpProfile {
	p := &OpProfile{stats: make(map[string]*OpStat)}
	profiling.Store(p)
	return p
}

// StopProfile stops recording.
func StopProfile() { profiling.Store(nil) }

func (p *OpProfile) add(op string, d time.Duration) {
	p.mu.Lock()
	s := p.stats[op]
	if s == nil {
		s = &OpStat{Op: op}
		p.stats[op] = s
	}
	s.Calls++
	s.Time += d
	p.mu.Unlock()
}

// Stats returns the totals, largest time first.
func (p *OpProfile) Stats() []OpStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]OpStat, 0, len(p.stats))
	for _, s := range p.stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		return out[i].Op < out[j].Op
	})
	return out
}
