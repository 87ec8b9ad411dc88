package genout

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"-o", "x.s", "extra"}, `unexpected argument "extra"`},
	} {
		set := flag.NewFlagSet("gen", flag.ContinueOnError)
		set.String("o", "", "output file")
		var stderr strings.Builder
		err := Parse(set, tc.args, &stderr)
		if err == nil || err.Error() != tc.want || stderr.Len() != 0 {
			t.Errorf("Parse(%q): error %v, stderr %q; want %q and nothing printed", tc.args, err, stderr.String(), tc.want)
		}
	}
	set := flag.NewFlagSet("gen", flag.ContinueOnError)
	set.String("o", "", "output file")
	var stderr strings.Builder
	if err := Parse(set, []string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-o string") {
		t.Errorf("Parse(-h): error %v, stderr %q", err, stderr.String())
	}
	if err := Output("", "./graph/ops"); err == nil || !strings.Contains(err.Error(), "go generate ./graph/ops") {
		t.Errorf("Output(\"\") = %v", err)
	}
}

// TestWrite checks that Write replaces the file and that its errors are one
// line naming the file asked for, never the temporary one.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.s")
	if err := Write(name, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(name); err != nil || string(got) != "new\n" {
		t.Errorf("contents %q, error %v", got, err)
	}
	for _, out := range []string{filepath.Join(dir, "missing", "x.s"), dir} {
		err := Write(out, []byte("x"))
		if err == nil || !strings.HasPrefix(err.Error(), "writing "+out+": ") || strings.Contains(err.Error(), ".tmp-") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("Write(%q): error %v, want one line naming it", out, err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("folder holds %d entries, want the one file", len(es))
	}
}
