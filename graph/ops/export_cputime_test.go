package ops

// ProcCPUTime is procCPUTime for the external tests' benchmarks: with -cpu 1
// its growth over a step is the step's work whatever other tenants do with
// the cores.
var ProcCPUTime = procCPUTime
