//go:build !amd64 || purego

package gemm

// prefetchAsk is nil in this build: products ask for no lines.
var prefetchAsk func(p *float32, n int)
