//go:build !amd64 || purego

package gemm

// epiMicro returns nil: no kernel of this build has an epilogue.
func epiMicro(*kernel) epiFunc { return nil }

// epiSplit returns nil: no kernel of this build has an epilogue.
func epiSplit(*kernel) epiSplitFunc { return nil }
