//go:build unix

package train

import (
	"runtime"
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

// peakRSSMB is the process's peak resident set in MB (ru_maxrss, which
// Linux keeps in kB: VmHWM of /proc/self/status). Run one benchmark per
// process (-bench '^Name$') for it to be that benchmark's own.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" { // bytes there
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}
