package remap_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

// checkApplied checks what Apply did to target against the report: matched
// names hold the pretrained tensor (in PyTorch's layout, bit for bit), the
// other names the tensor target had before (before, by name), no two
// parameters share an initializer, and pre did not change (preBytes).
func checkApplied(t *testing.T, rep remap.Report, pre, target *graph.Model, before map[string][]byte, preBytes []byte) {
	t.Helper()
	taken := make(map[string]bool)
	for _, name := range rep.Matched {
		taken[name] = true
		if !bytes.Equal(torch(t, target, name), torch(t, pre, name)) {
			t.Errorf("matched %s: not the pretrained tensor", name)
		}
	}
	owner := make(map[string]string)
	for _, p := range target.Params {
		if o, ok := owner[p.Initializer]; ok {
			t.Errorf("%s and %s share initializer %s", o, p.Name, p.Initializer)
		}
		owner[p.Initializer] = p.Name
		if !taken[p.Name] && !bytes.Equal(torch(t, target, p.Name), before[p.Name]) {
			t.Errorf("%s: not the target's own tensor", p.Name)
		}
	}
	if !bytes.Equal(encode(t, pre), preBytes) {
		t.Errorf("the pretrained model changed")
	}
}

// snapshot returns every parameter's values in PyTorch's layout, by name.
func snapshot(t *testing.T, m *graph.Model) map[string][]byte {
	t.Helper()
	s := make(map[string][]byte)
	for _, p := range m.Params {
		s[p.Name] = bytes.Clone(torch(t, m, p.Name))
	}
	return s
}

