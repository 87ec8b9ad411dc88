package data

import (
	"errors"
	"image/color"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testsafe"
)

// counting returns an .npz dataset of n examples [i, -i] labelled i % 3.
func counting(t *testing.T, n int) Dataset {
	t.Helper()
	x := make([]float32, 2*n)
	y := make([]int64, n)
	for i := range n {
		x[2*i], x[2*i+1] = float32(i), -float32(i)
		y[i] = int64(i % 3)
	}
	ds, err := OpenNPZ(writeNPZ(t, "count.npz", map[string]npz.Array{
		"x": {Shape: []int{n, 2}, Data: x}, "y": {Shape: []int{n}, Data: y},
	}))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// epochIndices runs an epoch, checks each batch's consistency and returns
// the examples in the order the batches gave them.
func epochIndices(t *testing.T, l *Loader, epoch, n, batch int) []int {
	t.Helper()
	var got []int
	i := 0
	for b, err := range l.Epoch(epoch) {
		if err != nil {
			t.Fatal(err)
		}
		want := min(batch, n-i*batch)
		if b.N != want || len(b.Labels) != want || len(b.Indices) != want || b.Targets != nil {
			t.Fatalf("batch %d: N %d, %d labels, %d indices, targets %v; want %d", i, b.N, len(b.Labels), len(b.Indices), b.Targets, want)
		}
		if s := b.Inputs["x"].Shape(); !reflect.DeepEqual([]int(s), []int{want, 2}) || b.Inputs["x"].Dtype() != tensor.Float32 {
			t.Fatalf("batch %d: X %v %v, want [%d 2] float32", i, s, b.Inputs["x"].Dtype(), want)
		}
		x := b.Inputs["x"].Data().([]float32)
		for k := range want {
			idx := b.Indices[k]
			if x[2*k] != float32(idx) || x[2*k+1] != -float32(idx) || b.Labels[k] != int64(idx%3) {
				t.Fatalf("batch %d row %d: x %v label %d, want example %d", i, k, x[2*k:2*k+2], b.Labels[k], idx)
			}
		}
		got = append(got, b.Indices...)
		i++
	}
	if i != l.Batches() {
		t.Fatalf("epoch gave %d batches, Batches() = %d", i, l.Batches())
	}
	return got
}

func TestLoader(t *testing.T) {
	tests := []struct {
		name     string
		n, batch int
		batches  int
	}{
		{"divides", 12, 4, 3},
		{"partial last batch", 10, 4, 3},
		{"batch of one", 5, 1, 5},
		{"one batch", 10, 10, 1},
		{"batch larger than the data", 7, 64, 1},
		{"one example", 1, 3, 1},
		{"odd", 23, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := counting(t, tc.n)
			for _, shuffle := range []bool{false, true} {
				l, err := NewLoader(ds, tc.batch, shuffle, 42)
				if err != nil {
					t.Fatal(err)
				}
				if l.Batches() != tc.batches {
					t.Fatalf("Batches() = %d, want %d", l.Batches(), tc.batches)
				}
				for epoch := range 3 {
					got := epochIndices(t, l, epoch, tc.n, tc.batch)
					if !reflect.DeepEqual(got, l.Order(epoch)) {
						t.Errorf("shuffle %v epoch %d: batches gave %v, Order says %v", shuffle, epoch, got, l.Order(epoch))
					}
					sorted := slices.Sorted(slices.Values(got))
					for i, v := range sorted {
						if v != i {
							t.Fatalf("shuffle %v epoch %d: examples %v are not each example once", shuffle, epoch, got)
						}
					}
					if !shuffle && !slices.IsSorted(got) {
						t.Errorf("epoch %d without shuffle is not in file order: %v", epoch, got)
					}
				}
			}
		})
	}
}

