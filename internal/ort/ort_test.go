package ort

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The fixtures come from testdata/make.py (onnx + numpy); nothing expected
// here is typed by hand.
const (
	addModel   = "testdata/add.onnx"
	addFixture = "testdata/add.json"
)

type fixture struct {
	Inputs map[string]struct {
		Shape []int64   `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"inputs"`
	Outputs []struct {
		Name  string    `json:"name"`
		Shape []int64   `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"outputs"`
}

// needORT fails the test, with what to do, when ONNX Runtime is not installed.
func needORT(t testing.TB) {
	t.Helper()
	if _, err := LibraryPath(); err != nil {
		t.Fatalf("ONNX Runtime is required for this test: %v\n\trun: bash scripts/setup.sh (from the repository root)", err)
	}
}

func loadFixture(t testing.TB) ([]byte, fixture) {
	t.Helper()
	model, err := os.ReadFile(addModel)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 internal/ort/testdata/make.py)", err)
	}
	raw, err := os.ReadFile(addFixture)
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", addFixture, err)
	}
	return model, f
}

func f32(v []float64) []float32 {
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

func i64(v []float64) []int64 {
	r := make([]int64, len(v))
	for i, x := range v {
		r[i] = int64(x)
	}
	return r
}

func inputs(f fixture) []Tensor {
	// y before x: Run matches inputs by name, not by position.
	var ts []Tensor
	for _, name := range []string{"y", "x"} {
		in := f.Inputs[name]
		ts = append(ts, Tensor{Name: name, Shape: in.Shape, Data: f32(in.Data)})
	}
	return ts
}

// checkOutputs compares outputs with the fixture: Add and Shape exactly;
// ReduceSum to a float32 rounding tolerance, since ONNX Runtime and numpy
// may add in another order.
func checkOutputs(t testing.TB, got []Tensor, f fixture) {
	t.Helper()
	if len(got) != len(f.Outputs) {
		t.Fatalf("got %d outputs, want %d", len(got), len(f.Outputs))
	}
	for i, want := range f.Outputs {
		g := got[i]
		if g.Name != want.Name {
			t.Errorf("output %d is named %q, want %q", i, g.Name, want.Name)
		}
		if !reflect.DeepEqual(g.Shape, want.Shape) {
			t.Errorf("output %q has shape %v, want %v", want.Name, g.Shape, want.Shape)
		}
		switch want.Name {
		case "sum":
			if !reflect.DeepEqual(g.Data, f32(want.Data)) {
				t.Errorf("sum = %v, want %v", g.Data, f32(want.Data))
			}
		case "total":
			d, ok := g.Data.([]float32)
			if !ok || len(d) != 1 {
				t.Fatalf("total = %#v, want one float32", g.Data)
			}
			if w := want.Data[0]; math.Abs(float64(d[0])-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Errorf("total = %v, want %v", d[0], w)
			}
		case "shape":
			if !reflect.DeepEqual(g.Data, i64(want.Data)) {
				t.Errorf("shape = %v, want %v", g.Data, i64(want.Data))
			}
		}
	}
}

func TestLibraryPath(t *testing.T) {
	needORT(t)
	p, _ := LibraryPath()
	v, err := Version()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ONNX Runtime %s from %s", v, p)
	if !strings.HasPrefix(v, "1.30.") {
		t.Errorf("ONNX Runtime version %s, want 1.30.x (scripts/setup.sh installs 1.30.0)", v)
	}
}

func TestLibraryPathFromEnv(t *testing.T) {
	t.Setenv(EnvLibrary, filepath.Join(t.TempDir(), "missing.so"))
	_, err := LibraryPath()
	if err == nil || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Fatalf("LibraryPath with a missing $%s = %v, want an error naming scripts/setup.sh", EnvLibrary, err)
	}
}

func TestRun(t *testing.T) {
	needORT(t)
	model, f := loadFixture(t)
	for _, threads := range []int{0, 1, 2} {
		got, err := Run(model, inputs(f), threads)
		if err != nil {
			t.Fatalf("threads=%d: %v", threads, err)
		}
		checkOutputs(t, got, f)
	}
}

