package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// CoreProbe is the GEMM micro-kernel's rate with one thread busy and with
// two at once. On this project's 2-vCPU machines the two vCPUs at times
// share one physical core's vector units (SMT siblings, or a sibling busy
// with another tenant): then two busy threads get about half a core each,
// and every 2-thread figure, ours and the references', is a 1-thread one.
// The probe runs before and after the workloads so that a report says which
// state it was measured in.
type CoreProbe struct {
	When   string `json:"when"`   // "before" or "after" the workloads
	Kernel string `json:"kernel"` // the GEMM kernel timed (ONNXTUNE_GEMM's, as the workers')
	// OneGFLOPS is one thread's rate; TwoGFLOPS each of two threads'
	// (their mean) while both run.
	OneGFLOPS number `json:"one_thread_gflops"`
	TwoGFLOPS number `json:"each_of_two_gflops"`
	// Scaling is 2*TwoGFLOPS/OneGFLOPS: about 2 with two whole cores,
	// about 1 with one core's vector units shared.
	Scaling number `json:"two_thread_scaling"`
}

// probeShape is the product the probe repeats: packed panels that fit in
// L2 (A 64 KB, B 256 KB), so the micro-kernel, not memory, sets the rate.
const probeM, probeN, probeK = 64, 256, 256

// probeCores measures the micro-kernel with one thread, then with two at
// once, each for about d.
func probeCores(when string, d time.Duration) CoreProbe {
	one := probeRates(1, d)
	two := probeRates(2, d)
	p := CoreProbe{When: when, Kernel: kernelName(), OneGFLOPS: number(one[0]), TwoGFLOPS: number((two[0] + two[1]) / 2)}
	if one[0] > 0 {
		p.Scaling = number((two[0] + two[1]) / one[0])
	}
	return p
}

// probeRates runs threads products at once, each on its own OS thread and
// its own operands, for about d, and returns each one's GFLOP/s.
func probeRates(threads int, d time.Duration) []float64 {
	rates := make([]float64, threads)
	var start, done sync.WaitGroup
	start.Add(1)
	for t := range threads {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a := make([]float32, probeM*probeK)
			b := make([]float32, probeK*probeN)
			for i := range a {
				a[i] = float32(i%7) * 0.125
			}
			for i := range b {
				b[i] = float32(i%5) * 0.25
			}
			c := make([]float32, probeM*probeN)
			pa := gemm.PackA(false, probeM, probeK, a, probeK)
			pb := gemm.PackB(false, probeK, probeN, b, probeN)
			pa.SgemmPacked(pb, 1, 0, c, probeN) // warm the caches
			start.Wait()
			n := 0
			t0 := time.Now()
			for time.Since(t0) < d {
				for range 16 {
					pa.SgemmPacked(pb, 1, 0, c, probeN)
				}
				n += 16
			}
			rates[t] = 2 * probeM * probeN * probeK * float64(n) / time.Since(t0).Seconds() / 1e9
		}()
	}
	start.Done()
	done.Wait()
	return rates
}

// String is the probe's line in the reports.
func (p CoreProbe) String() string {
	return fmt.Sprintf("%s the workloads: GEMM kernel %s %.0f GFLOP/s on one thread, %.0f each on two at once (2-thread scaling %.2f)",
		p.When, p.Kernel, float64(p.OneGFLOPS), float64(p.TwoGFLOPS), float64(p.Scaling))
}
