//go:build !purego

package gemm

// prefetchAsk asks for the lines of n floats at p: prefetchLines (a
// variable so that tests can record what is asked).
var prefetchAsk = prefetchLines

// prefetchLines asks for the 64-byte lines that hold the n floats at p
// (n > 0), one PREFETCHT0 a line.
//
//go:noescape
func prefetchLines(p *float32, n int)
