package graph

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"
)

func roundTrip[T Elem](t *testing.T, want []T, d DType) {
	t.Helper()
	if got := DTypeOf[T](); got != d {
		t.Fatalf("DTypeOf = %s, want %s", got, d)
	}
	raw := Encode(want)
	if len(raw) != len(want)*d.Size() || int64(len(raw)) != d.ByteLen(int64(len(want))) {
		t.Fatalf("%d bytes for %d %s values", len(raw), len(want), d)
	}
	got, err := Decode[T](raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(Encode(%v)) = %v", want, got)
	}
	anyv, err := DecodeAs(d, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(anyv, want) {
		t.Fatalf("DecodeAs(%s) = %v, want %v", d, anyv, want)
	}
	if _, err := Decode[T](append(raw, 0)[:len(raw)+1]); d.Size() > 1 && err == nil {
		t.Fatalf("Decode accepted %d bytes of %s", len(raw)+1, d)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"float32", func(t *testing.T) {
			roundTrip(t, []float32{0, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(-1))}, Float32)
		}},
		{"float64", func(t *testing.T) {
			roundTrip(t, []float64{0, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1)}, Float64)
		}},
		{"float16", func(t *testing.T) { roundTrip(t, []F16{0, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00, 0x7e01}, Float16) }},
		{"bfloat16", func(t *testing.T) { roundTrip(t, []BF16{0, 0x8000, 0x3f80, 0x7f7f, 0x0001, 0x7f80, 0x7fc1}, BFloat16) }},
		{"int8", func(t *testing.T) { roundTrip(t, []int8{0, -1, math.MinInt8, math.MaxInt8}, Int8) }},
		{"int16", func(t *testing.T) { roundTrip(t, []int16{0, -1, math.MinInt16, math.MaxInt16}, Int16) }},
		{"int32", func(t *testing.T) { roundTrip(t, []int32{0, -1, math.MinInt32, math.MaxInt32}, Int32) }},
		{"int64", func(t *testing.T) { roundTrip(t, []int64{0, -1, math.MinInt64, math.MaxInt64}, Int64) }},
		{"uint8", func(t *testing.T) { roundTrip(t, []uint8{0, 1, math.MaxUint8}, Uint8) }},
		{"uint16", func(t *testing.T) { roundTrip(t, []uint16{0, 1, math.MaxUint16}, Uint16) }},
		{"uint32", func(t *testing.T) { roundTrip(t, []uint32{0, 1, math.MaxUint32}, Uint32) }},
		{"uint64", func(t *testing.T) { roundTrip(t, []uint64{0, 1, math.MaxUint64}, Uint64) }},
		{"bool", func(t *testing.T) { roundTrip(t, []bool{false, true, true}, Bool) }},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func TestCodecLittleEndian(t *testing.T) {
	raw := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
	i64, _ := Decode[int64](raw)
	u16, _ := Decode[uint16](raw)
	f32, _ := Decode[float32](raw)
	b, _ := Decode[bool]([]byte{0, 1, 2})
	if i64[0] != 0x0807060504030201 || u16[1] != 0x0403 || math.Float32bits(f32[1]) != 0x08070605 || !reflect.DeepEqual(b, []bool{false, true, true}) {
		t.Fatalf("got %x %x %x %v", i64, u16, math.Float32bits(f32[1]), b)
	}
	if _, err := DecodeAs(String, nil); err == nil {
		t.Fatal("DecodeAs(string) did not fail")
	}
}

// TestHalfConversions checks the float16 and bfloat16 conversions bit for bit
// against numpy and ml_dtypes (testdata/make_codec.py writes the fixture).
func TestHalfConversions(t *testing.T) {
	raw, err := os.ReadFile("testdata/codec.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Float32Bits []uint32 `json:"float32_bits"`
		ToFloat16   []uint16 `json:"to_float16"`
		ToBFloat16  []uint16 `json:"to_bfloat16"`
		Bits16      []uint16 `json:"bits16"`
		F16ToF32    []uint32 `json:"float16_to_float32"`
		BF16ToF32   []uint32 `json:"bfloat16_to_float32"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Float32Bits) == 0 || len(fx.Bits16) == 0 {
		t.Fatal("empty fixture")
	}
	t.Run("float32 to float16", func(t *testing.T) {
		for i, b := range fx.Float32Bits {
			if got := F16FromFloat32(math.Float32frombits(b)); uint16(got) != fx.ToFloat16[i] {
				t.Errorf("F16FromFloat32(%#08x) = %#04x, numpy %#04x", b, uint16(got), fx.ToFloat16[i])
			}
		}
	})
	t.Run("float32 to bfloat16", func(t *testing.T) {
		for i, b := range fx.Float32Bits {
			if got := BF16FromFloat32(math.Float32frombits(b)); uint16(got) != fx.ToBFloat16[i] {
				t.Errorf("BF16FromFloat32(%#08x) = %#04x, ml_dtypes %#04x", b, uint16(got), fx.ToBFloat16[i])
			}
		}
	})
	t.Run("float16 to float32", func(t *testing.T) {
		for i, h := range fx.Bits16 {
			if got := math.Float32bits(F16(h).Float32()); got != fx.F16ToF32[i] {
				t.Errorf("F16(%#04x).Float32() = %#08x, numpy %#08x", h, got, fx.F16ToF32[i])
			}
		}
	})
	t.Run("bfloat16 to float32", func(t *testing.T) {
		for i, h := range fx.Bits16 {
			if got := math.Float32bits(BF16(h).Float32()); got != fx.BF16ToF32[i] {
				t.Errorf("BF16(%#04x).Float32() = %#08x, ml_dtypes %#08x", h, got, fx.BF16ToF32[i])
			}
		}
	})
}

func TestByDType(t *testing.T) {
	k := ByDType[func() string]{Float32: func() string { return "f32" }}
	if f, ok := k.For(Float32); !ok || f() != "f32" {
		t.Fatal("For(float32) missing")
	}
	for _, d := range []DType{Float64, String, Undefined, DType(99)} {
		if _, ok := k.For(d); ok {
			t.Errorf("For(%s) = ok", d)
		}
	}
	n := ByDType[int]{Int8: 0}
	if _, ok := n.For(Int8); !ok {
		t.Error("a zero int counts as absent")
	}
}

// TestEncodeFloat32sAs: float32 values written as each float type decode
// back as the type's own conversion gives them (float16 and bfloat16
// rounded by F16FromFloat32 and BF16FromFloat32), and a type that is not
// float is refused.
func TestEncodeFloat32sAs(t *testing.T) {
	v := []float32{1, -0.1, 65519, 3.14159, float32(math.Inf(-1))}
	for _, d := range []DType{Float32, Float64, Float16, BFloat16} {
		raw, err := EncodeFloat32sAs(d, v)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		got, err := DecodeAs(d, raw)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range v {
			var want, have float64
			switch g := got.(type) {
			case []float32:
				want, have = float64(x), float64(g[i])
			case []float64:
				want, have = float64(x), g[i]
			case []F16:
				want, have = float64(F16FromFloat32(x).Float32()), float64(g[i].Float32())
			case []BF16:
				want, have = float64(BF16FromFloat32(x).Float32()), float64(g[i].Float32())
			}
			if want != have {
				t.Errorf("%s: value %d (%v) reads back %v, want %v", d, i, x, have, want)
			}
		}
	}
	if _, err := EncodeFloat32sAs(Int64, v); err == nil {
		t.Error("int64 accepted")
	}
}
