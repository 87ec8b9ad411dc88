package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
)

// TestReplaceHeadJSON: --json prints one JSON object (the layer, its old
// and new number of outputs, the files, the seed, the weight's and bias's
// shapes before and after, the class names written) and writes the file
// the plain command writes; a failure prints nothing on standard output.
func TestReplaceHeadJSON(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "models", "mnist_lenet_0to4.onnx")
	m, err := importer.Load(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		extra []string
		names []string
	}{
		{"no names", nil, []string{}},
		{"class names", []string{"--class-names", "a,b,c"}, []string{"a", "b", "c"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, out := filepath.Join(dir, "plain.onnx"), filepath.Join(dir, "json.onnx")
			args := append([]string{"replace-head", in, "--layer", "fc3", "--classes", "3", "--seed", "4"}, c.extra...)
			if code, _, stderr := runCLI(append(args, "-o", plain)...); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			code, stdout, stderr := runCLI(append(args, "-o", out, "--json")...)
			if code != exitOK || stderr != "" {
				t.Fatalf("--json: exit %d, stderr %q", code, stderr)
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(stdout)))
			dec.DisallowUnknownFields()
			var got headResult
			if err := dec.Decode(&got); err != nil || dec.More() {
				t.Fatalf("--json: %v, or more than one object: %s", err, stdout)
			}
			var keys map[string]any
			if err := json.Unmarshal([]byte(stdout), &keys); err != nil || len(keys) != 8 {
				t.Errorf("--json: %d keys (%v), want the 8 of headResult", len(keys), err)
			}
			tuned, err := importer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			var params []headParam
			for _, n := range []string{"fc3.weight", "fc3.bias"} {
				params = append(params, headParam{Name: n, OldShape: m.Param(n).Shape, NewShape: tuned.Param(n).Shape})
			}
			want := headResult{Input: in, Output: out, Layer: "fc3", OldOutputs: m.Param("fc3.weight").Shape[0], NewOutputs: 3,
				Seed: 4, Params: params, ClassNames: c.names}
			if gs, ws := jsonString(t, got), jsonString(t, want); gs != ws {
				t.Errorf("--json:\n%s\nwant\n%s", gs, ws)
			}
			a, err := os.ReadFile(plain)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Error("--json wrote another model than the plain command")
			}
			if !slices.Equal(tuned.Param("fc3.weight").Shape, []int64{3, m.Param("fc3.weight").Shape[1]}) {
				t.Errorf("fc3.weight %v, want 3 rows", tuned.Param("fc3.weight").Shape)
			}
		})
	}
	code, stdout, stderr := runCLI("replace-head", "--json", in, "--layer", "nope", "--classes", "3", "-o", filepath.Join(dir, "x.onnx"))
	if code != exitError || stdout != "" || stderr == "" {
		t.Errorf("a layer that is not there: exit %d, stdout %q, stderr %q; want exit 1, the error alone", code, stdout, stderr)
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
