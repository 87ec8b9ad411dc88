package ops

import "testing"

func TestScratchClasses(t *testing.T) {
	for n := 1; n < 1<<16; n++ {
		c := scratchClass(n)
		size := scratchSize(c)
		if size < n {
			t.Fatalf("class %d of %d elements holds %d", c, n, size)
		}
		if c > 0 && scratchSize(c-1) >= n {
			t.Fatalf("class %d of %d elements is not the smallest: class %d holds %d", c, n, c-1, scratchSize(c-1))
		}
		if n > 4 && 4*size > 5*n {
			t.Fatalf("class %d of %d elements wastes more than a quarter: %d", c, n, size)
		}
		if fit := scratchFits(n); scratchSize(fit) > n || (fit+1 < scratchClasses && scratchSize(fit+1) <= n) {
			t.Fatalf("a buffer of %d elements goes to class %d of size %d", n, fit, scratchSize(fit))
		}
	}
	for c := 0; c < scratchClasses; c++ {
		if got := scratchFits(scratchSize(c)); got != c {
			t.Fatalf("class %d's buffers (%d) go back to class %d", c, scratchSize(c), got)
		}
	}
	if scratchFits(0) != -1 {
		t.Fatalf("an empty buffer goes to class %d", scratchFits(0))
	}
}

// TestScratchReuse checks that buffers of the sizes a step asks for, put
// back, are handed out again without allocating, whatever the order of
// sizes (the single pool before dropped a buffer too small for the next
// request and allocated another).
func TestScratchReuse(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes allocations of its own")
	}
	sizes := []int{921600, 9600, 147456, 1000, 921600 / 2, 7}
	cycle := func() {
		for _, n := range sizes {
			b := getScratch[float32](n)
			if len(b) != n {
				t.Fatalf("getScratch(%d) has %d elements", n, len(b))
			}
			putScratch(b)
		}
		b := getScratch[float64](100)
		putScratch(b)
	}
	// A collection may empty the pools during a run: three tries.
	var a float64
	for range 3 {
		cycle()
		if a = testing.AllocsPerRun(20, cycle); a == 0 {
			break
		}
	}
	if a != 0 {
		t.Fatalf("%v allocations a cycle of get and put, want 0", a)
	}
	if b := getScratch[float32](0); b != nil {
		t.Fatalf("getScratch(0) = %v", b)
	}
}