func TestLoaderOrder(t *testing.T) {
	ds := counting(t, 50)
	l1, _ := NewLoader(ds, 8, true, 7)
	l2, _ := NewLoader(ds, 8, true, 7)
	other, _ := NewLoader(ds, 8, true, 8)
	tests := []struct {
		name  string
		a, b  []int
		equal bool
	}{
		{"same seed and epoch", l1.Order(3), l2.Order(3), true},
		{"other epoch", l1.Order(3), l1.Order(4), false},
		{"other seed", l1.Order(3), other.Order(3), false},
		{"batch size does not matter", l1.Order(2), mustLoader(t, ds, 5, 7).Order(2), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if reflect.DeepEqual(tc.a, tc.b) != tc.equal {
				t.Errorf("orders %v and %v: equal %v, want %v", tc.a, tc.b, !tc.equal, tc.equal)
			}
		})
	}

	t.Run("resume", func(t *testing.T) {
		// An uninterrupted run over epochs 0-3 and a fresh loader starting
		// at epoch 3, batch 2 see the same batches.
		var full [][]int
		for e := range 4 {
			for b, err := range l1.Epoch(e) {
				if err != nil {
					t.Fatal(err)
				}
				if e == 3 {
					full = append(full, b.Indices)
				}
			}
		}
		fresh := mustLoader(t, ds, 8, 7)
		for i := 2; i < fresh.Batches(); i++ {
			b, err := fresh.Batch(3, i)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Indices, full[i]) {
				t.Errorf("resumed batch %d = %v, uninterrupted %v", i, b.Indices, full[i])
			}
		}
	})

	t.Run("stable across versions", func(t *testing.T) {
		// The order is part of the checkpoint format: it must never change.
		// These values are what permutation gave when it was written.
		want := []int{6, 4, 7, 2, 9, 1, 5, 0, 8, 3}
		if got := permutation(10, 1, 0); !reflect.DeepEqual(got, want) {
			t.Errorf("permutation(10, 1, 0) = %v, was %v", got, want)
		}
	})

	t.Run("SplitMix64 reference", func(t *testing.T) {
		// The first outputs of Vigna's splitmix64.c seeded with 1234567.
		want := []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}
		r := splitMix{1234567}
		for i, w := range want {
			if got := r.next(); got != w {
				t.Errorf("output %d = %d, want %d", i, got, w)
			}
		}
	})

	t.Run("Order returns a copy", func(t *testing.T) {
		o := l1.Order(9)
		o[0], o[1] = o[1], o[0]
		if reflect.DeepEqual(o, l1.Order(9)) {
			t.Error("changing Order's result changed the loader")
		}
	})
}

