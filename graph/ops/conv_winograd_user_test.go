package ops

import (
	"math"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// winoUserDir holds models/make_winograd_user.py's exports and ONNX
// Runtime's outputs for them (x, ort).
const winoUserDir = "testdata/winograd"

// winoUserRun returns the inference output of the model name for its
// fixture's x, and ONNX Runtime's.
func winoUserRun(t *testing.T, name string) (got, want []float32) {
	t.Helper()
	fx, err := npz.Read(filepath.Join(winoUserDir, name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(filepath.Join(winoUserDir, name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := fx["x"]
	outs, err := r.Run(map[string]*tensor.Dense{"input": Dense(x.Shape, x.Data.([]float32))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err = Data[float32](outs[0]); err != nil {
		t.Fatal(err)
	}
	want = fx["ort"].Data.([]float32)
	if len(got) != len(want) {
		t.Fatalf("%d outputs, ONNX Runtime %d", len(got), len(want))
	}
	return got, want
}

// TestWinogradUserMatchesORT runs, as a user does (importer.Load, then an
// inference Runner), PyTorch exports whose 3x3 convolutions F(2x2, 3x3)
// may take, and compares each output with ONNX Runtime's within 1e-5 of
// the largest: odd planes, an asymmetric ZeroPad2d folded before a
// convolution, padding 0, 1 and 2, a fused ReLU and Clip; and Conv3d
// kernels (1, 3, 3) over one input plane with depth padding, whose output
// has several planes (or, with a depth stride of 3, one plane of the bias
// alone) though its input has one. Each with F(2x2, 3x3) on, and off (the
// direct products it replaces).
func TestWinogradUserMatchesORT(t *testing.T) {
	for _, c := range []struct {
		path string
		on   bool
	}{{"winograd", true}, {"direct", false}} {
		for _, name := range []string{"odd_asym", "conv3d_d1", "conv3d_d1_s3"} {
			t.Run(c.path+"/"+name, func(t *testing.T) {
				convWinogradOn = c.on
				defer func() { convWinogradOn = true }()
				got, want := winoUserRun(t, name)
				var diff, scale float64
				for i := range want {
					d := math.Abs(float64(got[i]) - float64(want[i]))
					if math.IsNaN(d) {
						d = math.Inf(1)
					}
					diff, scale = max(diff, d), max(scale, math.Abs(float64(want[i])))
				}
				if diff > 1e-5*scale {
					t.Errorf("max |diff| from ONNX Runtime %.3g, largest output %.3g (tolerance 1e-5 of it)", diff, scale)
				}
			})
		}
	}
}

// TestWinogradUserTaken: odd_asym's output with F(2x2, 3x3) is not the
// direct products' bit for bit, so TestWinogradUserMatchesORT checks the
// Winograd path.
func TestWinogradUserTaken(t *testing.T) {
	wino, _ := winoUserRun(t, "odd_asym")
	convWinogradOn = false
	defer func() { convWinogradOn = true }()
	direct, _ := winoUserRun(t, "odd_asym")
	same := true
	for i := range wino {
		same = same && wino[i] == direct[i]
	}
	if same {
		t.Error("the outputs with and without Winograd are the same: F(2x2, 3x3) did not run")
	}
}
