package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The float32 LSTM's recurrence runs its steps on a team of its own: the
// caller and up to GOMAXPROCS-1 goroutines started for the call. Each step
// is cut into parts (ranges of hidden units) that the team's members claim
// as they come, the caller from the first part up and the others from the
// last part down, so that each core keeps to its own units (and their
// weights in its cache) while both run, and one core does every part while
// the other is away (a core another process holds for a time slice). A
// step's parts start when every part of the previous step is done. A
// step's work is tens of microseconds, so the meeting must be cheaper than
// handing a job to internal/gemm's helpers every step (a post, a wake-up, a
// channel to wait on): the claims are one atomic word, and a member that
// finds none left spins on it for a moment, then yields its P, and only
// after that sleeps.

// lstmSteps runs body(p, s) for the parts p of [0, parts) and the steps s
// of [0, steps), every part of step s before any part of step s+1.
// A variable so that tests can compare it with lstmStepsSerial.
var lstmSteps = lockstep

// lstmStepsSerial is lstmSteps on the caller's goroutine, part by part.
func lstmStepsSerial(parts, steps int, body func(p, s int)) {
	for s := range steps {
		for p := range parts {
			body(p, s)
		}
	}
}

// lockstep runs the steps on up to GOMAXPROCS goroutines (the caller's one
// of them). A panic in a body stops the bodies of every part from the next
// step on and is raised again on the caller's goroutine when all have
// left.
func lockstep(parts, steps int, body func(p, s int)) {
	members := min(parts, runtime.GOMAXPROCS(0))
	if members <= 1 || steps <= 0 || parts >= 1<<16 || steps >= 1<<31 {
		lstmStepsSerial(parts, steps, body)
		return
	}
	t := &stepTeam{parts: parts, steps: steps}
	t.claims.Store(claimWord(0, 0, parts))
	t.cond.L = &t.mu
	var wg sync.WaitGroup
	wg.Add(members - 1)
	for range members - 1 {
		go func() {
			defer wg.Done()
			t.run(false, body)
		}()
	}
	t.run(true, body)
	wg.Wait()
	if f := t.fault.Load(); f != nil {
		panic(f.v)
	}
}

// stepTeam is the claims and meetings of one lockstep call.
type stepTeam struct {
	parts, steps int
	// claims is the open step and the parts of it not yet claimed,
	// [lo, hi): claimWord. The member that completes a step's last part
	// opens the next.
	claims   atomic.Uint64
	done     atomic.Int64 // parts completed, all steps
	sleepers atomic.Int32
	partNs   atomic.Int64 // how long the last part took
	mu       sync.Mutex
	cond     sync.Cond
	fault    atomic.Pointer[fault]
}

// claimWord packs step s and its unclaimed parts [lo, hi) into one word.
func claimWord(s, lo, hi int) uint64 { return uint64(s)<<32 | uint64(lo)<<16 | uint64(hi) }

// fault is a body's panic, kept for the caller.
type fault struct{ v any }

// run claims and runs parts until every step is done: from the front of
// each step's parts if front, else from the back.
func (t *stepTeam) run(front bool, body func(p, s int)) {
	for {
		w := t.claims.Load()
		s, lo, hi := int(w>>32), int(w>>16&0xffff), int(w&0xffff)
		if s >= t.steps {
			return
		}
		if lo == hi {
			t.wait(w)
			continue
		}
		p, next := lo, claimWord(s, lo+1, hi)
		if !front {
			p, next = hi-1, claimWord(s, lo, hi-1)
		}
		if !t.claims.CompareAndSwap(w, next) {
			continue
		}
		if t.fault.Load() == nil {
			t0 := time.Now()
			t.call(body, p, s)
			t.partNs.Store(int64(time.Since(t0)))
		}
		if t.done.Add(1) == int64(s+1)*int64(t.parts) {
			// Every part of step s is done, and its writes are seen
			// by whoever claims a part of the next.
			t.claims.Store(claimWord(s+1, 0, t.parts))
			if t.sleepers.Load() > 0 {
				t.mu.Lock()
				t.cond.Broadcast()
				t.mu.Unlock()
			}
		}
	}
}

// call runs one body, keeping a panic instead of leaving a step with a
// part that never completes.
func (t *stepTeam) call(body func(p, s int), p, s int) {
	defer func() {
		if r := recover(); r != nil {
			t.fault.CompareAndSwap(nil, &fault{r})
		}
	}()
	body(p, s)
}

const (
	// stepSpins is how many times a waiting member reads the claims
	// before it starts yielding (a few microseconds).
	stepSpins = 4000
	// stepYield is how long it then yields its P before it sleeps: short,
	// since a partner that is late by more is most likely off its core
	// (another process's turn), and spinning then only keeps a core from
	// it. 30 µs against 200 µs, BenchmarkLSTM32 at GOMAXPROCS 2 with other
	// processes on both cores: 44 ms of CPU a run against 48.
	stepYield = 30 * time.Microsecond
	// stepYieldMax bounds the yielding that follows the parts' time.
	stepYieldMax = 500 * time.Microsecond
)

// yieldFor is how long a member waiting for its partner's part yields
// before it sleeps: stepYield, or twice a part's time when parts are
// longer (at most stepYieldMax). A sleeper is woken late (tens of
// microseconds, more in a VM), and meanwhile its partner, finding the next
// step's second part unclaimed, takes it too; the sleeper then finds no
// part left and, if it yields for less than a part, sleeps again: one core
// does every part from then on. With the AVX2 kernel a part of 128 units
// (H 256, batch 32) takes about 100 µs, and the forward recurrence ran no faster
// on two cores than on one (BenchmarkLSTM32Forward, ONNXTUNE_GEMM=avx2:
// nearly every meeting ended in sleep).
func yieldFor(part time.Duration) time.Duration {
	return min(max(stepYield, 2*part), stepYieldMax)
}

// wait returns when the claims are no longer w: a part of the open step
// has completed its step, or (rarely) another member claimed.
func (t *stepTeam) wait(w uint64) {
	for range stepSpins {
		if t.claims.Load() != w {
			return
		}
	}
	start, yield := time.Now(), yieldFor(time.Duration(t.partNs.Load()))
	for time.Since(start) < yield {
		runtime.Gosched()
		if t.claims.Load() != w {
			return
		}
	}
	// Sleep. The member opening a step stores the claims and then reads
	// sleepers; a sleeper counts itself and then reads the claims, both
	// under mu: one of them sees the other.
	t.mu.Lock()
	t.sleepers.Add(1)
	for t.claims.Load() == w {
		t.cond.Wait()
	}
	t.sleepers.Add(-1)
	t.mu.Unlock()
}
