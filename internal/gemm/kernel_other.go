//go:build !amd64 || purego

package gemm

// available is the kernels of this build: the portable one only.
func available() []*kernel { return []*kernel{generic} }
