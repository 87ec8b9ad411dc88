// Package gencheck holds what the tests of the assembly generators
// (tools/gemmasm, tools/dwrowsasm, tools/dw9asm) share: the go:generate
// lines of a package that run a generator, the assembly files that name it,
// and where a committed file departs from the generator's output.
package gencheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Lines returns the arguments of dir's go:generate lines that run
// "go run ../../tools/<tool>", keyed by "file: line".
func Lines(dir, tool string) (map[string][]string, error) {
	prefix := "//go:generate go run ../../tools/" + tool
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	lines := map[string][]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for l := range strings.Lines(string(src)) {
			rest, ok := strings.CutPrefix(strings.TrimSpace(l), prefix)
			// The tool's own name, not one it prefixes (tools/gemmasm2).
			if ok && (rest == "" || rest[0] == ' ') {
				lines[filepath.Base(f)+": "+strings.TrimSpace(l)] = strings.Fields(rest)
			}
		}
	}
	return lines, nil
}

// Marked returns the names of dir's .s files that name tools/<tool>, in
// order.
func Marked(dir, tool string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.s"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(src, []byte("tools/"+tool)) {
			names = append(names, filepath.Base(f))
		}
	}
	return names, nil
}

// Diff is "" when committed equals generated, else the first line where
// they differ, with both versions of it.
func Diff(committed, generated []byte) string {
	if bytes.Equal(committed, generated) {
		return ""
	}
	n := FirstDiffLine(committed, generated)
	return fmt.Sprintf("differs from the generator's output at line %d:\ncommitted: %q\ngenerated: %q",
		n, lineAt(committed, n), lineAt(generated, n))
}

// FirstDiffLine is the 1-based number of the first line where a and b
// differ.
func FirstDiffLine(a, b []byte) int {
	n := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return n
		}
		if a[i] == '\n' {
			n++
		}
	}
	return n
}

// lineAt is line n (1-based) of src without its newline, "" past the end.
func lineAt(src []byte, n int) string {
	for l := range strings.Lines(string(src)) {
		if n--; n == 0 {
			return strings.TrimSuffix(l, "\n")
		}
	}
	return ""
}

// Committed checks a generator's files in dir (relative to the test's
// folder, pkg its import path for messages): every go:generate line of dir
// that runs tools/<tool> is run through generate, each file it writes must
// be committed byte for byte as generated, the lines must write exactly
// want (so a lost line fails), and the .s files that name the tool must be
// exactly want (so a generated file without a line fails).
func Committed(t testing.TB, dir, pkg, tool string, generate func(args []string) (string, []byte, error), want []string) {
	t.Helper()
	lines, err := Lines(dir, tool)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for line, args := range lines {
		out, src, err := generate(args)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		outs = append(outs, out)
		got, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if d := Diff(got, src); d != "" {
			t.Errorf("%s: %s %s (run go generate %s)", line, out, d, pkg)
		}
	}
	want = slices.Sorted(slices.Values(want))
	if slices.Sort(outs); !slices.Equal(outs, want) {
		t.Errorf("%s's go:generate lines running tools/%s write %q, want %q", pkg, tool, outs, want)
	}
	marked, err := Marked(dir, tool)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(marked, want) {
		t.Errorf("%s's .s files that name tools/%s: %q, want %q", pkg, tool, marked, want)
	}
}
