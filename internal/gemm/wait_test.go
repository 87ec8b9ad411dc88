package gemm

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelWaitsForEveryTask checks that Parallel returns only after
// every call has returned, whether the caller's wait ends while polling
// (short tasks) or parked on the job's channel (a task that outlasts
// waitFor), and that it sees each task's writes.
func TestParallelWaitsForEveryTask(t *testing.T) {
	for _, d := range []time.Duration{0, 10 * time.Microsecond, 4 * waitFor} {
		for range 20 {
			var running atomic.Int32
			out := make([]int, 8)
			Parallel(len(out), func(i int) {
				running.Add(1)
				if i == len(out)-1 {
					time.Sleep(d)
				}
				out[i] = i + 1
				running.Add(-1)
			})
			if n := running.Load(); n != 0 {
				t.Fatalf("task %v: Parallel returned with %d calls running", d, n)
			}
			for i, v := range out {
				if v != i+1 {
					t.Fatalf("task %v: out[%d] = %d, want %d", d, i, v, i+1)
				}
			}
		}
	}
}
