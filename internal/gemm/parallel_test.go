package gemm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// A task that panics on a helper goroutine must not end the process: the
// panic comes back on the caller's goroutine, where it can be recovered.
func TestParallelPanicReachesCaller(t *testing.T) {
	for range 20 {
		got := func() (r any) {
			defer func() { r = recover() }()
			Parallel(8, func(i int) {
				if i == 5 {
					panic("task 5")
				}
			})
			return nil
		}()
		if got != "task 5" {
			t.Fatalf("recovered %v, want the task's panic", got)
		}
	}
}

// TestJobClaimsBothEnds: the caller claims a job's blocks from the front
// and helpers from the back, meeting in the middle, each block once; it
// replaces one counter that handed out blocks in order to whoever came.
func TestJobClaimsBothEnds(t *testing.T) {
	j := newJob(7)
	var got []int64
	for _, front := range []bool{true, false, false, true, true, false, true, false, true} {
		b, ok := j.claim(front)
		if !ok {
			got = append(got, -1)
			continue
		}
		got = append(got, b)
	}
	want := []int64{0, 6, 5, 1, 2, 4, 3, -1, -1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("claims (front, back, back, front, front, back, front, back, front) = %v, want %v", got, want)
	}
	if j.open() {
		t.Error("a job with every block claimed is open")
	}
	// Concurrent claims from both ends take every block once.
	for _, n := range []int64{1, 2, 3, 64, 1000} {
		j := newJob(n)
		seen := make([]atomic.Int32, n)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					b, ok := j.claim(w == 0)
					if !ok {
						return
					}
					seen[b].Add(1)
				}
			}()
		}
		wg.Wait()
		for b := range seen {
			if c := seen[b].Load(); c != 1 {
				t.Fatalf("%d blocks: block %d claimed %d times", n, b, c)
			}
		}
	}
}
