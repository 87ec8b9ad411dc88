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
	"strings"
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
