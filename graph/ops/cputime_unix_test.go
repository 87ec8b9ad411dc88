//go:build unix

package ops_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (user and system), for
// benchmarks on shared machines: with -cpu 1 its growth over a step is the
// step's work whatever other tenants do with the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
