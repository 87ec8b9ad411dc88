package data

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// modelOf returns a model of the given inputs: each a name, an element
// type and dims, a string dim symbolic, an int64 fixed.
func modelOf(inputs ...[]any) *graph.Model {
	g := &graph.Graph{}
	for _, in := range inputs {
		shape := &graph.Shape{}
		for _, d := range in[2:] {
			switch d := d.(type) {
			case string:
				shape.Dims = append(shape.Dims, graph.Dim{Param: d, HasParam: true})
			case int:
				shape.Dims = append(shape.Dims, graph.Dim{Value: int64(d), HasValue: true})
			}
		}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: in[0].(string), Type: &graph.Type{Kind: graph.TypeTensor, Elem: in[1].(graph.DType), Shape: shape}})
	}
	return &graph.Model{Graph: g}
}

// TestBatchAxes: the axis of each input that holds the batch, from the
// model's declaration (symbolic names, else sizes), and the refusals of an
// ambiguous one.
func TestBatchAxes(t *testing.T) {
	f32, i64 := graph.Float32, graph.Int64
	for _, tc := range []struct {
		name string
		m    *graph.Model
		want []int
		err  string
	}{
		{"silero", modelOf([]any{"input", f32, "batch", "sequence"}, []any{"state", f32, 2, "batch", 128}, []any{"sr", i64}), []int{0, 1, -1}, ""},
		{"lstm states", modelOf([]any{"x", f32, "batch", 4, 5}, []any{"h0", f32, 2, "batch", 8}, []any{"c0", f32, 2, "batch", 8}), []int{0, 1, 1}, ""},
		{"text", modelOf([]any{"ids", i64, "batch", "sequence"}, []any{"mask", i64, "batch", "sequence"}), []int{0, 0}, ""},
		{"1-d sequence", modelOf([]any{"ids", i64, "batch", "sequence"}, []any{"pos", i64, "sequence"}), []int{0, -1}, ""},
		{"unbatched", modelOf([]any{"x", f32, "batch", 8}, []any{"table", f32, 4, 8}), []int{0, -1}, ""},
		{"fixed states", modelOf([]any{"x", f32, 3, 4, 5}, []any{"h0", f32, 2, 3, 8}, []any{"c0", f32, 2, 3, 8}), []int{0, 1, 1}, ""},
		{"fixed", modelOf([]any{"ids", i64, 2, 6}, []any{"mask", i64, 2, 6}), []int{0, 0}, ""},
		{"fixed unbatched", modelOf([]any{"x", f32, 3, 8}, []any{"scale", f32, 4}), []int{0, -1}, ""},
		{"fixed first square", modelOf([]any{"x", f32, 8, 8}), []int{0}, ""},
		{"named twice", modelOf([]any{"x", f32, "batch", 8}, []any{"pair", f32, 3, "batch", "batch"}), nil,
			`the model's input "pair" float32 [3, batch, batch] has the batch's dimension batch on axes [1 2]`},
		{"fixed ambiguous", modelOf([]any{"x", f32, 1, 4, 5}, []any{"h0", f32, 1, 1, 8}), nil,
			`the model's input "h0" float32 [1, 1, 8] has the batch's size 1 on axes [0 1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := InputsOf(tc.m)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("InputsOf: %v, want one line with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, in := range ins {
				got = append(got, in.BatchAxis)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("batch axes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBatchAxisLoader: arrays with their batch on axis 1 are cut and
// shuffled along it, with the same examples as the arrays on axis 0, the
// labels and Indices; an unbatched input goes whole to every batch.
func TestBatchAxisLoader(t *testing.T) {
	const n = 5
	m := modelOf([]any{"x", graph.Float32, "batch", 3}, []any{"h0", graph.Float32, 2, "batch", 4}, []any{"table", graph.Int64, 2, 2})
	x := make([]float32, n*3)
	h0 := make([]float32, 2*n*4)
	for i := range x {
		x[i] = float32(i)
	}
	for i := range h0 {
		h0[i] = float32(i)
	}
	path := writeNPZ(t, "s.npz", map[string]npz.Array{
		"x":     {Shape: []int{n, 3}, Data: x},
		"h0":    {Shape: []int{2, n, 4}, Data: h0},
		"table": {Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}},
		"y":     {Shape: []int{n}, Data: []int64{0, 1, 2, 3, 4}},
	})
	ins, err := InputsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Open(path, Options{}.ForInputs(ins))
	if err != nil {
		t.Fatal(err)
	}
	if f := ds.Fields(); f[1].BatchAxis != 1 || !slices.Equal(f[1].Shape, []int{2, 4}) || f[2].Fixed == nil {
		t.Fatalf("fields %+v", f)
	}
	for _, shuffle := range []bool{false, true} {
		l, err := NewLoader(ds, 2, shuffle, 7)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for b, err := range l.Epoch(1) {
			if err != nil {
				t.Fatal(err)
			}
			hs := ops.Shape(b.Inputs["h0"])
			if !slices.Equal(hs, []int{2, b.N, 4}) || !slices.Equal(ops.Shape(b.Inputs["x"]), []int{b.N, 3}) || !slices.Equal(ops.Shape(b.Inputs["table"]), []int{2, 2}) {
				t.Fatalf("batch shapes x %v h0 %v table %v", ops.Shape(b.Inputs["x"]), hs, ops.Shape(b.Inputs["table"]))
			}
			hv, _ := ops.Data[float32](b.Inputs["h0"])
			xv, _ := ops.Data[float32](b.Inputs["x"])
			for k, i := range b.Indices {
				if b.Labels[k] != int64(i) || xv[k*3] != x[i*3] {
					t.Errorf("example %d of the batch: label %d x %v, want example %d", k, b.Labels[k], xv[k*3:k*3+3], i)
				}
				for l := range 2 {
					got, want := hv[(l*b.N+k)*4:(l*b.N+k+1)*4], h0[(l*n+i)*4:(l*n+i+1)*4]
					if !slices.Equal(got, want) {
						t.Errorf("h0[%d, %d] = %v, want h0[%d, %d] of the file %v", l, k, got, l, i, want)
					}
				}
			}
			seen += b.N
		}
		if seen != n {
			t.Errorf("an epoch gave %d examples, want %d", seen, n)
		}
	}
}

// TestBatchAxisErrors: what the file gets wrong about an input with its
// batch on axis 1 names the input with its declared shape.
func TestBatchAxisErrors(t *testing.T) {
	m := modelOf([]any{"input", graph.Float32, "batch", 4}, []any{"state", graph.Float32, 2, "batch", 3}, []any{"sr", graph.Int64})
	ins, err := InputsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]npz.Array{
		"input": {Shape: []int{2, 4}, Data: make([]float32, 8)},
		"state": {Shape: []int{2, 2, 3}, Data: make([]float32, 12)},
		"sr":    {Shape: []int{}, Data: []int64{16000}},
	}
	for _, tc := range []struct {
		name  string
		state npz.Array
		want  string
	}{
		{"examples", npz.Array{Shape: []int{2, 3, 3}, Data: make([]float32, 18)},
			`array state has 3 examples along axis 1, where the model's input "state" float32 [2, batch, 3] has its batch (shape [2 3 3]), input has 2`},
		{"size", npz.Array{Shape: []int{3, 2, 3}, Data: make([]float32, 18)},
			`state has shape [3 2 3], the model's input "state" is float32 [2, batch, 3] (the examples along axis 1)`},
		{"rank", npz.Array{Shape: []int{2, 6}, Data: make([]float32, 12)},
			`state has shape [2 6], the model's input "state" is float32 [2, batch, 3]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrays := map[string]npz.Array{"state": tc.state}
			for k, v := range good {
				if k != "state" {
					arrays[k] = v
				}
			}
			path := writeNPZ(t, "bad.npz", arrays)
			_, err := Open(path, Options{Unlabeled: true}.ForInputs(ins))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s with %q", err, path, tc.want)
			}
		})
	}
	if _, err := Open(writeNPZ(t, "good.npz", good), Options{Unlabeled: true}.ForInputs(ins)); err != nil {
		t.Errorf("the good file: %v", err)
	}
}

// TestHalfInputs: float16 arrays feed a float16 input (widened exactly),
// float32 and float64 arrays feed float16 and bfloat16 inputs rounded to
// nearest even as rounding the value directly does; other types are
// refused naming the input, the array's type and shape.
func TestHalfInputs(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var v64 []float64
	// Values at, just above and just below the midpoints of float16 and
	// bfloat16 neighbours (where rounding through float32 to nearest would
	// round twice), and random ones.
	for range 200 {
		h := graph.F16(rng.Intn(0x7bff))
		b := graph.BF16(rng.Intn(0x7f7f))
		for _, mid := range []float64{(float64(h.Float32()) + float64((h + 1).Float32())) / 2, (float64(b.Float32()) + float64((b + 1).Float32())) / 2} {
			v64 = append(v64, mid, math.Nextafter(mid, math.Inf(1)), math.Nextafter(mid, 0), -mid*(1+1e-12))
		}
		v64 = append(v64, rng.NormFloat64()*100, rng.NormFloat64()*1e-6, 1e300, -1e-300)
	}
	v32 := make([]float32, len(v64))
	for i, v := range v64 {
		v32[i] = float32(v)
	}
	for _, dt := range []graph.DType{graph.Float16, graph.BFloat16} {
		for _, data := range []any{v64, v32} {
			got, ok := convertTo(data, dt)
			if !ok {
				t.Fatalf("%T for %v refused", data, dt)
			}
			g := got.([]float32)
			for i, x := range g {
				var v float64
				if d, ok := data.([]float64); ok {
					v = d[i]
				} else {
					v = float64(v32[i])
				}
				if want := nearest(v, dt); math.Float32bits(x) != math.Float32bits(want) {
					t.Fatalf("%v from %T %.17g: %g, want %g", dt, data, v, x, want)
				}
			}
		}
	}
	h := []graph.F16{0x3c00, 0x8001, 0x7bff, 0xfc00}
	got, ok := convertTo(h, graph.Float16)
	if !ok {
		t.Fatal("float16 array refused for a float16 input")
	}
	for i, x := range got.([]float32) {
		if math.Float32bits(x) != math.Float32bits(h[i].Float32()) {
			t.Errorf("float16 %#04x widened to %g, want %g", uint16(h[i]), x, h[i].Float32())
		}
	}
	for _, dt := range []graph.DType{graph.BFloat16, graph.Float32} {
		if _, ok := convertTo(h, dt); ok {
			t.Errorf("float16 array taken for a %v input", dt)
		}
	}

	m := modelOf([]any{"x", graph.Float16, "batch", 2})
	ins, _ := InputsOf(m)
	path := writeNPZ(t, "i.npz", map[string]npz.Array{"x": {Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}}, "y": {Shape: []int{2}, Data: []int64{0, 1}}})
	_, err := Open(path, Options{}.ForInputs(ins))
	if want := `x is int64 [2 2], the model's input "x" is float16 [batch, 2] (it takes float16, or float32 or float64 rounded to float16)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	path = writeNPZ(t, "h.npz", map[string]npz.Array{"x": {Shape: []int{2, 2}, Data: h}, "y": {Shape: []int{2}, Data: []int64{0, 1}}})
	ds, err := Open(path, Options{}.ForInputs(ins))
	if err != nil {
		t.Fatal(err)
	}
	if f := ds.Fields(); f[0].DType != graph.Float32 {
		t.Errorf("a float16 input's field is %v, want float32 (the engine's tensors of half inputs)", f[0].DType)
	}
}

// nearest rounds v to half type dt directly: the nearest of its
// neighbours, ties to the even one, beyond the largest to infinity.
func nearest(v float64, dt graph.DType) float32 {
	type half struct {
		val func(uint16) float64
		max uint16 // the largest finite
	}
	hs := half{func(b uint16) float64 { return float64(graph.F16(b).Float32()) }, 0x7bff}
	if dt == graph.BFloat16 {
		hs = half{func(b uint16) float64 { return float64(graph.BF16(b).Float32()) }, 0x7f7f}
	}
	sign := uint16(0)
	a := v
	if math.Signbit(v) {
		sign, a = 0x8000, -v
	}
	// The largest magnitude at most a, by bisection over the bits.
	lo, hi := uint16(0), hs.max
	if a >= hs.val(hs.max) {
		lo = hs.max
	} else {
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if hs.val(mid) <= a {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
	}
	down := hs.val(lo)
	var up float64
	if lo == hs.max {
		// Beyond the largest: infinity from half an ulp above it.
		ulp := hs.val(hs.max) - hs.val(hs.max-1)
		up = hs.val(hs.max) + ulp
	} else {
		up = hs.val(lo + 1)
	}
	pick := lo
	switch {
	case a == down:
	case a-down > up-a, a-down == up-a && lo&1 == 1:
		pick = lo + 1
	}
	var r float32
	if pick > hs.max {
		r = float32(math.Inf(1))
	} else {
		r = float32(hs.val(pick))
	}
	if sign != 0 {
		r = -r
	}
	return r
}