func TestRunFile(t *testing.T) {
	needORT(t)
	_, f := loadFixture(t)
	got, err := RunFile(addModel, inputs(f), 1)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, got, f)
}

func TestSessionInfo(t *testing.T) {
	needORT(t)
	model, _ := loadFixture(t)
	s, err := NewSession(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, outs := s.Inputs(), s.Outputs()
	if len(ins) != 2 || ins[0].Name != "x" || ins[1].Name != "y" ||
		!reflect.DeepEqual(ins[0].Shape, []int64{-1, 3}) || ins[0].DataType != "float32" {
		t.Errorf("inputs = %+v", ins)
	}
	if len(outs) != 3 || outs[0].Name != "sum" || !outs[1].Scalar || outs[2].DataType != "int64" {
		t.Errorf("outputs = %+v", outs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(nil); err == nil {
		t.Error("Run on a closed session succeeded")
	}
}

// TestConcurrent runs one session and one-shot Runs from many goroutines, on
// the fixture and on its first rows (a smaller dynamic batch).
func TestConcurrent(t *testing.T) {
	needORT(t)
	model, f := loadFixture(t)
	s, err := NewSession(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const rows = 2
	x, y, sum := f.Inputs["x"], f.Inputs["y"], f.Outputs[0]
	cols := int(x.Shape[1])
	small := []Tensor{
		{Name: "x", Shape: []int64{rows, x.Shape[1]}, Data: f32(x.Data[:rows*cols])},
		{Name: "y", Shape: []int64{rows, y.Shape[1]}, Data: f32(y.Data[:rows*cols])},
	}
	wantSmall := f32(sum.Data[:rows*cols])

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				var (
					out []Tensor
					err error
				)
				if g%2 == 0 {
					out, err = s.Run(small)
				} else {
					out, err = Run(model, small, 1)
				}
				if err != nil {
					errs <- err.Error()
					return
				}
				if !reflect.DeepEqual(out[0].Data, wantSmall) || !reflect.DeepEqual(out[2].Data, []int64{rows, x.Shape[1]}) {
					errs <- "wrong result in goroutine " + string(rune('0'+g)) + " run " + string(rune('0'+i))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	got, err := s.Run(inputs(f))
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, got, f)
}

func TestRunErrors(t *testing.T) {
	needORT(t)
	model, f := loadFixture(t)
	good := inputs(f)
	tests := []struct {
		name   string
		model  []byte
		inputs []Tensor
		want   string
	}{
		{"missing input", model, good[:1], `missing input "x"`},
		{"unknown input", model, append(inputs(f), Tensor{Name: "z", Shape: []int64{1}, Data: []float32{1}}), `no input "z"`},
		{"duplicate input", model, append(inputs(f), good[0]), "given twice"},
		{"unsupported type", model, []Tensor{good[0], {Name: "x", Shape: []int64{1}, Data: []uint16{1}}}, "unsupported data type"},
		{"short data", model, []Tensor{good[0], {Name: "x", Shape: []int64{4, 3}, Data: []float32{1}}}, "needs 12 elements"},
		{"negative dim", model, []Tensor{good[0], {Name: "x", Shape: []int64{-4, 3}, Data: []float32{1}}}, "negative dimension"},
		{"wrong element type", model, []Tensor{good[0], {Name: "x", Shape: []int64{4, 3}, Data: make([]float64, 12)}}, "ort:"},
		{"mismatched shapes", model, []Tensor{good[0], {Name: "x", Shape: []int64{3, 3}, Data: make([]float32, 9)}}, "ort:"},
		{"not a model", []byte("not an onnx model"), good, "ort:"},
		{"empty model", nil, good, "empty model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.model, tc.inputs, 1)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	if _, err := RunFile(filepath.Join(t.TempDir(), "missing.onnx"), good, 1); err == nil {
		t.Error("RunFile on a missing file succeeded")
	}
}

func BenchmarkSessionRun(b *testing.B) {
	needORT(b)
	model, f := loadFixture(b)
	s, err := NewSession(model, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := inputs(f)
	for b.Loop() {
		if _, err := s.Run(in); err != nil {
			b.Fatal(err)
		}
	}
}
