package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of a package (non-test files only).
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string // direct
	Deps       []string // transitive
}

// rule is one dependency rule; check returns a line per violation.
type rule struct {
	name  string
	check func(mod string, pkgs []*pkg) []string
}

func rules() []rule {
	return []rule{
		{"graph imports nothing of the module", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if p.ImportPath != mod+"/graph" {
					continue
				}
				for _, d := range p.Deps {
					if under(d, mod) {
						bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
					}
				}
			}
			return bad
		}},
		{"graph subpackages import only graph and internal/gemm", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if !strings.HasPrefix(p.ImportPath, mod+"/graph/") {
					continue
				}
				for _, d := range p.Deps {
					if under(d, mod) && !under(d, mod+"/graph") && !under(d, mod+"/internal/gemm") {
						bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
					}
				}
			}
			return bad
		}},
		{"internal/fsx imports nothing of the module", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if p.ImportPath != mod+"/internal/fsx" {
					continue
				}
				for _, d := range p.Deps {
					if under(d, mod) {
						bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
					}
				}
			}
			return bad
		}},
		{"importer and export depend only on graph, internal/onnxpb and internal/fsx", func(mod string, pkgs []*pkg) []string {
			// internal/fsx is a leaf (the rule above): file checks every
			// reader and writer shares.
			allowed := []string{mod + "/graph", mod + "/internal/onnxpb", mod + "/internal/fsx"}
			var bad []string
			for _, p := range pkgs {
				if !under(p.ImportPath, mod+"/importer") && !under(p.ImportPath, mod+"/export") {
					continue
				}
				for _, d := range p.Deps {
					if under(d, mod) && !slices.Contains(allowed, d) {
						bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
					}
				}
			}
			return bad
		}},
		{"importer does not depend on export", notDepends("importer", "export")},
		{"export does not depend on importer", notDepends("export", "importer")},
		{"only cmd depends on spf13 (cobra, pflag)", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if under(p.ImportPath, mod+"/cmd") {
					continue
				}
				for _, d := range p.Deps {
					if strings.HasPrefix(d, "github.com/spf13/") {
						bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
					}
				}
			}
			return bad
		}},
		{"only cmd and tools read flags", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if !under(p.ImportPath, mod+"/cmd") && !under(p.ImportPath, mod+"/tools") && slices.Contains(p.Imports, "flag") {
					bad = append(bad, fmt.Sprintf("%s imports flag", p.ImportPath))
				}
			}
			return bad
		}},
		{"only cmd configures logging", func(mod string, pkgs []*pkg) []string {
			var bad []string
			for _, p := range pkgs {
				if under(p.ImportPath, mod+"/cmd") {
					continue
				}
				bad = append(bad, logrusGlobals(p)...)
			}
			return bad
		}},
		{"only importer, export and internal/testmodels use internal/onnxpb", func(mod string, pkgs []*pkg) []string {
			// internal/testmodels is test support only: it builds hostile
			// protobufs (models the importer must refuse, which graph and
			// export cannot express) for tests, and the next rule keeps it
			// out of every non-test file.
			allowed := []string{mod + "/importer", mod + "/export", mod + "/internal/testmodels"}
			var bad []string
			for _, p := range pkgs {
				if slices.Contains(p.Imports, mod+"/internal/onnxpb") && !slices.Contains(allowed, p.ImportPath) {
					bad = append(bad, fmt.Sprintf("%s imports internal/onnxpb", p.ImportPath))
				}
			}
			return bad
		}},
		{"only tests import internal/testmodels", func(mod string, pkgs []*pkg) []string {
			// Imports lists what a package's non-test files import.
			var bad []string
			for _, p := range pkgs {
				if slices.Contains(p.Imports, mod+"/internal/testmodels") {
					bad = append(bad, fmt.Sprintf("%s imports internal/testmodels in a non-test file", p.ImportPath))
				}
			}
			return bad
		}},
	}
}

// notDepends is the rule that package a (or one under it) does not depend,
// directly or not, on package b or one under it.
func notDepends(a, b string) func(mod string, pkgs []*pkg) []string {
	return func(mod string, pkgs []*pkg) []string {
		var bad []string
		for _, p := range pkgs {
			if !under(p.ImportPath, mod+"/"+a) {
				continue
			}
			for _, d := range p.Deps {
				if under(d, mod+"/"+b) {
					bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
				}
			}
		}
		return bad
	}
}

