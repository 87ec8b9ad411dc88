package ops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// quantCasesDir holds ONNX's node test cases for QuantizeLinear and
// DequantizeLinear, made by models/make_quant.py with the case generators
// of onnx 1.23 (the 701 cases of ../shared/onnx-node-tests hold none).
const quantCasesDir = "../../models/quant/node"

// quantUnsupported are the cases of element types the engine does not
// run, with the reason; every other case must pass.
var quantUnsupported = map[string]string{
	"e4m3fn": "float8", "e5m2": "float8", "float4e2m1": "float4", "int4": "int4", "uint4": "uint4",
	"int2": "int2", "uint2": "uint2", "float16": "float16 scale",
}

// TestQuantNodeCases runs the cases with the conformance harness (rtol
// 1e-3, exact for integers).
func TestQuantNodeCases(t *testing.T) {
	dirs, err := os.ReadDir(quantCasesDir)
	if err != nil {
		t.Fatal(err)
	}
	pass, skipped := 0, 0
	for _, d := range dirs {
		name := d.Name()
		why := ""
		for k, v := range quantUnsupported {
			if strings.HasSuffix(name, "_"+k) || strings.Contains(name, "_"+k+"_") {
				why = v
			}
		}
		res := runCase(filepath.Join(quantCasesDir, name))
		switch {
		case why != "" && res.err == nil:
			t.Errorf("%s passes: remove it from quantUnsupported (%s)", name, why)
		case why != "":
			skipped++
			t.Logf("%s: %s not supported: %v", name, why, res.err)
		case res.err != nil:
			t.Errorf("%s: %v", name, res.err)
		default:
			pass++
		}
	}
	t.Logf("%d of %d cases pass; %d are of types the engine does not run", pass, len(dirs), skipped)
}
