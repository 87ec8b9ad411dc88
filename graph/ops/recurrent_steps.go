package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The float32 LSTM's recurrence runs its steps on a team of its own: the
// caller and workers-1 goroutines started for the call, each owning one
// slice of the hidden units for every step, meeting at a barrier after
// each step. A step's work is tens of microseconds, so the meeting must be
// cheaper than handing a job to internal/gemm's helpers every step (a post,
// a wake-up, a channel to wait on): the barrier is a counter, and a worker
// that arrives first spins on it for a moment, then yields its P, and only
// after that sleeps (a core another process holds can keep its partner
// away for a whole time slice).

// lstmSteps runs body(p, s) for the workers p of [0, workers) and the steps
// s of [0, steps), every worker's step s before any worker's step s+1.
// A variable so that tests can compare it with lstmStepsSerial.
var lstmSteps = lockstep

// lstmStepsSerial is lstmSteps on the caller's goroutine, worker by worker.
func lstmStepsSerial(workers, steps int, body func(p, s int)) {
	for s := range steps {
		for p := range workers {
			body(p, s)
		}
	}
}

// lockstep runs the steps with one goroutine a worker (the caller is worker
// 0). A panic in a body stops the bodies of every worker from the next step
// on and is raised again on the caller's goroutine when all have left.
func lockstep(workers, steps int, body func(p, s int)) {
	if workers <= 1 || steps <= 0 {
		lstmStepsSerial(workers, steps, body)
		return
	}
	t := &stepTeam{n: int32(workers)}
	t.cond.L = &t.mu
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for p := 1; p < workers; p++ {
		go func() {
			defer wg.Done()
			t.run(p, steps, body)
		}()
	}
	t.run(0, steps, body)
	wg.Wait()
	if f := t.fault.Load(); f != nil {
		panic(f.v)
	}
}

// stepTeam is the barrier of one lockstep call.
type stepTeam struct {
	n        int32
	arrived  atomic.Int32
	gen      atomic.Uint32 // completed meetings
	sleepers atomic.Int32
	mu       sync.Mutex
	cond     sync.Cond
	fault    atomic.Pointer[fault]
}

// fault is a body's panic, kept for the caller.
type fault struct{ v any }

func (t *stepTeam) run(p, steps int, body func(p, s int)) {
	for s := range steps {
		if t.fault.Load() == nil {
			t.call(body, p, s)
		}
		if s < steps-1 {
			t.meet()
		}
	}
	// The caller's return is the last meeting: wg.Wait in lockstep.
}

// call runs one body, keeping a panic instead of leaving the team short of
// a member at the next meeting.
func (t *stepTeam) call(body func(p, s int), p, s int) {
	defer func() {
		if r := recover(); r != nil {
			t.fault.CompareAndSwap(nil, &fault{r})
		}
	}()
	body(p, s)
}

const (
	// stepSpins is how many times a waiting worker reads the barrier
	// before it starts yielding (a few microseconds).
	stepSpins = 4000
	// stepYield is how long it then yields its P before it sleeps: short,
	// since a partner that is late by more is most likely off its core
	// (another process's turn), and spinning then only keeps a core from
	// it. 30 µs against 200 µs, BenchmarkLSTM32 at GOMAXPROCS 2 with other
	// processes on both cores: 44 ms of CPU a run against 48.
	stepYield = 30 * time.Microsecond
)

// meet waits until every worker has arrived.
func (t *stepTeam) meet() {
	g := t.gen.Load()
	if t.arrived.Add(1) == t.n {
		t.arrived.Store(0)
		t.gen.Add(1)
		if t.sleepers.Load() > 0 {
			t.mu.Lock()
			t.cond.Broadcast()
			t.mu.Unlock()
		}
		return
	}
	for range stepSpins {
		if t.gen.Load() != g {
			return
		}
	}
	start := time.Now()
	for time.Since(start) < stepYield {
		runtime.Gosched()
		if t.gen.Load() != g {
			return
		}
	}
	// Sleep. The last arrival bumps gen and then reads sleepers; a sleeper
	// counts itself and then reads gen, both under mu: one of them sees
	// the other.
	t.mu.Lock()
	t.sleepers.Add(1)
	for t.gen.Load() == g {
		t.cond.Wait()
	}
	t.sleepers.Add(-1)
	t.mu.Unlock()
}
