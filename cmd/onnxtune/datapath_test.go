package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// castNPZ writes x (converted by conv) and y to dir/name.npz.
func castNPZ[T any](t *testing.T, dir, name string, shape []int, x []float32, y []int64, conv func(float32) T) string {
	t.Helper()
	xs := make([]T, len(x))
	for i, v := range x {
		xs[i] = conv(v)
	}
	path := filepath.Join(dir, name+".npz")
	arrays := map[string]npz.Array{"x": {Shape: shape, Data: xs}}
	if y != nil {
		arrays["y"] = npz.Array{Shape: []int{len(y)}, Data: y}
	}
	if err := npz.Write(path, arrays); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDataTypeRule: run, eval and train read --data the same way and feed a
// model what its input declares: float32 examples (float64 converted) for
// a float32 input, int64 token ids (int32 converted) for an int64 input;
// any other pairing exits 1 naming the input.
func TestDataTypeRule(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join("..", "..", "models")
	digits, err := npz.Read(filepath.Join(models, "mnist_0to4_test.npz"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	dshape := []int{n, 1, 28, 28}
	dx := digits["x"].Data.([]float32)[:n*28*28]
	dy := digits["y"].Data.([]int64)[:n]
	tokens, err := npz.Read(filepath.Join(models, "transformer_op17.expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	tshape := tokens["x"].Shape
	var tx []float32
	for _, v := range tokens["x"].Data.([]int64) {
		tx = append(tx, float32(v))
	}
	ty := make([]int64, tshape[0])

	digitsModel := filepath.Join(models, "mnist_lenet_0to4.onnx")
	tokenModel := filepath.Join(models, "transformer_op17.onnx")
	for _, tc := range []struct {
		name, model, data string
		want              string // "" for success
	}{
		{"float32 digits", digitsModel, castNPZ(t, dir, "f32", dshape, dx, dy, func(v float32) float32 { return v }), ""},
		{"float64 digits", digitsModel, castNPZ(t, dir, "f64", dshape, dx, dy, func(v float32) float64 { return float64(v) }), ""},
		{"int64 digits", digitsModel, castNPZ(t, dir, "i64", dshape, dx, dy, func(v float32) int64 { return int64(v) }),
			`x is int64 [8 1 28 28], the model's input "input" is float32 [batch, 1, 28, 28]`},
		{"int32 digits", digitsModel, castNPZ(t, dir, "i32", dshape, dx, dy, func(v float32) int32 { return int32(v) }),
			`x is int32 [8 1 28 28], the model's input "input" is float32 [batch, 1, 28, 28]`},
		{"int64 tokens", tokenModel, castNPZ(t, dir, "t64", tshape, tx, ty, func(v float32) int64 { return int64(v) }), ""},
		{"int32 tokens", tokenModel, castNPZ(t, dir, "t32", tshape, tx, ty, func(v float32) int32 { return int32(v) }), ""},
		{"float32 tokens", tokenModel, castNPZ(t, dir, "tf32", tshape, tx, ty, func(v float32) float32 { return v }),
			`x is float32 [4 8], the model's input "input" is int64 [batch, 8]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{
				{"run", tc.model, "--data", tc.data, "--json"},
				{"eval", tc.model, "--data", tc.data, "--json"},
				{"train", tc.model, "--data", tc.data, "--steps", "1", "-o", filepath.Join(t.TempDir(), "out.onnx"), "--log-level", "error"},
			} {
				code, _, stderr := runCLI(cmd...)
				switch {
				case tc.want == "" && code != exitOK:
					t.Errorf("%s: exit %d, stderr %s", cmd[0], code, stderr)
				case tc.want != "" && (code != exitError || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1):
					t.Errorf("%s: exit %d, stderr %q; want exit 1 and one line with %q", cmd[0], code, stderr, tc.want)
				}
			}
		})
	}
	// Converted examples give the same outputs as those stored as the
	// model's type.
	_, want, _ := runCLI("run", digitsModel, "--data", filepath.Join(dir, "f32.npz"), "--json")
	if _, got, _ := runCLI("run", digitsModel, "--data", filepath.Join(dir, "f64.npz"), "--json"); got != want {
		t.Errorf("float64 examples: %s; float32 examples: %s", got, want)
	}
	_, want, _ = runCLI("run", tokenModel, "--data", filepath.Join(dir, "t64.npz"), "--json")
	if _, got, _ := runCLI("run", tokenModel, "--data", filepath.Join(dir, "t32.npz"), "--json"); got != want {
		t.Errorf("int32 token ids: %s; int64 ones: %s", got, want)
	}
}

// TestWritesOnlyThroughInjectedStreams: no file of the CLI but main.go
// names os.Stdout or os.Stderr; the commands write to app.stdout,
// app.stderr, cobra's streams and the logger, which run receives.
func TestWritesOnlyThroughInjectedStreams(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && name == "main.go" && fd.Name.Name == "main" && fd.Recv == nil {
				return false
			}
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && (sel.Sel.Name == "Stdout" || sel.Sel.Name == "Stderr") {
				t.Errorf("%s: os.%s outside main", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
