//go:build unix

package ops

import (
	"syscall"
	"time"
)

// procCPUTime is the CPU time the process has used (user and system), for
// benchmarks on shared machines.
func procCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
