package gemm

import "testing"

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
