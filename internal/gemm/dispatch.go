package gemm

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// EnvKernel is the environment variable that picks the micro-kernel:
// avx512, avx2 or generic. Unset or empty, the package uses the best kernel
// the CPU and OS support.
const EnvKernel = "ONNXTUNE_GEMM"

var (
	chooseOnce sync.Once
	chosen     *kernel
	chooseErr  error

	// forced, when set, is used instead of the chosen kernel (tests and
	// benchmarks that compare kernels).
	forced *kernel
)

// current returns the kernel for the next product: the one ONNXTUNE_GEMM
// names, read once at first use, or the best available.
func current() *kernel {
	if k := forced; k != nil {
		return k
	}
	chooseOnce.Do(func() { chosen, chooseErr = choose(os.Getenv(EnvKernel), available()) })
	return chosen
}

// choose returns the kernel named name among avail (best first), or the best
// one when name is empty. A name that is unknown or that this machine cannot
// run gives the best kernel and an error that says so.
func choose(name string, avail []*kernel) (*kernel, error) {
	if name == "" {
		return avail[0], nil
	}
	for _, k := range avail {
		if k.name == name {
			return k, nil
		}
	}
	have := make([]string, len(avail))
	for i, k := range avail {
		have[i] = k.name
	}
	switch name {
	case "avx512", "avx2", "generic":
		return avail[0], fmt.Errorf("%s=%s: this CPU or OS does not support it (available: %s)", EnvKernel, name, strings.Join(have, ", "))
	}
	return avail[0], fmt.Errorf("%s=%q: unknown kernel, want avx512, avx2 or generic (available here: %s)", EnvKernel, name, strings.Join(have, ", "))
}

// Kernel returns the name of the micro-kernel the products use (avx512,
// avx2 or generic) and, when ONNXTUNE_GEMM names a kernel that is unknown
// or that this machine cannot run, an error saying so; the products then
// use the best kernel available, whose name is returned. A program should
// call it at start-up and refuse to run on an error, so that a measurement
// meant for one kernel is not silently made with another.
func Kernel() (string, error) {
	k := current()
	if forced != nil {
		return k.name, nil
	}
	return k.name, chooseErr
}

// Kernels returns the names of the kernels this machine runs, best first.
func Kernels() []string {
	avail := available()
	names := make([]string, len(avail))
	for i, k := range avail {
		names[i] = k.name
	}
	return names
}
