package gemm

import (
	"runtime"
	"testing"
	"time"
)

// TestHelperIdle checks when a helper stops polling: spinFor after its last
// job, spinHot while a caller holds the team Hot, and spinFor after the
// release when that is later than its last job.
func TestHelperIdle(t *testing.T) {
	us := func(n int64) int64 { return n * int64(time.Microsecond) }
	sf, sh := int64(spinFor), int64(spinHot)
	cases := []struct {
		name         string
		hot          int32
		cooled, last int64
		now          int64
		want         bool
	}{
		{"cold, just worked", 0, 0, us(1000), us(1000) + sf - 1, false},
		{"cold, spinFor since work", 0, 0, us(1000), us(1000) + sf, true},
		{"hot, spinFor since work", 1, 0, us(1000), us(1000) + sf, false},
		{"hot, just under spinHot", 2, 0, us(1000), us(1000) + sh - 1, false},
		{"hot, spinHot since work", 1, 0, us(1000), us(1000) + sh, true},
		{"released after the work", 0, us(1200), us(1000), us(1200) + sf - 1, false},
		{"released, spinFor since", 0, us(1200), us(1000), us(1200) + sf, true},
		{"released before the work", 0, us(800), us(1000), us(1000) + sf, true},
		{"hot again, released long ago", 1, us(100), us(1000), us(1000) + sf, false},
	}
	for _, c := range cases {
		var h helpers
		h.hot.Store(c.hot)
		h.cooled.Store(c.cooled)
		hot, stop := h.idle(c.last, c.now)
		if hot != (c.hot > 0) || stop != c.want {
			t.Errorf("%s: idle = hot %v, stop %v; want %v, %v", c.name, hot, stop, c.hot > 0, c.want)
		}
	}
}

// TestHotReleases checks that Hot and its release move the team's count and
// the time of the last release, and that the helpers park once released.
func TestHotReleases(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 for a helper")
	}
	Parallel(2, func(int) {}) // a helper exists
	r1 := Hot()
	r2 := Hot()
	if n := team.hot.Load(); n != 2 {
		t.Fatalf("two Hot calls: count %d, want 2", n)
	}
	before := clock()
	r1()
	r2()
	if n := team.hot.Load(); n != 0 {
		t.Fatalf("released: count %d, want 0", n)
	}
	if c := team.cooled.Load(); c < before {
		t.Fatalf("release at %d, before the call at %d", c, before)
	}
	team.mu.Lock()
	started := int32(team.started)
	team.mu.Unlock()
	start := time.Now()
	for team.parked.Load() < started && time.Since(start) < 2*time.Second {
		time.Sleep(spinFor)
	}
	if p := team.parked.Load(); p < started {
		t.Errorf("%d of %d helpers parked within 2 s of Hot's release", p, started)
	}
}

// TestPostWakesOnce checks that posts send a parked helper one wake-up, not
// one per post: a caller posting short jobs faster than a parked helper
// wakes (80 µs or more here) sent one with each, and the helper, taking
// them one per park, polled again after each, spinFor (spinHot when hot)
// as many times as it had wake-ups left after a run, not once.
func TestPostWakesOnce(t *testing.T) {
	// A team of one helper, parked and not yet woken: no goroutine runs.
	h := &helpers{wake: make(chan struct{}, maxHelpers), started: 1}
	h.parked.Store(1)
	for i := range 8 {
		j := &job{task: func(int) {}, total: 1, finished: make(chan struct{})}
		if !h.post(j, 1) {
			t.Fatalf("post %d refused", i)
		}
		h.posted.CompareAndSwap(j, nil) // the caller did it alone
		if n := len(h.wake); n != 1 {
			t.Fatalf("after %d posts: %d wake-ups waiting for 1 parked helper, want 1", i+1, n)
		}
	}
	// Woken, it takes its wake-up; the next post wakes it again once parked.
	<-h.wake
	h.parked.Store(0)
	j := &job{task: func(int) {}, total: 1, finished: make(chan struct{})}
	if !h.post(j, 1) || len(h.wake) != 0 {
		t.Fatalf("post with no helper parked: %d wake-ups, want 0", len(h.wake))
	}
	h.posted.Store(nil)
	h.parked.Store(1)
	if !h.post(j, 1) || len(h.wake) != 1 {
		t.Fatalf("post to a helper parked again: %d wake-ups, want 1", len(h.wake))
	}
}
