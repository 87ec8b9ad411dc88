package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Splitting a product among goroutines: C is cut into a grid of blocks, each
// computed by the serial algorithm with its own packing, and the workers
// (the caller and up to procs-1 goroutines) claim blocks until none are
// left. Blocks are several per worker so that a worker that starts late (a
// sleeping thread to wake) or runs slow (a busy core) takes fewer of them.
const (
	// parallelMin is the number of multiply-adds (m·n·k) below which a
	// product runs on the caller's goroutine.
	parallelMin = 1 << 22
	// blockMin is the least work of a block, in multiply-adds.
	blockMin = 1 << 18
	// blocksPerWorker is the most blocks a worker gets.
	blocksPerWorker = 4
	// packCost is the cost of packing one element, in multiply-adds.
	packCost = 8
	// blockCost is the fixed cost of a block, in multiply-adds.
	blockCost = 1 << 15
)

// grid returns how many blocks to cut the rows (pm) and columns (pn) of C
// into for procs workers; 1, 1 means to stay on the caller's goroutine.
// Of the grids of at most blocksPerWorker blocks a worker (fewer if blocks
// would have less than blockMin work) it picks the one of least estimated
// time. The work is the padded multiply-adds plus packing (A once per block
// column, B once per block row) plus a fixed cost per block; the time is
// that of the rounds of blocks the workers run, plus one block for a worker
// that starts late or runs slow.
func grid(kn *kernel, m, n, k, procs int) (pm, pn int) {
	return gridRows(kn, m, n, k, procs, m)
}

// gridRows is grid with at most rowsMax blocks of rows (1 for a PackedA,
// whose blocks start at its own row offsets).
func gridRows(kn *kernel, m, n, k, procs, rowsMax int) (pm, pn int) {
	mr, nr := kn.mr, kn.nr
	work := m * n * k
	if procs <= 1 || work < parallelMin {
		return 1, 1
	}
	most := max(procs, min(blocksPerWorker*procs, work/blockMin))
	mt, nt := ceilDiv(m, mr), ceilDiv(n, nr)
	best := -1.0
	pm, pn = 1, 1
	for i := 1; i <= min(mt, most, rowsMax); i++ {
		for j := 1; j <= min(nt, most/i); j++ {
			bm, bn := ceilDiv(mt, i)*mr, ceilDiv(nt, j)*nr
			block := float64(bm*bn*k) + packCost*float64(k*(bm+bn)) + blockCost
			t := block * float64(ceilDiv(i*j, procs)+1)
			if best < 0 || t < best {
				best, pm, pn = t, i, j
			}
		}
	}
	return pm, pn
}

// job is a product cut into pm×pn blocks that workers claim through next;
// the worker that completes the last block closes finished.
type job struct {
	product
	task           func(i int) // set for Parallel: the blocks are calls of task
	pm, pn, mt, nt int
	total          int64
	next, done     atomic.Int64
	finished       chan struct{}
	fault          atomic.Pointer[fault] // the first panic of a task
}

// fault is a panic a task raised on some goroutine; run raises it again on
// the caller's, where the caller's recover can see it.
type fault struct{ v any }

// run works on j with up to helpers other goroutines (the team's, or new
// ones when the team is busy) and returns when every block is done.
func (j *job) run(helpers int) {
	if !team.post(j, helpers) {
		for range helpers {
			go j.work()
		}
	}
	j.work()
	j.wait()
	team.posted.CompareAndSwap(j, nil)
	if f := j.fault.Load(); f != nil {
		panic(f.v)
	}
}

// wait returns when every block of j is done. A caller that runs out of
// blocks while a helper finishes its last one polls the count for up to
// waitFor before it parks on finished: parking costs a wake-up through the
// scheduler (and the thread's sleep and wake when its core has nothing
// else to run) at every parallel step, and a network's inference runs a
// hundred of them, most of them short. The count is read between yields
// of the caller's P, as the helpers poll for jobs.
func (j *job) wait() {
	if j.done.Load() == j.total {
		return
	}
	start := time.Now()
	for i := 1; ; i++ {
		for range waitReads {
			if j.done.Load() == j.total {
				return
			}
		}
		if i%8 == 0 && time.Since(start) >= waitFor {
			break
		}
		runtime.Gosched()
	}
	<-j.finished
}

