// Package vec holds the engine's hot float32 loops outside the matrix
// multiply (ReLU and its gradient, BatchNorm's statistics and affine maps,
// the SGD update, MaxPool) in AVX2 and AVX-512 assembly, with portable Go
// equivalents.
//
// The vector width follows internal/gemm's kernel choice, so that
// ONNXTUNE_GEMM=avx2 (or generic) also runs these loops at that level: a
// run with AVX-512 turned off measures the AVX2 figure of the whole step.
//
// The elementwise functions compute exactly what the Go loops compute, in
// the same float32 operations (no fused multiply-adds), so their results
// are bit for bit those of the portable code. The reductions accumulate in
// float64 over more lanes than the Go loops (four lanes, two for DotDev),
// so their sums can differ from the portable ones in the last bits of a
// float64.
//
// [MaxPool2D] is a 2-D max pool (values and first-maximum argmax) at the
// AVX-512 and AVX2 levels; at the generic level it reports false and the
// caller runs its own loops. Its values are Go's max over the window, bit
// for bit but for the bits of a NaN.
//
// Slices of unequal length are a programming error and panic, as an index
// out of range does.
package vec
