package ops

import (
	"math"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestConvDirectSizes checks the sizes convDirectFits computes without
// building the layouts against the layouts' own.
func TestConvDirectSizes(t *testing.T) {
	for _, dc := range directCases {
		t.Run(dc.name, func(t *testing.T) {
			cd := dc.dims()
			g := &cd.g
			cg, mg := cd.c/cd.group, cd.m/cd.group
			ph, pp, dy := newConvPhased(g, cg), newConvPhasedPadded(g, cg), newConvDyPad(g, mg)
			ht, hb := convPaddedRows(g)
			if got, want := convPhasedSize(g, cg, 0, 0), ph.size(); got != want {
				t.Errorf("phased size %d, want %d", got, want)
			}
			if got, want := convPhasedSize(g, cg, ht, hb), pp.size(); got != want {
				t.Errorf("padded phased size %d, want %d", got, want)
			}
			if got, want := convDyPadSize(g, mg), dy.size(); got != want {
				t.Errorf("dy pad size %d, want %d", got, want)
			}
			if n := testing.AllocsPerRun(10, func() { cd.convDirectFits() }); n != 0 {
				t.Errorf("convDirectFits: %v allocations", n)
			}
		})
	}
}

// TestDataNoBoxing checks Data against the tensor's own Data (the same
// elements, aliasing the tensor) for every element type the engine
// reads, and that it allocates nothing for a non-scalar tensor.
func TestDataNoBoxing(t *testing.T) {
	check := func(name string, d *tensor.Dense, get func() (any, error), read func()) {
		t.Run(name, func(t *testing.T) {
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			want := d.Data()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if v := reflect.ValueOf(got); v.Kind() == reflect.Slice && v.Len() > 0 &&
				v.Pointer() != reflect.ValueOf(want).Pointer() {
				t.Fatal("not aliased to the tensor")
			}
			if !d.IsScalar() {
				if n := testing.AllocsPerRun(10, read); n != 0 {
					t.Errorf("%v allocations a call", n)
				}
			}
		})
	}
	f32 := Dense([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	check("float32", f32, func() (any, error) { return Data[float32](f32) },
		func() { _, _ = Data[float32](f32) })
	f64 := Dense([]int{3}, []float64{1, -2, 3})
	check("float64", f64, func() (any, error) { return Data[float64](f64) },
		func() { _, _ = Data[float64](f64) })
	i64 := Dense([]int{2, 2}, []int64{7, 8, 9, -10})
	check("int64", i64, func() (any, error) { return Data[int64](i64) },
		func() { _, _ = Data[int64](i64) })
	b := Dense([]int{3}, []bool{true, false, true})
	check("bool", b, func() (any, error) { return Data[bool](b) },
		func() { _, _ = Data[bool](b) })
	u8 := Dense([]int{5}, []uint8{1, 2, 3, 4, 5})
	check("uint8", u8, func() (any, error) { return Data[uint8](u8) },
		func() { _, _ = Data[uint8](u8) })
	s := Dense([]int{}, []float32{2.5})
	check("scalar", s, func() (any, error) {
		v, err := Data[float32](s)
		if err != nil || len(v) != 1 {
			return v, err
		}
		return v[0], nil // Data of a scalar is its element
	}, nil)
	t.Run("wrong type", func(t *testing.T) {
		if _, err := Data[float64](f32); err == nil {
			t.Fatal("float32 tensor read as float64")
		}
	})
	t.Run("denseFirst", func(t *testing.T) {
		if got, want := denseFirst(f32), dataPtr(f32.Data()); got != want || got == nil {
			t.Fatalf("denseFirst %v, want %v", got, want)
		}
		if got := denseFirst(i64); got != nil {
			t.Fatal("denseFirst of an int64 tensor is not nil")
		}
		if n := testing.AllocsPerRun(10, func() { denseFirst(f32) }); n != 0 {
			t.Errorf("denseFirst: %v allocations", n)
		}
	})
}

// TestConvSpreadKept checks that a 1x1 convolution run again with its kept
// bias spread gives the bits of a first run, and that a bias changed
// between runs (a value, a zero's sign, a NaN) gives those of a first run
// with the new bias.
func TestConvSpreadKept(t *testing.T) {
	const n, c, m, h = 4, 24, 40, 4
	P := h * h
	newDims := func() *convDims {
		cd := &convDims{n: n, c: c, m: m, group: 1, g: newConvGeom(two(h, h), two(h, h),
			two(1, 1), two(1, 1), two(1, 1), two(0, 0), two(0, 0))}
		return cd
	}
	x := to32(must(Data[float64](randF64(1, -2, 2, n, c, P))))
	w := to32(must(Data[float64](randF64(2, -0.3, 0.3, m, c))))
	b := to32(must(Data[float64](randF64(3, -1, 1, m))))
	kept := newDims()
	kept.packed = gemm.PackA(false, m, c, w, c)
	run := func(cd *convDims, b []float32) []float32 {
		y := make([]float32, n*m*P)
		convForward(x, w, b, cd, y)
		return y
	}
	for step, change := range []func(){
		func() {},
		func() {},
		func() { b[3] += 0.5 },
		func() { b[5] = 0 },
		func() { b[5] = float32(math.Copysign(0, -1)) },
		func() { b[7] = float32(math.NaN()) },
		func() { b[7] = 1 },
	} {
		change()
		fresh := newDims()
		fresh.packed = kept.packed
		want, got := run(fresh, b), run(kept, b)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("step %d: element %d is %v with the kept spread, %v with a new one", step, i, got[i], want[i])
			}
		}
		if kept.spread == nil {
			t.Fatal("no spread kept")
		}
	}
}
