package train

import (
	"runtime/debug"
	"sync"
)

// DefaultGCPercent is the Go collector's GOGC while a Trainer runs a
// step's forward and backward pass, unless Trainer.GCPercent says
// otherwise.
//
// A step's values (every op's output and gradient) stay bound to the
// compiled program from one step to the next, so most of the heap is live,
// and each step leaves behind the outputs its kernels allocated afresh.
// With Go's default of 100 the heap grows to twice the live values before
// the collector runs: about 10 GB of resident memory for a 4.3 GB live
// BERT-base step at batch 8. At 20 the collector runs once the garbage
// reaches a fifth of the live heap; its marking of those large,
// pointer-free tensors costs milliseconds against a step of seconds (see
// docs/performance.md, "Peak training memory").
const DefaultGCPercent = 20

// gcHold counts the steps running with the trainers' GOGC, so that
// trainers stepping in several goroutines set it once and the last one
// out restores the process's own.
var gcHold struct {
	mu    sync.Mutex
	n     int
	saved int
	set   bool
}

// lowerGC sets GOGC to percent while a step runs, when that is lower than
// the process's setting (an off collector, GOGC=off, stays off), and
// returns the function that undoes it.
func lowerGC(percent int) (restore func()) {
	if percent <= 0 {
		return func() {}
	}
	gcHold.mu.Lock()
	defer gcHold.mu.Unlock()
	if gcHold.n == 0 {
		old := debug.SetGCPercent(percent)
		gcHold.saved, gcHold.set = old, true
		if old < 0 || old <= percent {
			debug.SetGCPercent(old)
			gcHold.set = false
		}
	}
	gcHold.n++
	return func() {
		gcHold.mu.Lock()
		defer gcHold.mu.Unlock()
		gcHold.n--
		if gcHold.n == 0 && gcHold.set {
			debug.SetGCPercent(gcHold.saved)
			gcHold.set = false
		}
	}
}

// gcPercent is the GOGC a step of t runs with (0: leave it).
func (t *Trainer) gcPercent() int {
	switch {
	case t.GCPercent < 0:
		return 0
	case t.GCPercent == 0:
		return DefaultGCPercent
	}
	return t.GCPercent
}
