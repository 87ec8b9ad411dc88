//go:build !unix

package train

import "time"

// cpuTime is not measured here: benchmarks report it as zero.
func cpuTime() time.Duration { return 0 }

// peakRSSMB is not measured here: benchmarks report it as zero.
func peakRSSMB() float64 { return 0 }
