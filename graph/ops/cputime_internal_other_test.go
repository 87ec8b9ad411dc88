//go:build !unix

package ops

import "time"

// procCPUTime is not measured here: benchmarks report it as zero.
func procCPUTime() time.Duration { return 0 }
