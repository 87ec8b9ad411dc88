package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
)

// TestRemapModulePrefix: a pretrained export whose names carry
// nn.DataParallel's "module." prefix remaps, with --rename '^module\.=',
// into the very file and report the unprefixed export gives.
func TestRemapModulePrefix(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	tmp := t.TempDir()
	m, err := importer.Load(filepath.Join(models, "mnist_lenet_0to4.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range m.Graph.Initializers {
		old := tt.Name
		tt.Name = "module." + old
		for _, n := range m.Graph.Nodes {
			for i, in := range n.Inputs {
				if in == old {
					n.Inputs[i] = tt.Name
				}
			}
		}
	}
	dp := filepath.Join(tmp, "dataparallel.onnx")
	if err := export.WriteFile(dp, m); err != nil {
		t.Fatal(err)
	}
	into := filepath.Join(models, "mnist_lenet_10.onnx")
	cases := []struct {
		name string
		args []string
	}{
		{"plain", []string{"--from", filepath.Join(models, "mnist_lenet_0to4.onnx")}},
		{"prefixed", []string{"--from", dp, "--rename", `^module\.=`}},
	}
	var outs [][]byte
	var reports []string
	for _, c := range cases {
		out := filepath.Join(tmp, c.name+".onnx")
		var stdout, stderr bytes.Buffer
		args := append([]string{"remap", "--into", into, "-o", out}, c.args...)
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%s: exit %d: %s", c.name, code, &stderr)
		}
		if stderr.Len() > 0 {
			t.Errorf("%s: stderr %s", c.name, &stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
		reports = append(reports, strings.ReplaceAll(stdout.String(), out, "OUT"))
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("the prefixed export remaps into another file")
	}
	if reports[0] != reports[1] {
		t.Errorf("reports differ:\n%s\n%s", reports[0], reports[1])
	}
	if !strings.Contains(reports[1], "8 matched, 2 mismatched, 0 missing, 0 unexpected") {
		t.Errorf("report:\n%s", reports[1])
	}
}
