package main

import (
	"strings"
	"testing"
	"time"
)

// TestProbeCores checks that the probe measures a positive rate with one
// and two threads and that its scaling is their ratio.
func TestProbeCores(t *testing.T) {
	p := probeCores("before", 50*time.Millisecond)
	if !(p.OneGFLOPS > 0 && p.TwoGFLOPS > 0) {
		t.Fatalf("probe %+v: rates not positive", p)
	}
	if want := 2 * float64(p.TwoGFLOPS) / float64(p.OneGFLOPS); !near(float64(p.Scaling), want) {
		t.Errorf("scaling %v, want 2*two/one = %v", p.Scaling, want)
	}
	if s := p.String(); !strings.HasPrefix(s, "before the workloads: GEMM kernel "+kernelName()+" ") || !strings.Contains(s, "2-thread scaling") {
		t.Errorf("line %q", s)
	}
}