// under reports whether import path p is dir or a package below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// logrusSetters are the logrus functions that change the standard logger.
var logrusSetters = []string{"SetLevel", "SetFormatter", "SetOutput", "SetReportCaller", "SetBufferPool", "AddHook", "StandardLogger"}

// logrusGlobals lists the calls in p's non-test files that configure logrus's
// standard logger (libraries take a logrus.FieldLogger instead), whatever
// name the file imports logrus under.
func logrusGlobals(p *pkg) []string {
	var bad []string
	fset := token.NewFileSet()
	for _, name := range append(slices.Clone(p.GoFiles), p.CgoFiles...) {
		path := filepath.Join(p.Dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		local := ""
		for _, im := range f.Imports {
			if ip, _ := strconv.Unquote(im.Path.Value); ip == "github.com/sirupsen/logrus" {
				local = "logrus"
				if im.Name != nil {
					local = im.Name.Name
				}
			}
		}
		if local == "" || local == "_" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && (id.Name == local || local == ".") && slices.Contains(logrusSetters, sel.Sel.Name) {
				bad = append(bad, fmt.Sprintf("%s: %s.%s configures the standard logger", fset.Position(call.Pos()), p.ImportPath, sel.Sel.Name))
			}
			if id, ok := call.Fun.(*ast.Ident); ok && local == "." && slices.Contains(logrusSetters, id.Name) {
				bad = append(bad, fmt.Sprintf("%s: %s calls %s", fset.Position(call.Pos()), p.ImportPath, id.Name))
			}
			return true
		})
	}
	return bad
}

// goList runs `go list -e -json` on every package of the module (each
// listed with its direct Imports and its transitive Deps, non-test files only)
// and returns the module path and the packages.
func goList(t *testing.T) (string, []*pkg) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	run := func(args ...string) []byte {
		cmd := exec.Command(gobin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
	mod := strings.TrimSpace(string(run("list", "-m")))
	dec := json.NewDecoder(bytes.NewReader(run("list", "-e", "-json", mod+"/...")))
	var pkgs []*pkg
	for {
		p := new(pkg)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return mod, pkgs
}

// TestDependencyRules checks the module's packages against the rules.
func TestDependencyRules(t *testing.T) {
	mod, pkgs := goList(t)
	// The rules mean nothing if the packages they name are not listed.
	for _, want := range []string{"graph", "importer", "export", "remap", "internal/onnxpb", "internal/fsx", "cmd/onnxtune"} {
		if !slices.ContainsFunc(pkgs, func(p *pkg) bool { return p.ImportPath == mod+"/"+want }) {
			t.Fatalf("go list did not list %s/%s", mod, want)
		}
	}
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range r.check(mod, pkgs) {
				t.Error(v)
			}
		})
	}
}