func TestApply(t *testing.T) {
	lenetMismatch := []remap.Mismatch{
		{Name: "fc3.weight", From: "float32[5,84]", Into: "float32[10,84]"},
		{Name: "fc3.bias", From: "float32[5]", Into: "float32[10]"},
	}
	cases := []struct {
		name       string
		from       string
		into       func(t *testing.T) *graph.Model
		matched    []string // nil: every target name
		mismatched []remap.Mismatch
	}{
		{
			name: "LeNet 0-4 into 10 classes",
			from: "mnist_lenet_0to4.onnx",
			into: func(t *testing.T) *graph.Model { return load(t, sample("mnist_lenet_10.onnx")) },
			matched: []string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
				"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"},
			mismatched: lenetMismatch,
		},
		{
			name: "BatchNorm buffers (preserve export)",
			from: "bn_cnn_preserve.onnx",
			into: func(t *testing.T) *graph.Model { return poisoned(t, sample("bn_cnn_preserve.onnx")) },
		},
		{
			name: "BatchNorm1d buffers",
			from: "mlp_bn_eval.onnx",
			into: func(t *testing.T) *graph.Model { return poisoned(t, sample("mlp_bn_eval.onnx")) },
		},
		{
			name: "fused anonymized eval exports",
			from: "bn_cnn_eval.onnx",
			into: func(t *testing.T) *graph.Model { return poisoned(t, sample("bn_cnn_eval.onnx")) },
		},
		{
			name: "tied target is untied",
			from: "transformer_op13.onnx",
			into: func(t *testing.T) *graph.Model { return load(t, sample("transformer_tied_op13.onnx")) },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pre, target := load(t, sample(c.from)), c.into(t)
			preBytes, before := encode(t, pre), snapshot(t, target)
			want := c.matched
			if want == nil {
				for _, p := range target.Params {
					want = append(want, p.Name)
				}
			}
			rep, err := remap.Apply(pre, target, remap.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantRep := remap.Report{Matched: want, Missing: []string{}, Unexpected: []string{}, Mismatched: c.mismatched}
			if wantRep.Mismatched == nil {
				wantRep.Mismatched = []remap.Mismatch{}
			}
			if diff := cmp.Diff(wantRep, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			checkApplied(t, rep, pre, target, before, preBytes)
			// Written and read back, the result still has its names.
			back, err := importer.Decode(encode(t, target), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range rep.Matched {
				if !bytes.Equal(torch(t, back, name), torch(t, pre, name)) {
					t.Errorf("%s after a round trip: not the pretrained tensor", name)
				}
			}
		})
	}
}

// TestApplyLeNetORT: the remapped LeNet holds the pretrained backbone and the
// new model's head, bit for bit, and ONNX Runtime runs it with 10 outputs.
func TestApplyLeNetORT(t *testing.T) {
	pre, dst, fresh := load(t, sample("mnist_lenet_0to4.onnx")), load(t, sample("mnist_lenet_10.onnx")), load(t, sample("mnist_lenet_10.onnx"))
	rep, err := remap.Apply(pre, dst, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rep.Matched {
		if !bytes.Equal(raw(t, dst, name), raw(t, pre, name)) {
			t.Errorf("%s is not the pretrained tensor", name)
		}
	}
	for _, name := range []string{"fc3.weight", "fc3.bias"} {
		if !bytes.Equal(raw(t, dst, name), raw(t, fresh, name)) {
			t.Errorf("%s is not mnist_lenet_10's head", name)
		}
	}
	out := filepath.Join(t.TempDir(), "lenet10.onnx")
	if err := export.WriteFile(out, dst); err != nil {
		t.Fatal(err)
	}
	x, _ := testmodels.MNISTTest(t, 4)
	outs, err := ort.RunFile(out, []ort.Tensor{{Name: "input", Shape: []int64{4, 1, 28, 28}, Data: x}}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	if got := outs[0].Shape; len(got) != 2 || got[0] != 4 || got[1] != 10 {
		t.Errorf("onnxruntime output shape %v, want [4 10]", got)
	}
}

// TestApplyTiedORT: the untied transformer, filled from the untied export of
// the same model, computes what that export computes.
func TestApplyTiedORT(t *testing.T) {
	var e testmodels.Entry
	for _, s := range testmodels.Samples(t) {
		if s.File == "transformer_op13.onnx" {
			e = s
		}
	}
	if e.File == "" {
		t.Fatal("transformer_op13.onnx is not in models/manifest.json")
	}
	target := load(t, sample("transformer_tied_op13.onnx"))
	if _, err := remap.Apply(load(t, e.Path()), target, remap.Options{}); err != nil {
		t.Fatal(err)
	}
	in, want := e.ExpectedIO(t)
	outs, err := ort.Run(encode(t, target), []ort.Tensor{in}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	if diff, scale := testmodels.MaxAbsDiff(outs[0].Data.([]float32), want); diff > 1e-5*max(scale, 1) {
		t.Errorf("outputs differ from PyTorch's for transformer_op13 by %g (largest %g)", diff, scale)
	}
}

// TestApplyModulePrefix: a copy whose names carry DataParallel's "module."
// prefix remaps identically with one rule, and matches nothing without it.
func TestApplyModulePrefix(t *testing.T) {
	pre := load(t, sample("mnist_lenet_0to4.onnx"))
	renameInitializers(t, pre, "module.")
	path := filepath.Join(t.TempDir(), "dataparallel.onnx")
	if err := export.WriteFile(path, pre); err != nil {
		t.Fatal(err)
	}
	prefixed := load(t, path)
	if prefixed.Param("module.conv1.weight") == nil {
		t.Fatalf("the prefixed copy has no module.conv1.weight")
	}

	plain := load(t, sample("mnist_lenet_10.onnx"))
	wantRep, err := remap.Apply(load(t, sample("mnist_lenet_0to4.onnx")), plain, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := remap.ParseRule(`^module\.=`)
	if err != nil {
		t.Fatal(err)
	}
	dst := load(t, sample("mnist_lenet_10.onnx"))
	rep, err := remap.Apply(prefixed, dst, remap.Options{Rules: []remap.Rule{rule}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantRep, rep); diff != "" {
		t.Errorf("report with the rule (-want +got):\n%s", diff)
	}
	if !bytes.Equal(encode(t, dst), encode(t, plain)) {
		t.Errorf("the remapped model differs from the one remapped from the unprefixed export")
	}

	rep, err = remap.Apply(prefixed, load(t, sample("mnist_lenet_10.onnx")), remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 0 || len(rep.Missing) != 10 || len(rep.Unexpected) != 10 || rep.Unexpected[0] != "module.conv1.bias" {
		t.Errorf("without the rule: %d matched, %d missing, unexpected %v", len(rep.Matched), len(rep.Missing), rep.Unexpected)
	}
}

// TestApplyTransposed: values are copied in PyTorch's layout when one side
// stores the weight transposed (Gemm transB=0) and the other does not.
func TestApplyTransposed(t *testing.T) {
	// transpose gives fc1 of a LeNet the layout of a MatMul weight: Gemm
	// with transB=0 and the initializer holding (in, out), marked as the
	// transpose of PyTorch's fc1.weight.
	transpose := func(m *graph.Model) *graph.Model {
		gemm := m.Graph.Node("/fc1/Gemm")
		if gemm == nil || gemm.Attr("transB") == nil {
			t.Fatal("no /fc1/Gemm with transB in the LeNet")
		}
		gemm.Attr("transB").I = 0
		w := m.Graph.Initializer("fc1.weight")
		w.Raw = transposed(w.Raw, int(w.Dims[0]), int(w.Dims[1]), 4)
		w.Dims = []int64{w.Dims[1], w.Dims[0]}
		// Under its PyTorch name the tensor reads as PyTorch's layout
		// unless marked, as remap.Rename marks a folded transpose.
		w.Metadata = append(w.Metadata, graph.StringPair{Key: graph.StoredKey, Value: graph.StoredTransposed})
		m.BuildParams()
		if p := m.Param("fc1.weight"); !p.Transposed || p.Shape[0] != 120 {
			t.Fatalf("fc1.weight after transposing: %+v", p)
		}
		return m
	}
	cases := []struct {
		name               string
		preT, intoT        bool
		wantStoredAsInFrom bool // the target's initializer holds the pretrained bytes as they are
	}{
		{"transposed into plain", true, false, false},
		{"plain into transposed", false, true, false},
		{"transposed into transposed", true, true, true},
		{"plain into plain", false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pre, dst := load(t, sample("mnist_lenet_0to4.onnx")), load(t, sample("mnist_lenet_10.onnx"))
			if c.preT {
				pre = transpose(pre)
			}
			if c.intoT {
				dst = transpose(dst)
			}
			rep, err := remap.Apply(pre, dst, remap.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Matched) != 8 {
				t.Fatalf("matched %v", rep.Matched)
			}
			if !bytes.Equal(torch(t, dst, "fc1.weight"), torch(t, pre, "fc1.weight")) {
				t.Errorf("fc1.weight is not the pretrained tensor in PyTorch's layout")
			}
			if got := bytes.Equal(raw(t, dst, "fc1.weight"), raw(t, pre, "fc1.weight")); got != c.wantStoredAsInFrom {
				t.Errorf("stored bytes equal: %v, want %v", got, c.wantStoredAsInFrom)
			}
		})
	}
}

func TestApplyStrict(t *testing.T) {
	prefixed := func(t *testing.T) *graph.Model {
		m := load(t, sample("mnist_lenet_0to4.onnx"))
		renameInitializers(t, m, "module.")
		m.BuildParams()
		return m
	}
	cases := []struct {
		name       string
		pre        func(t *testing.T) *graph.Model
		into       string
		missing    int
		unexpected int
		mismatched int
		msg        string // in the error message
	}{
		{
			name: "mismatched head",
			pre:  func(t *testing.T) *graph.Model { return load(t, sample("mnist_lenet_0to4.onnx")) },
			into: "mnist_lenet_10.onnx", mismatched: 2,
			msg: "remap: strict: 2 mismatched (fc3.weight float32[5,84] -> float32[10,84], fc3.bias float32[5] -> float32[10]); nothing changed",
		},
		{
			name: "missing and unexpected",
			pre:  prefixed, into: "mnist_lenet_10.onnx", missing: 10, unexpected: 10,
			msg: "10 missing (conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc1.weight and 5 more); 10 unexpected (module.conv1.bias,",
		},
		{
			name: "other architecture",
			pre:  func(t *testing.T) *graph.Model { return load(t, sample("bn_cnn_preserve.onnx")) },
			into: "bn_tied.onnx", mismatched: 7,
			msg: "7 mismatched (conv2.weight float32[16,8,3,3] -> float32[8,8,3,3],",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pre, dst := c.pre(t), load(t, sample(c.into))
			preBytes, dstBytes := encode(t, pre), encode(t, dst)
			rep, err := remap.Apply(pre, dst, remap.Options{Strict: true})
			var se *remap.StrictError
			if !errors.As(err, &se) {
				t.Fatalf("err %v, want a *StrictError", err)
			}
			if len(se.Missing) != c.missing || len(se.Unexpected) != c.unexpected || len(se.Mismatched) != c.mismatched {
				t.Errorf("StrictError lists %d missing, %d unexpected, %d mismatched; want %d, %d, %d",
					len(se.Missing), len(se.Unexpected), len(se.Mismatched), c.missing, c.unexpected, c.mismatched)
			}
			if !cmp.Equal(se.Mismatched, rep.Mismatched) || !cmp.Equal(se.Missing, rep.Missing) || !cmp.Equal(se.Unexpected, rep.Unexpected) {
				t.Errorf("the error's lists differ from the report's")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") || len(msg) > 600 {
				t.Errorf("message %q: want one line containing %q", msg, c.msg)
			}
			var sm *remap.ShapeMismatchError
			if got := errors.As(err, &sm); got != (c.mismatched > 0) {
				t.Errorf("errors.As(*ShapeMismatchError) = %v", got)
			} else if got && (sm.Name != rep.Mismatched[0].Name || sm.Want != rep.Mismatched[0].Into || sm.Got != rep.Mismatched[0].From) {
				t.Errorf("ShapeMismatchError %+v for %+v", sm, rep.Mismatched[0])
			}
			if !bytes.Equal(encode(t, dst), dstBytes) {
				t.Errorf("a strict failure changed the target")
			}
			if !bytes.Equal(encode(t, pre), preBytes) {
				t.Errorf("a strict failure changed the pretrained model")
			}
		})
	}
	t.Run("clean", func(t *testing.T) {
		rep, err := remap.Apply(load(t, sample("lenet.onnx")), load(t, sample("lenet.onnx")), remap.Options{Strict: true})
		if err != nil || !rep.Clean() || len(rep.Matched) != 10 {
			t.Errorf("%v, %+v", err, rep)
		}
	})
}

// TestApplyFoldedWarning: a fused eval export into a model that keeps its
// BatchNorm layers matches the conv tensors by name and shape, and warns
// that their values hold BatchNorm's scale.
func TestApplyFoldedWarning(t *testing.T) {
	rep, err := remap.Apply(load(t, sample("bn_cnn_eval.onnx")), load(t, sample("bn_cnn_preserve.onnx")), remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 6 || len(rep.Missing) != 8 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "misses 4: if it is an eval export, BatchNorm is folded") {
		t.Errorf("report %+v", rep)
	}
}

func TestRules(t *testing.T) {
	cases := []struct {
		name      string
		rules     []string
		prefix    string // given to the pretrained names
		matched   int
		warnings  []string
		parseErr  string // ParseRules fails with this
		applyErr  string // Apply fails with this
		errIsRule bool
	}{
		{name: "strip module.", rules: []string{`^module\.=`}, prefix: "module.", matched: 8},
		{name: "unwrap backbone", rules: []string{`^backbone\.(.*)=$1`}, prefix: "backbone.", matched: 8},
		{name: "in order", rules: []string{`^a\.=b.`, `^b\.=`}, prefix: "a.", matched: 8},
		{name: "add a prefix", rules: []string{`^=model.`}, prefix: "", matched: 0},
		{name: "no rule, prefixed", prefix: "module.", matched: 0},
		{
			name: "a rule matching nothing warns", rules: []string{`^module\.=`, `^backbone\.(.*)=$1`}, prefix: "module.", matched: 8,
			warnings: []string{`rename rule '^backbone\.(.*)=$1' matches no pretrained name`},
		},
		{name: "missing '='", rules: []string{`^module\.`}, parseErr: `invalid rename rule "^module\\.": want REGEXP=REPLACEMENT`, errIsRule: true},
		{name: "invalid regexp", rules: []string{`(unclosed=x`}, parseErr: "missing closing )", errIsRule: true},
		{name: "empty regexp", rules: []string{`=x`}, parseErr: "empty REGEXP", errIsRule: true},
		{name: "two names into one", rules: []string{`^conv\d=conv`}, applyErr: `"conv1.weight" and "conv2.weight" both renamed to "conv.weight"`, errIsRule: true},
		{name: "renamed to nothing", rules: []string{`^.*bias$=`}, applyErr: `"conv1.bias" renamed to an empty name`, errIsRule: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := remap.ParseRules(c.rules)
			if c.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.parseErr) || errors.Is(err, remap.ErrRule) != c.errIsRule {
					t.Fatalf("ParseRules(%q) = %v, want an ErrRule with %q", c.rules, err, c.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rules {
				if r.String() != c.rules[i] {
					t.Errorf("rule %q prints as %q", c.rules[i], r)
				}
			}
			pre := load(t, sample("mnist_lenet_0to4.onnx"))
			if c.prefix != "" {
				renameInitializers(t, pre, c.prefix)
				pre.BuildParams()
			}
			dst := load(t, sample("mnist_lenet_10.onnx"))
			dstBytes := encode(t, dst)
			rep, err := remap.Apply(pre, dst, remap.Options{Rules: rules})
			if c.applyErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.applyErr) || !errors.Is(err, remap.ErrRule) {
					t.Errorf("Apply: %v, want an ErrRule with %q", err, c.applyErr)
				}
				if !bytes.Equal(encode(t, dst), dstBytes) {
					t.Errorf("a failed Apply changed the target")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Matched) != c.matched {
				t.Errorf("%d matched, want %d (unexpected %v)", len(rep.Matched), c.matched, rep.Unexpected)
			}
			got := rep.Warnings
			if c.matched == 0 {
				// Nothing matched: the last warning says so.
				if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "nothing matched: ") {
					t.Fatalf("warnings %q lack 'nothing matched'", got)
				}
				got = got[:len(got)-1]
				if len(got) == 0 {
					got = nil
				}
			}
			if diff := cmp.Diff(c.warnings, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyResNet: a default (fused, anonymized) ResNet-18 export into a
// 5-class one: every conv tensor is taken, bit for bit; fc does not fit.
func TestApplyResNet(t *testing.T) {
	pre, target := load(t, big(t, "resnet18_eval.onnx")), load(t, big(t, "resnet18_5class_eval.onnx"))
	before := snapshot(t, target)
	rep, err := remap.Apply(pre, target, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	taken := make(map[string]bool)
	changed := 0
	for _, n := range rep.Matched {
		taken[n] = true
		if !bytes.Equal(before[n], torch(t, pre, n)) {
			changed++
		}
	}
	if changed == 0 {
		t.Errorf("the two exports hold the same tensors: the test shows nothing")
	}
	convTensors := 0
	consumers := target.Graph.Consumers()
	for _, p := range target.Params {
		for _, u := range consumers[p.Value] {
			if u.Node.OpType != "Conv" {
				continue
			}
			convTensors++
			if !taken[p.Name] {
				t.Errorf("conv tensor %s not taken", p.Name)
			} else if !bytes.Equal(raw(t, target, p.Name), raw(t, pre, p.Name)) {
				t.Errorf("%s is not the pretrained tensor", p.Name)
			}
		}
	}
	want := []remap.Mismatch{
		{Name: "fc.weight", From: "float32[1000,512]", Into: "float32[5,512]"},
		{Name: "fc.bias", From: "float32[1000]", Into: "float32[5]"},
	}
	if diff := cmp.Diff(want, rep.Mismatched); diff != "" {
		t.Errorf("mismatched (-want +got):\n%s", diff)
	}
	if len(rep.Matched) != convTensors || len(rep.Missing) != 0 || len(rep.Unexpected) != 0 {
		t.Errorf("%d conv tensors; %d matched, %d missing, %d unexpected", convTensors, len(rep.Matched), len(rep.Missing), len(rep.Unexpected))
	}
	for _, n := range []string{"fc.weight", "fc.bias"} {
		if !bytes.Equal(torch(t, target, n), before[n]) {
			t.Errorf("%s is not the 5-class model's", n)
		}
	}
	t.Logf("%d of %d conv tensors matched (recovered names such as %s); mismatched %v", len(rep.Matched), convTensors, rep.Matched[2], rep.Mismatched)
	outs, err := ort.Run(encode(t, target), []ort.Tensor{{Name: "input", Shape: []int64{1, 3, 224, 224}, Data: make([]float32, 3*224*224)}}, 2)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	if got := outs[0].Shape; len(got) != 2 || got[1] != 5 {
		t.Errorf("onnxruntime output shape %v", got)
	}
}

// TestApplyNothingMatched: two models that share no parameter name give a
// warning naming both sides' parameters, and --strict refuses.
func TestApplyNothingMatched(t *testing.T) {
	pre := load(t, sample("lenet.onnx"))
	dst := load(t, sample("transformer_op13.onnx"))
	rep, err := remap.Apply(pre, dst, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 0 || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[len(rep.Warnings)-1], "nothing matched") ||
		!strings.Contains(rep.Warnings[len(rep.Warnings)-1], "conv1.weight") {
		t.Fatalf("matched %v, warnings %q", rep.Matched, rep.Warnings)
	}
	var se *remap.StrictError
	if _, err := remap.Apply(pre, load(t, sample("transformer_op13.onnx")), remap.Options{Strict: true}); !errors.As(err, &se) {
		t.Fatalf("strict: %v", err)
	}
}

// TestApplyAcrossFloatTypes: pretrained tensors of another float type
// than the model's are taken, converted, as load_state_dict copies them
// (Tensor.copy_ casts): a float16 or bfloat16 export into a float32 model
// and a float32 export into a float16 one give the tensors PyTorch's
// load_state_dict gives (models/make_remap_dtypes.py), bit for bit. They
// were reported mismatched and the model kept all its own.
func TestApplyAcrossFloatTypes(t *testing.T) {
	dir := sample("remap_dtypes")
	want, err := npz.Read(filepath.Join(dir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{"pre16", "new32"}, {"prebf16", "new32"}, {"pre32", "new16"}} {
		t.Run(c[0]+"->"+c[1], func(t *testing.T) {
			pre := load(t, filepath.Join(dir, c[0]+".onnx"))
			m := load(t, filepath.Join(dir, c[1]+".onnx"))
			rep, err := remap.Apply(pre, m, remap.Options{Strict: true})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if len(rep.Matched) != 4 {
				t.Fatalf("matched %v, want the 4 parameters", rep.Matched)
			}
			for _, p := range m.Params {
				w, ok := want[c[0]+"->"+c[1]+"/"+p.Name]
				if !ok {
					t.Fatalf("no expected %s", p.Name)
				}
				var b []byte
				switch d := w.Data.(type) {
				case []float32:
					b = graph.Encode(d)
				case []graph.F16:
					b = graph.Encode(d)
				default:
					t.Fatalf("%s: expected values of %T", p.Name, w.Data)
				}
				if got := m.Graph.Initializer(p.Initializer); !bytes.Equal(got.Raw, b) {
					t.Errorf("%s: %s values differ from PyTorch's load_state_dict", p.Name, got.DType)
				}
			}
		})
	}
}
