package train_test

import (
	"os"
	"strings"
	"testing"
)

// recipeLines returns the lines of path between the comment lines
// "recipe begins" and "recipe ends" that do something: not blank, not a comment, and (for Go)
// not error handling, i.e. an "if err != nil {" block or the "if ...; err
// != nil {" line's closing.
func recipeLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in, skip := false, 0
	for _, l := range strings.Split(string(b), "\n") {
		s := strings.TrimSpace(l)
		switch {
		case s == "# recipe begins" || s == "// recipe begins":
			in = true
			continue
		case s == "# recipe ends" || s == "// recipe ends":
			if !in {
				t.Fatalf("%s: recipe ends before it begins", path)
			}
			return out
		case !in || s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "//"):
			continue
		case skip > 0:
			skip-- // log.Fatal(err), then the closing brace
			continue
		case s == "if err != nil {":
			skip = 2
			continue
		case strings.HasPrefix(s, "if ") && strings.HasSuffix(s, "; err != nil {"):
			// if _, err := f(); err != nil { ... }: the call is a line
			// of the recipe, its error handling is not.
			skip = 2
		}
		out = append(out, s)
	}
	t.Fatalf("%s: no \"recipe begins\" ... \"recipe ends\"", path)
	return nil
}

// The bound: the library's recipe (Example) is at most twice
// PyTorch's line count, error handling aside.
func TestRecipeLineCount(t *testing.T) {
	py := recipeLines(t, "../models/recipe_pytorch.py")
	gol := recipeLines(t, "example_test.go")
	t.Logf("PyTorch %d lines, onnxtune %d lines (error handling aside)", len(py), len(gol))
	if len(py) < 10 {
		t.Fatalf("PyTorch's recipe has %d lines: the markers are misplaced", len(py))
	}
	if len(gol) > 2*len(py) {
		t.Errorf("Example has %d lines, more than twice PyTorch's %d:\n%s", len(gol), len(py), strings.Join(gol, "\n"))
	}
}