// TestRulesCatchViolations gives each rule a made-up module that breaks it:
// the rule must report it (and pass the same module without the offence).
func TestRulesCatchViolations(t *testing.T) {
	const mod = "example.com/m"
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("setlevel.go", "package remap\nimport \"github.com/sirupsen/logrus\"\nfunc f() { logrus.SetLevel(logrus.DebugLevel) }\n")
	write("alias.go", "package remap\nimport log \"github.com/sirupsen/logrus\"\nfunc g() { log.StandardLogger().SetOutput(nil) }\n")
	write("fieldlogger.go", "package remap\nimport \"github.com/sirupsen/logrus\"\nfunc h(l logrus.FieldLogger) { l.Debug(\"fine\") }\n")

	base := func() []*pkg {
		return []*pkg{
			{ImportPath: mod + "/graph", Imports: []string{"fmt"}, Deps: []string{"fmt"}},
			{ImportPath: mod + "/graph/ops", Imports: []string{mod + "/graph"}, Deps: []string{mod + "/graph"}},
			{ImportPath: mod + "/remap", Dir: dir, GoFiles: []string{"fieldlogger.go"}, Imports: []string{mod + "/graph"}, Deps: []string{mod + "/graph"}},
			{ImportPath: mod + "/internal/fsx", Imports: []string{"os"}, Deps: []string{"os"}},
			{ImportPath: mod + "/importer", Imports: []string{mod + "/graph", mod + "/internal/onnxpb", mod + "/internal/fsx"},
				Deps: []string{mod + "/graph", mod + "/internal/onnxpb", mod + "/internal/fsx"}},
			{ImportPath: mod + "/export", Imports: []string{mod + "/graph", mod + "/internal/onnxpb", mod + "/internal/fsx"},
				Deps: []string{mod + "/graph", mod + "/internal/onnxpb", mod + "/internal/fsx"}},
			{ImportPath: mod + "/internal/testmodels", Imports: []string{mod + "/graph", mod + "/internal/onnxpb"},
				Deps: []string{mod + "/graph", mod + "/internal/onnxpb"}},
			{ImportPath: mod + "/cmd/tool", Imports: []string{"flag", mod + "/importer", mod + "/export", "github.com/spf13/cobra"},
				Deps: []string{"flag", mod + "/importer", mod + "/export", "github.com/spf13/cobra", "github.com/spf13/pflag"}},
		}
	}
	find := func(pkgs []*pkg, path string) *pkg {
		for _, p := range pkgs {
			if p.ImportPath == mod+"/"+path {
				return p
			}
		}
		t.Fatalf("no package %s", path)
		return nil
	}
	addDep := func(pkgs []*pkg, path string, direct bool, deps ...string) {
		p := find(pkgs, path)
		if direct {
			p.Imports = append(p.Imports, deps...)
		}
		p.Deps = append(p.Deps, deps...)
	}
	cases := []struct {
		rule    string
		violate func(pkgs []*pkg)
	}{
		{"graph imports nothing of the module", func(pkgs []*pkg) { addDep(pkgs, "graph", true, mod+"/internal/npz") }},
		{"graph subpackages import only graph and internal/gemm", func(pkgs []*pkg) { addDep(pkgs, "graph/ops", false, mod+"/remap") }},
		{"internal/fsx imports nothing of the module", func(pkgs []*pkg) { addDep(pkgs, "internal/fsx", false, mod+"/graph") }},
		{"importer and export depend only on graph, internal/onnxpb and internal/fsx", func(pkgs []*pkg) {
			addDep(pkgs, "importer", false, mod+"/remap") // through a package of its own
		}},
		{"importer does not depend on export", func(pkgs []*pkg) { addDep(pkgs, "importer", false, mod+"/export/internal/wire") }},
		{"export does not depend on importer", func(pkgs []*pkg) { addDep(pkgs, "export", false, mod+"/importer") }},
		{"only cmd depends on spf13 (cobra, pflag)", func(pkgs []*pkg) { addDep(pkgs, "remap", false, "github.com/spf13/pflag") }},
		{"only cmd and tools read flags", func(pkgs []*pkg) { addDep(pkgs, "export", true, "flag") }},
		{"only cmd configures logging", func(pkgs []*pkg) {
			p := find(pkgs, "remap")
			p.GoFiles = append(p.GoFiles, "setlevel.go", "alias.go")
		}},
		{"only importer, export and internal/testmodels use internal/onnxpb", func(pkgs []*pkg) { addDep(pkgs, "remap", true, mod+"/internal/onnxpb") }},
		{"only tests import internal/testmodels", func(pkgs []*pkg) { addDep(pkgs, "cmd/tool", true, mod+"/internal/testmodels") }},
	}
	byName := make(map[string]rule)
	for _, r := range rules() {
		byName[r.name] = r
	}
	if len(cases) != len(byName) {
		t.Errorf("%d cases for %d rules: every rule needs a case", len(cases), len(byName))
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			r, ok := byName[c.rule]
			if !ok {
				t.Fatalf("no rule %q", c.rule)
			}
			if v := r.check(mod, base()); len(v) != 0 {
				t.Fatalf("the clean module breaks the rule: %q", v)
			}
			pkgs := base()
			c.violate(pkgs)
			v := r.check(mod, pkgs)
			if len(v) == 0 {
				t.Fatal("the rule did not notice")
			}
			t.Logf("noticed: %q", v)
		})
	}
}