// waitFor is how long a caller polls for its job's end before parking;
// waitReads is how many reads of the count it makes between yields, and
// pollReads how many reads of the posted job a helper makes.
const (
	waitFor   = 50 * time.Microsecond
	waitReads = 64
	pollReads = 512
)

// call runs task i; a panic is kept for run instead of ending the process
// from a helper goroutine.
func (j *job) call(i int) {
	defer func() {
		if r := recover(); r != nil {
			j.fault.CompareAndSwap(nil, &fault{r})
		}
	}()
	j.task(i)
}

// parallel computes p as pm×pn blocks on up to procs goroutines, the
// caller's included. It returns when every block is done, without waiting
// for helpers that come too late to claim one: they find none left and
// leave without touching C.
func (p *product) parallel(pm, pn, procs int) {
	j := &job{
		product: *p, pm: pm, pn: pn, mt: ceilDiv(p.m, p.kern.mr), nt: ceilDiv(p.n, p.kern.nr),
		total: int64(pm * pn), finished: make(chan struct{}),
	}
	helpers := min(procs, pm*pn) - 1
	j.run(helpers)
}

// Ranges calls f over [0, n) split into at most workers ranges of equal
// length (the last one shorter), run as Parallel runs its calls; with
// workers below 2, f(0, n) on the caller's goroutine.
func Ranges(n, workers int, f func(lo, hi int)) {
	if workers <= 1 {
		f(0, n)
		return
	}
	step := (n + workers - 1) / workers
	Parallel((n+step-1)/step, func(i int) {
		lo := i * step
		f(lo, min(lo+step, n))
	})
}

// Parallel calls f(i) for every i in [0, n), on the caller's goroutine and
// the helper goroutines of the products, which keep polling for a moment
// after each job: a program that runs many short parallel steps back to
// back (the kernels of a network) does not wait for a parked thread to wake
// each time. The calls may run concurrently and in any order; Parallel
// returns when all are done. A call nested in another Parallel or Sgemm
// runs on goroutines of its own.
func Parallel(n int, f func(i int)) {
	procs := runtime.GOMAXPROCS(0)
	if n <= 1 || procs <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	j := &job{task: f, total: int64(n), finished: make(chan struct{})}
	helpers := min(procs, n) - 1
	j.run(helpers)
}

// open reports whether j has blocks left to claim.
func (j *job) open() bool { return j.next.Load() < j.total }

// work computes blocks until none are left.
func (j *job) work() {
	if !j.open() {
		return
	}
	var buf *buffers
	if j.task == nil {
		buf = pool.get()
		defer pool.put(buf)
	}
	for {
		t := j.next.Add(1) - 1
		if t >= j.total {
			return
		}
		if j.task != nil {
			j.call(int(t))
		} else {
			j.compute(int(t), buf)
		}
		if j.done.Add(1) == j.total {
			close(j.finished)
		}
	}
}

// compute computes block t of the grid (numbered row by row) with buf.
func (j *job) compute(t int, buf *buffers) {
	bi, bj := t/j.pn, t%j.pn
	mr, nr := j.kern.mr, j.kern.nr
	i0, i1 := min(j.m, j.mt*bi/j.pm*mr), min(j.m, j.mt*(bi+1)/j.pm*mr)
	j0, j1 := min(j.n, j.nt*bj/j.pn*nr), min(j.n, j.nt*(bj+1)/j.pn*nr)
	if i0 == i1 || j0 == j1 {
		return
	}
	q := j.block(i0, i1, j0, j1)
	q.serial(buf)
}

// spinFor is how long a helper keeps polling for jobs after its last one
// before it parks. Waking a parked goroutine on an idle core can take
// 100 µs or more (measured in a VM), as long as a mid-sized product takes;
// parking after every job (no polling) cost the ResNet-18 step 70% more CPU
// time in wake-ups. Polling long costs a busy machine the other way: at
// 1 ms, the ResNet-18 step at GOMAXPROCS=2 took 1.6 times the CPU time of
// one core and twice its wall time while other processes kept both cores
// busy, since the poller takes turns on a core with the thread doing the
// work; at 50 µs, 1.1 times the CPU time and about the same wall time
// (docs/performance.md, "ResNet-18 step and inference").
const spinFor = 50 * time.Microsecond

