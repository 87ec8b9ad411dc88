package ops

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestLSTMBatchMatchUnits compares the recurrences cut by examples
// (lstmForward32Batch, lstmBackward32Batch) with the ones cut by units that
// they replace when there are no peepholes: the same pack and gradients
// bit for bit, forward, reverse and bidirectional, with and without biases
// and initial states, batches cut evenly and not, hidden sizes whose
// products take one and several blocks of the sum (H 300), at GOMAXPROCS
// 1 to 3.
func TestLSTMBatchMatchUnits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { lstmFwd32, lstmBwd32 = lstmForward32, lstmBackward32 }()
	for k, tc := range []lstmCase{
		{dirs: 1, bias: true, H: 256, T: 6, B: 32, I: 16},
		{dirs: 1, reverse: true, states: true, H: 300, T: 4, B: 17, I: 5},
		{dirs: 2, bias: true, states: true, H: 96, T: 3, B: 24, I: 2},
		{dirs: 1, H: 8, T: 5, B: 9, I: 3},
		{dirs: 1, bias: true, H: 40, T: 1, B: 64, I: 7},
	} {
		c, sizes, in, dpack := tc.build(int64(k + 23))
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d/%dprocs", k, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				lstmFwd32, lstmBwd32 = lstmForward32Units, lstmBackward32Units
				pack0, grad0 := lstmRun[float32](t, c, sizes, in, dpack)
				lstmFwd32, lstmBwd32 = lstmForward32Batch, lstmBackward32Batch
				// packWait 0: the forward's members pack their own
				// copies of the pieces they find in flight.
				defer func(w time.Duration) { packWait = w }(packWait)
				for _, wait := range []time.Duration{packWait, 0} {
					packWait = wait
					pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
					sameBits64(t, fmt.Sprintf("packWait %v: pack", wait), pack, pack0)
					sameBits64(t, fmt.Sprintf("packWait %v: gradient", wait), grad, grad0)
				}
			})
		}
	}
}

// TestLSTMBatches checks the cut of a batch among the cores: contiguous
// shares of at least lstmBatchMin examples, one a core at most, and which
// layers it serves (none with peepholes).
func TestLSTMBatches(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs, B int
		want     []int
	}{
		{1, 32, []int{0, 32}},
		{2, 32, []int{0, 16, 32}},
		{3, 32, []int{0, 10, 21, 32}},
		{2, 15, []int{0, 15}},
		{2, 16, []int{0, 8, 16}},
		{8, 17, []int{0, 8, 17}},
	} {
		runtime.GOMAXPROCS(tc.procs)
		if got := lstmBatches(tc.B); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GOMAXPROCS %d, B %d: %v, want %v", tc.procs, tc.B, got, tc.want)
		}
	}
	runtime.GOMAXPROCS(2)
	c := &rnnCfg{B: 32}
	if !lstmByExamples(c, &rnnIn[float32]{}) || lstmByExamples(c, &rnnIn[float32]{p: make([]float32, 3)}) {
		t.Error("B 32 at 2 cores: want the cut by examples without peepholes only")
	}
}

