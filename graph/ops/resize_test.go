package ops

import (
	"fmt"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// resizeCase is one Resize node: its attributes, its opset and the
// constant inputs that size it (scales or sizes, and roi).
type resizeCase struct {
	name   string
	op     string // Resize (default) or Upsample
	opset  int64
	attrs  []*graph.Attribute
	scales []float32
	sizes  []int64
	roi    []float32
}

func (rc resizeCase) args(x *tensor.Dense) []arg {
	args := []arg{{Name: "x", Value: x}}
	floatsArg := func(name string, v []float32) arg {
		return arg{Name: name, Value: Dense([]int{len(v)}, v), Const: true}
	}
	switch opset := rc.opsetOr(13); {
	case rc.op == "Upsample" && opset < 9:
	case rc.op == "Upsample" || opset < 11:
		args = append(args, floatsArg("scales", rc.scales))
	default:
		if rc.roi != nil {
			args = append(args, floatsArg("roi", rc.roi))
		} else {
			args = append(args, arg{})
		}
		if rc.scales != nil {
			args = append(args, floatsArg("scales", rc.scales))
		} else {
			args = append(args, arg{}, arg{Name: "sizes", Value: Dense([]int{len(rc.sizes)}, rc.sizes), Const: true})
		}
	}
	return args
}

func (rc resizeCase) opType() string {
	if rc.op == "" {
		return "Resize"
	}
	return rc.op
}

func (rc resizeCase) opsetOr(def int64) int64 {
	if rc.opset == 0 {
		return def
	}
	return rc.opset
}

func modeAttrs(mode, coord string, more ...*graph.Attribute) []*graph.Attribute {
	out := []*graph.Attribute{attrString("mode", mode)}
	if coord != "" {
		out = append(out, attrString("coordinate_transformation_mode", coord))
	}
	return append(out, more...)
}

// resizeCases cover every mode, nearest_mode and coordinate mode PyTorch's
// exporters write (and the others ONNX defines), upsampling and
// downsampling, by scales and by sizes.
func resizeCases() []resizeCase {
	var cs []resizeCase
	up, down := []float32{1, 1, 2, 3}, []float32{1, 1, 0.5, 0.75}
	for _, coord := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"} {
		for _, nm := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
			cs = append(cs, resizeCase{name: "nearest_" + coord + "_" + nm + "_up",
				attrs: modeAttrs("nearest", coord, attrString("nearest_mode", nm)), scales: up})
			cs = append(cs, resizeCase{name: "nearest_" + coord + "_" + nm + "_sizes",
				attrs: modeAttrs("nearest", coord, attrString("nearest_mode", nm)), sizes: []int64{2, 3, 3, 11}})
		}
		for _, mode := range []string{"linear", "cubic"} {
			cs = append(cs, resizeCase{name: mode + "_" + coord + "_up", attrs: modeAttrs(mode, coord), scales: up})
			cs = append(cs, resizeCase{name: mode + "_" + coord + "_down", attrs: modeAttrs(mode, coord), sizes: []int64{2, 3, 2, 5}})
			cs = append(cs, resizeCase{name: mode + "_" + coord + "_sizes", attrs: modeAttrs(mode, coord), sizes: []int64{2, 3, 9, 4}})
		}
	}
	cs = append(cs,
		resizeCase{name: "nearest_default_down", attrs: modeAttrs("nearest", ""), scales: down},
		resizeCase{name: "cubic_exclude_outside", attrs: modeAttrs("cubic", "half_pixel", attrInt("exclude_outside", 1), attrFloat("cubic_coeff_a", -0.5)), scales: up},
		resizeCase{name: "linear_antialias_down", opset: 18, attrs: modeAttrs("linear", "half_pixel", attrInt("antialias", 1)), sizes: []int64{2, 3, 2, 3}},
		resizeCase{name: "cubic_antialias_down", opset: 18, attrs: modeAttrs("cubic", "half_pixel", attrInt("antialias", 1)), sizes: []int64{2, 3, 3, 4}},
		resizeCase{name: "tf_crop_and_resize", attrs: modeAttrs("linear", "tf_crop_and_resize", attrFloat("extrapolation_value", 2)),
			sizes: []int64{2, 3, 4, 6}, roi: []float32{0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3}},
		resizeCase{name: "axes_sizes_not_larger", opset: 19, attrs: modeAttrs("linear", "half_pixel", attrInts("axes", 3, 2), attrString("keep_aspect_ratio_policy", "not_larger")), sizes: []int64{10, 7}},
		resizeCase{name: "resize10_nearest_down", opset: 10, attrs: modeAttrs("nearest", ""), scales: []float32{1, 1, 0.6, 0.5}},
		resizeCase{name: "resize10_linear_up", opset: 10, attrs: modeAttrs("linear", ""), scales: up},
		resizeCase{name: "upsample9_nearest", op: "Upsample", opset: 9, attrs: modeAttrs("nearest", ""), scales: up},
		resizeCase{name: "upsample9_linear", op: "Upsample", opset: 9, attrs: modeAttrs("linear", ""), scales: []float32{1, 1, 2, 2}},
		resizeCase{name: "upsample7_nearest", op: "Upsample", opset: 7, attrs: modeAttrs("nearest", "", &graph.Attribute{Name: "scales", Type: graph.AttrFloats, Floats: up}), scales: up},
	)
	return cs
}

