package main

import (
	"io"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/tools/internal/gencheck"
)

// TestCommittedFiles checks that the files graph/ops's go:generate lines
// write with this command are committed byte for byte as it writes them (a
// change to the generator, or an edit of its output, fails until
// `go generate ./graph/ops` is run), and that no other file there names it.
func TestCommittedFiles(t *testing.T) {
	gen := func(args []string) (string, []byte, error) { return generate(args, io.Discard) }
	gencheck.Committed(t, "../../graph/ops", "./graph/ops", "dwrowsasm", gen, []string{"conv_dw_rows_amd64.s"})
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"extra argument", []string{"-o", "x.s", "y.s"}, `unexpected argument "y.s"`},
		{"no -o", nil, "-o FILE is required (go generate ./graph/ops"},
		{"unknown flag", []string{"-tiles", "8x32"}, "flag provided but not defined: -tiles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := generate(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("generate(%q) error %v, want one containing %q", tc.args, err, tc.want)
			}
		})
	}
}