func mustLoader(t *testing.T, ds Dataset, batch int, seed int64) *Loader {
	t.Helper()
	l, err := NewLoader(ds, batch, true, seed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoaderTargetsAndInt64(t *testing.T) {
	ds, err := OpenNPZ(writeNPZ(t, "d.npz", map[string]npz.Array{
		"x": {Shape: []int{3, 2}, Data: []int64{1, 2, 3, 4, 5, 6}},
		"y": {Shape: []int{3, 1, 2}, Data: []float32{0.5, 1, 1.5, 2, 2.5, 3}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, 2, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Batch(5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b.N != 1 || b.Labels != nil || b.Inputs["x"].Dtype() != tensor.Int64 || !reflect.DeepEqual(b.Inputs["x"].Data(), []int64{5, 6}) {
		t.Errorf("batch N %d labels %v X %v %v", b.N, b.Labels, b.Inputs["x"].Dtype(), b.Inputs["x"].Data())
	}
	if b.Targets == nil || !reflect.DeepEqual([]int(b.Targets.Shape()), []int{1, 1, 2}) || !reflect.DeepEqual(b.Targets.Data(), []float32{2.5, 3}) {
		t.Errorf("targets %v", b.Targets)
	}
}

// empty is a Dataset without examples; broken fails every read.
type empty struct{}

func (empty) Len() int                                  { return 0 }
func (empty) Fields() []Field                           { return []Field{{Name: "x", DType: graph.Float32, Shape: []int{1}}} }
func (empty) TargetShape() ([]int, bool)                { return nil, false }
func (empty) Read(int, []any, []float32) (int64, error) { return 0, errors.New("empty") }

type broken struct{ empty }

func (broken) Len() int { return 4 }

// fields is a broken dataset with the given fields.
type fields struct {
	broken
	f []Field
}

func (f fields) Fields() []Field { return f.f }

// targets is a broken dataset of float targets of shape s.
type targets struct {
	broken
	s []int
}

func (t targets) TargetShape() ([]int, bool) { return t.s, true }

func TestLoaderErrors(t *testing.T) {
	ds := counting(t, 5)
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"batch size 0", func() error { _, err := NewLoader(ds, 0, false, 0); return err }, "batch size 0"},
		{"no examples", func() error { _, err := NewLoader(empty{}, 1, false, 0); return err }, "no examples"},
		{"element type", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "x", DType: graph.Float16}}}, 1, false, 0)
			return err
		}, `field "x" has element type float16`},
		{"no fields", func() error { _, err := NewLoader(fields{}, 1, false, 0); return err }, "no field holds one value per example"},
		{"only fixed", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "s", DType: graph.Float32, Shape: []int{}, Fixed: []float32{1}}}}, 1, false, 0)
			return err
		}, "no field holds one value per example"},
		{"same names", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "x", DType: graph.Float32}, {Name: "x", DType: graph.Int64}}}, 1, false, 0)
			return err
		}, `two fields are named "x"`},
		{"no name", func() error { _, err := NewLoader(fields{f: []Field{{DType: graph.Float32}}}, 1, false, 0); return err }, "a field has no name"},
		{"fixed of another type", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "x", DType: graph.Float32}, {Name: "s", DType: graph.Float32, Fixed: []int64{1}}}}, 1, false, 0)
			return err
		}, `field "s": fixed value []int64`},
		// Sizes whose product overflows an int made a batch of a huge shape
		// and no values; a negative target dim panicked (makeslice), in
		// NewExample too.
		{"overflowing shape", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "x", DType: graph.Float32, Shape: []int{1 << 40, 1 << 30}}}}, 2, false, 0)
			return err
		}, `field "x" has shape [1099511627776 1073741824]: invalid dims`},
		{"overflowing batch", func() error {
			_, err := NewLoader(fields{f: []Field{{Name: "x", DType: graph.Float32, Shape: []int{1 << 31, 1 << 30}}}}, 1<<10, false, 0)
			return err
		}, `field "x": a batch of 1024 examples of shape [2147483648 1073741824] has more than 2^63 elements`},
		{"negative target dim", func() error { _, err := NewLoader(targets{s: []int{-1}}, 2, false, 0); return err }, "target shape [-1]: invalid dims"},
		{"overflowing target", func() error { _, err := NewLoader(targets{s: []int{1 << 40, 1 << 30}}, 2, false, 0); return err }, "target shape [1099511627776 1073741824]: invalid dims"},
		{"NewExample negative dim", func() error {
			_, err := NewExample(fields{f: []Field{{Name: "x", DType: graph.Float32, Shape: []int{-1}}}})
			return err
		}, `field "x" has shape [-1]`},
		{"batch out of range", func() error { _, err := mustLoader(t, ds, 2, 0).Batch(0, 3); return err }, "batch 3 out of range [0, 3)"},
		{"negative batch", func() error { _, err := mustLoader(t, ds, 2, 0).Batch(0, -1); return err }, "out of range"},
		{"read error", func() error { _, err := mustLoader(t, broken{}, 2, 0).Batch(0, 0); return err }, "data: example"},
		// Select and Labels read a Dataset's labels through Read: its error
		// came bare ("empty"), naming no example.
		{"read error in Select", func() error { _, err := Select(broken{}, []int64{0}, 1); return err }, "data: example 0: empty"},
		{"read error in Labels", func() error { _, err := mustLoader(t, broken{}, 2, 0).Labels(); return err }, "data: example 0: empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testsafe.Call(t, tc.err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestLoaderBadImage checks that a batch with undecodable images reports
// the first of them in batch order, and that the epoch stops there.
func TestLoaderBadImage(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"0", "1", "2", "3", "4", "5"} {
		writeImage(t, filepath.Join(root, "c", name+".png"), solid(3, 3, color.Gray{uint8(len(name))}))
	}
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Break images 1 and 4 after Open: 1 is in the first half of the
	// batch of 6, 4 in the second; the error must always name 1.
	for _, name := range []string{"1", "4"} {
		writeFile(t, filepath.Join(root, "c", name+".png"), []byte("\x89PNG\r\n\x1a\nbroken"))
	}
	l, err := NewLoader(ds, 6, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var errs []error
		for _, err := range l.Epoch(0) {
			errs = append(errs, err)
		}
		var fe *FileError
		if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Path != filepath.Join(root, "c", "1.png") {
			t.Fatalf("epoch errors %v, want one naming 1.png", errs)
		}
	}
}

// TestLoaderDeterministicParallel reads the same batch many times: the two
// reading goroutines must not change it.
func TestLoaderDeterministicParallel(t *testing.T) {
	ds, err := Open("testdata/folder", Options{ImageSize: [2]int{8, 8}})
	if err != nil {
		t.Fatal(err)
	}
	l := mustLoader(t, ds, ds.Len(), 3)
	first, err := l.Batch(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		b, err := l.Batch(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(b.Inputs["x"].Data(), first.Inputs["x"].Data()) || !reflect.DeepEqual(b.Labels, first.Labels) {
			t.Fatal("the same batch read twice differs")
		}
	}
}

// BenchmarkLoaderEpoch_mnist_b64 reads a full MNIST training epoch.
func BenchmarkLoaderEpoch_mnist_b64(b *testing.B) {
	if testing.Short() {
		b.Skip("reads 60000 images per iteration")
	}
	ds, err := Open("mnist:train", Options{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader(ds, 64, true, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for _, err := range l.Epoch(i) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkImageRead_224 decodes, resizes and normalizes one image to
// 3x224x224.
func BenchmarkImageRead_224(b *testing.B) {
	ds, err := Open("testdata/folder", Options{ImageSize: [2]int{224, 224}})
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, 3*224*224)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ds.Read(0, []any{x}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