// TestResizeMatchesORT runs every case on a float32 [2, 3, 5, 7] input in
// the engine and in ONNX Runtime, which must agree within 1e-5 of the
// largest value (nearest exactly).
func TestResizeMatchesORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		t.Skip(err)
	}
	r := rand.New(rand.NewSource(1))
	xs := make([]float32, 2*3*5*7)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	x := Dense([]int{2, 3, 5, 7}, xs)
	for _, rc := range resizeCases() {
		t.Run(rc.name, func(t *testing.T) {
			args := rc.args(x)
			got := run(t, rc.opType(), rc.opsetOr(13), rc.attrs, 1, args...)
			m, _ := oneNode(rc.opType(), rc.opsetOr(13), rc.attrs, 1, args...)
			m.Graph.Outputs[0].Type = &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32}
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ort.Run(b, []ort.Tensor{{Name: "x", Shape: []int64{2, 3, 5, 7}, Data: xs}}, 1)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			if fmt.Sprint(Shape(got[0])) != fmt.Sprint(want[0].Shape) {
				t.Fatalf("shape %v, onnxruntime %v", Shape(got[0]), want[0].Shape)
			}
			y, _ := Data[float32](got[0])
			w := want[0].Data.([]float32)
			worst, scale := 0.0, 1.0
			for i := range w {
				worst = max(worst, float64(abs32(y[i]-w[i])))
				scale = max(scale, float64(abs32(w[i])))
			}
			tol := 1e-5 * scale // ONNX Runtime's weights are float32
			if a := rc.attrs[0]; string(a.S) == "nearest" {
				tol = 0
			}
			if worst > tol {
				t.Errorf("max |diff| %.3g vs onnxruntime (largest %.3g)", worst, scale)
			}
		})
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestResizeGradients checks the gradient (the interpolation's transpose)
// by finite differences in float64 for each mode.
func TestResizeGradients(t *testing.T) {
	x := randF64(3, -1, 1, 1, 2, 4, 5)
	for _, rc := range resizeCases() {
		switch rc.name {
		case "nearest_half_pixel_floor_up", "nearest_asymmetric_floor_sizes", "nearest_half_pixel_round_prefer_ceil_sizes",
			"linear_half_pixel_up", "linear_pytorch_half_pixel_down", "linear_align_corners_sizes", "linear_asymmetric_up",
			"cubic_half_pixel_up", "cubic_align_corners_down", "cubic_exclude_outside", "linear_antialias_down",
			"cubic_antialias_down", "tf_crop_and_resize", "axes_sizes_not_larger", "upsample9_linear", "resize10_nearest_down":
		default:
			continue
		}
		t.Run(rc.name, func(t *testing.T) {
			gradCheck(t, rc.opType(), rc.opsetOr(13), rc.attrs, rc.args(x)...)
		})
	}
}

// Resize of an integer tensor copies by nearest index; interpolating one
// is refused naming the mode.
func TestResizeIntegers(t *testing.T) {
	x := Dense([]int{1, 1, 2, 2}, []int64{1, 2, 3, 4})
	rc := resizeCase{attrs: modeAttrs("nearest", "asymmetric", attrString("nearest_mode", "floor")), scales: []float32{1, 1, 2, 1}}
	got := run(t, "Resize", 13, rc.attrs, 1, rc.args(x)...)
	if fmt.Sprint(got[0].Data()) != "[1 2 1 2 3 4 3 4]" {
		t.Errorf("got %v", got[0].Data())
	}
	rc.attrs = modeAttrs("linear", "")
	m, shapes := oneNode("Resize", 13, rc.attrs, 1, rc.args(x)...)
	if _, err := Compile(m, shapes, Options{}); err == nil || err.Error() != `node "/test/Resize" (Resize): Resize: linear mode of int64 (only float tensors interpolate)` {
		t.Errorf("got %v", err)
	}
}