// TestSharedPack checks sharedPack: every member gets every piece, each
// packed once, whoever comes first or late; a panic in a piece reaches the
// member that packed it and leaves the others with a nil piece instead of
// waiting for ever. packWait is long here, so that no member copies.
func TestSharedPack(t *testing.T) {
	defer func(w time.Duration) { packWait = w }(packWait)
	packWait = time.Hour
	get := func(sp *sharedPack) []*gemm.PackedB {
		p, own := sp.getOwn()
		if own != nil {
			t.Errorf("a member copied %d pieces", len(own))
		}
		return p
	}
	var calls [5]atomic.Int32
	sp := newSharedPack(5, func(i int) *gemm.PackedB {
		calls[i].Add(1)
		return gemm.PackB(false, 3, i+1, make([]float32, 3*(i+1)), i+1)
	})
	var wg sync.WaitGroup
	got := make([][]*gemm.PackedB, 3)
	for m := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[m] = get(sp)
		}()
	}
	wg.Wait()
	late := get(sp)
	for i := range 5 {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("piece %d packed %d times", i, n)
		}
		for m := range got {
			if got[m][i] == nil || got[m][i] != late[i] {
				t.Errorf("member %d, piece %d: %p, want %p", m, i, got[m][i], late[i])
			}
		}
	}
	sp = newSharedPack(2, func(i int) *gemm.PackedB {
		if i == 0 {
			panic("boom")
		}
		time.Sleep(time.Millisecond)
		return gemm.PackB(false, 1, 1, []float32{1}, 1)
	})
	done := make(chan []*gemm.PackedB)
	go func() {
		defer func() { recover() }()
		get(sp) // claims piece 0 first, and panics
	}()
	for sp.next.Load() == 0 {
		runtime.Gosched()
	}
	go func() { done <- get(sp) }()
	select {
	case p := <-done:
		if p[0] != nil || p[1] == nil {
			t.Errorf("after a panic in piece 0: %v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a member waits for ever after a panic in a piece")
	}
}

// TestSharedPackOwn checks getOwn: a member that finds a piece still being
// packed by another after packWait packs its own copy, with the same bits
// as the shared piece (the products with it are the same), and lists it
// to be released; the shared pieces it did not copy are the shared ones;
// a member that comes when every piece is packed gets the shared pieces
// and no copies.
func TestSharedPackOwn(t *testing.T) {
	defer func(w time.Duration) { packWait = w }(packWait)
	packWait = 100 * time.Microsecond
	const k, n = 5, 19
	r := rand.New(rand.NewSource(3))
	b := make([]float32, 3*k*n)
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	hold, held := make(chan struct{}), make(chan struct{})
	var calls [3]atomic.Int32
	sp := newSharedPack(3, func(i int) *gemm.PackedB {
		if calls[i].Add(1) == 1 && i == 0 {
			close(held)
			<-hold // the first pack of piece 0 waits for the test
		}
		return gemm.PackB(true, k, n, b[i*k*n:], k)
	})
	first := make(chan []*gemm.PackedB)
	go func() {
		p, own := sp.getOwn()
		if len(own) != 0 {
			t.Errorf("the first member copied %d pieces", len(own))
		}
		first <- p
	}()
	<-held
	var got, own []*gemm.PackedB
	second := make(chan struct{})
	go func() {
		defer close(second)
		got, own = sp.getOwn()
	}()
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("a member waits for a piece in flight instead of packing its own copy")
	}
	if len(own) != 1 || got[0] != own[0] || calls[0].Load() != 2 {
		t.Fatalf("with piece 0 in flight: own %v, piece 0 %p, %d packs of piece 0; want one copy of piece 0",
			own, got[0], calls[0].Load())
	}
	close(hold)
	shared := <-first
	for i := 1; i < 3; i++ {
		if got[i] != shared[i] || calls[i].Load() != 1 {
			t.Errorf("piece %d: %p, shared %p, packed %d times", i, got[i], shared[i], calls[i].Load())
		}
	}
	a := make([]float32, 4*k)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	pa := gemm.NewPackedA(4, k)
	pa.SetCols(false, 0, k, a, k)
	c0, c1 := make([]float32, 4*n), make([]float32, 4*n)
	pa.SgemmPacked(shared[0], 1, 0, c0, n)
	pa.SgemmPacked(got[0], 1, 0, c1, n)
	for i := range c0 {
		if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
			t.Fatalf("product with the copy [%d] = %v, with the shared piece %v", i, c1[i], c0[i])
		}
	}
	releasePacks(own)
	late, lateOwn := sp.getOwn()
	if len(lateOwn) != 0 || late[0] != shared[0] {
		t.Errorf("a late member: %d copies, piece 0 %p, want the shared %p", len(lateOwn), late[0], shared[0])
	}
}
