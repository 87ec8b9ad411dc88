package remap_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

func load(t *testing.T, path string) *graph.Model {
	t.Helper()
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sample(name string) string { return filepath.Join("..", "models", name) }

func raw(t *testing.T, m *graph.Model, name string) []byte {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("no parameter %s", name)
	}
	return m.Graph.Initializer(p.Initializer).Raw
}

// TestApplyLeNet: the LeNet pretrained on digits 0-4 into a 10-class LeNet.
func TestApplyLeNet(t *testing.T) {
	pre, dst, fresh := load(t, sample("mnist_lenet_0to4.onnx")), load(t, sample("mnist_lenet_10.onnx")), load(t, sample("mnist_lenet_10.onnx"))
	rep, err := remap.Apply(pre, dst, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 8 || len(rep.Mismatched) != 2 || len(rep.Missing) != 0 || len(rep.Unexpected) != 0 {
		t.Fatalf("report %+v: want 8 matched, fc3.weight and fc3.bias mismatched", rep)
	}
	names := []string{rep.Mismatched[0].Name, rep.Mismatched[1].Name}
	sort.Strings(names)
	if names[0] != "fc3.bias" || names[1] != "fc3.weight" || rep.Mismatched[1].From != "float32[5,84]" && rep.Mismatched[0].From != "float32[5,84]" {
		t.Errorf("mismatched %+v", rep.Mismatched)
	}
	for _, name := range rep.Matched {
		if !bytes.Equal(raw(t, dst, name), raw(t, pre, name)) {
			t.Errorf("%s is not the pretrained tensor", name)
		}
	}
	for _, name := range []string{"fc3.weight", "fc3.bias"} {
		if !bytes.Equal(raw(t, dst, name), raw(t, fresh, name)) {
			t.Errorf("%s is not the new model's head", name)
		}
	}
	b, err := export.Encode(dst)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := testmodels.MNISTTest(t, 2)
	outs, err := ort.Run(b, []ort.Tensor{{Name: "input", Shape: []int64{2, 1, 28, 28}, Data: x}}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	if len(outs[0].Data.([]float32)) != 20 {
		t.Errorf("onnxruntime gives %v, want 2 x 10 outputs", outs[0].Shape)
	}
}

// TestApplyModulePrefix: a copy whose names carry DataParallel's "module."
// prefix remaps the same with one rule, and not without it.
func TestApplyModulePrefix(t *testing.T) {
	pre := load(t, sample("mnist_lenet_0to4.onnx"))
	for _, p := range pre.Params {
		remapRename(pre, p.Initializer, "module."+p.Name)
	}
	b, err := export.Encode(pre)
	if err != nil {
		t.Fatal(err)
	}
	prefixed, err := importer.Decode(b, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := remap.ParseRule(`^module\.=`)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := remap.Apply(prefixed, load(t, sample("mnist_lenet_10.onnx")), remap.Options{Rules: []remap.Rule{rule}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 8 || len(rep.Mismatched) != 2 {
		t.Errorf("with the rule: %d matched, %d mismatched", len(rep.Matched), len(rep.Mismatched))
	}
	rep, err = remap.Apply(prefixed, load(t, sample("mnist_lenet_10.onnx")), remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matched) != 0 || len(rep.Unexpected) != 10 {
		t.Errorf("without the rule: %d matched, %d unexpected", len(rep.Matched), len(rep.Unexpected))
	}
	// A rule that matches nothing is a warning.
	rule2, _ := remap.ParseRule(`^backbone\.(.*)=$1`)
	rep, _ = remap.Apply(prefixed, load(t, sample("mnist_lenet_10.onnx")), remap.Options{Rules: []remap.Rule{rule, rule2}})
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "backbone") {
		t.Errorf("warnings %v", rep.Warnings)
	}
}

// remapRename renames an initializer and every reference to it.
func remapRename(m *graph.Model, old, new string) {
	for _, t := range m.Graph.Initializers {
		if t.Name == old {
			t.Name = new
		}
	}
	for _, n := range m.Graph.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
	}
}

func TestApplyStrict(t *testing.T) {
	pre, dst := load(t, sample("mnist_lenet_0to4.onnx")), load(t, sample("mnist_lenet_10.onnx"))
	before := append([]byte(nil), raw(t, dst, "conv1.weight")...)
	rep, err := remap.Apply(pre, dst, remap.Options{Strict: true})
	var se *remap.StrictError
	if !errors.As(err, &se) || len(rep.Mismatched) != 2 {
		t.Fatalf("err %v, want a StrictError listing fc3", err)
	}
	if !strings.Contains(err.Error(), "fc3.weight") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q", err)
	}
	if !bytes.Equal(raw(t, dst, "conv1.weight"), before) {
		t.Errorf("strict failure changed the target")
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, s := range []string{"no-equals", "(unclosed=x"} {
		if _, err := remap.ParseRule(s); err == nil {
			t.Errorf("ParseRule(%q): no error", s)
		}
	}
}

// TestApplyResNet: a default (fused, anonymized) ResNet-18 export into a
// 5-class one: every conv tensor is taken, fc does not fit.
func TestApplyResNet(t *testing.T) {
	if testing.Short() {
		t.Skip("big models skipped with -short")
	}
	var pre, dst string
	for _, e := range testmodels.Big(t) {
		switch e.File {
		case "resnet18_eval.onnx":
			pre = e.Path()
		case "resnet18_5class_eval.onnx":
			dst = e.Path()
		}
	}
	if pre == "" || dst == "" {
		t.Skip("resnet18 exports not generated")
	}
	target := load(t, dst)
	rep, err := remap.Apply(load(t, pre), target, remap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	convs := 0
	for _, n := range target.Graph.Nodes {
		if n.OpType == "Conv" {
			convs++
		}
	}
	if len(rep.Matched) != 2*convs || len(rep.Mismatched) != 2 || len(rep.Missing) != 0 || len(rep.Unexpected) != 0 {
		t.Errorf("%d convs; report: %d matched, %d mismatched %v, %d missing, %d unexpected",
			convs, len(rep.Matched), len(rep.Mismatched), rep.Mismatched, len(rep.Missing), len(rep.Unexpected))
	}
	t.Logf("%d conv tensors matched; mismatched %v", len(rep.Matched), rep.Mismatched)
}