// spinHot is how long a helper polls while a caller holds the team hot
// (Hot): an inference run, a chain of short products and serial stretches
// between them. A helper that parks between them is woken dozens of times
// a run, 75-165 µs late each time in this VM, and the kernel (booted with
// sched_vcpu_pack) tends to place the thread it wakes on the busy core of
// the thread that woke it: then caller and helper take turns on one core
// while the other idles, and MobileNetV2's inference on two cores ran one
// run in six to ten at half speed. Polling 500 µs bridges the serial
// stretches, so the helper parks once a run or not at all (docs/
// performance.md, "Two cores that stay two"). On a machine whose cores
// other processes keep busy the polling thread spends its share of a core
// (ResNet-18's inference about 1.3 times as long as with 50 µs, still less
// than ONNX Runtime's, whose threads spin through a run too), so training,
// whose products are long, keeps spinFor.
const spinHot = 500 * time.Microsecond

// yieldEvery is how many polls (about a microsecond each) a hot helper
// makes between yields of its P, so that other goroutines of the program
// wait at most tens of microseconds for it.
const yieldEvery = 16

// Hot keeps the helpers polling spinHot after their jobs, instead of
// spinFor, until the returned function is called; calls may overlap.
// ops.Runner holds the team hot for each inference run.
func Hot() (release func()) {
	team.hot.Add(1)
	return func() {
		team.cooled.Store(clock())
		team.hot.Add(-1)
	}
}

// clock is the time since the package started, in nanoseconds.
func clock() int64 { return int64(time.Since(epoch)) }

var epoch = time.Now()

// team is the helper goroutines, started as needed (one fewer than
// GOMAXPROCS at most) and never stopped. A caller posts its job; helpers
// that are polling pick it up at once, parked ones are woken.
var team = helpers{wake: make(chan struct{}, maxHelpers)}

// maxHelpers bounds the team; callers wanting more start goroutines.
const maxHelpers = 256

type helpers struct {
	mu      sync.Mutex
	started int
	posted  atomic.Pointer[job]
	parked  atomic.Int32
	hot     atomic.Int32 // callers in Hot
	cooled  atomic.Int64 // clock() at the last release of Hot
	wake    chan struct{}
}

// post offers j to n helpers, or reports false if another job is posted
// (a concurrent call) or the team cannot grow to n.
func (h *helpers) post(j *job, n int) bool {
	if n > maxHelpers || !h.posted.CompareAndSwap(nil, j) {
		return false
	}
	h.mu.Lock()
	for ; h.started < n; h.started++ {
		go h.run()
	}
	h.mu.Unlock()
	// A parked helper takes 80 µs or more to wake, and a caller posts
	// short jobs faster: a wake-up still in the channel will wake a parked
	// helper, and one more for it would outlive its job and make the helper
	// poll again, for nothing, each time it next parks (up to 38 times
	// after a ResNet-18 run). A wake-up handed to a helper blocked on the
	// channel is not counted by len, so a helper can still find one left.
	for range min(n, int(h.parked.Load())-len(h.wake)) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// poll returns the posted job if it has blocks left, reading up to
// pollReads times (about a microsecond): a yield of the P after every read
// went through the scheduler's global queue and lock each time, a tenth of
// the CPU time of MobileNetV2's inference on two threads.
func (h *helpers) poll() *job {
	for range pollReads {
		if j := h.posted.Load(); j != nil && j.open() {
			return j
		}
	}
	return nil
}

// idle reports whether a caller holds the team Hot and whether a helper
// whose last job ended at last (clock's time) should stop polling at now:
// after spinFor, or spinHot while hot; a release of Hot counts as a job's
// end.
func (h *helpers) idle(last, now int64) (hot, stop bool) {
	hot = h.hot.Load() > 0
	if !hot {
		last = max(last, h.cooled.Load())
	}
	d := time.Duration(now - last)
	return hot, d >= spinHot || !hot && d >= spinFor
}

// run is a helper's loop: work on posted jobs, poll for spinFor (spinHot
// while the team is hot) after the last one, then park until woken.
func (h *helpers) run() {
	for {
		last := clock()
		for i := 1; ; i++ {
			hot, stop := h.idle(last, clock())
			if stop {
				break
			}
			if j := h.poll(); j != nil {
				j.work()
				last = clock()
				continue
			}
			if !hot || i%yieldEvery == 0 {
				runtime.Gosched()
			}
		}
		h.parked.Add(1)
		// A job posted before the increment was not signalled: look again.
		if j := h.posted.Load(); j == nil || !j.open() {
			<-h.wake
		}
		h.parked.Add(-1)
	}
}
