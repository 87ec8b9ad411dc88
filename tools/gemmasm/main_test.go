package main

import (
	"io"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/tools/internal/gencheck"
)

// TestCommittedFiles checks that the files internal/gemm's go:generate lines
// write with this command are committed byte for byte as it writes them (a
// change to the generator, or an edit of its output, fails until
// `go generate ./internal/gemm` is run), and that no other file there names it.
func TestCommittedFiles(t *testing.T) {
	gen := func(args []string) (string, []byte, error) { return generate(args, io.Discard) }
	gencheck.Committed(t, "../../internal/gemm", "./internal/gemm", "gemmasm", gen, []string{"epilogue_avx512_amd64.s", "kernel_avx512_amd64.s", "kernel_edge_avx2_amd64.s"})
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a tile", []string{"-o", "x.s", "-tiles", "8by32"}, `bad tile "8by32"`},
		{"NR not a multiple of 16", []string{"-o", "x.s", "-tiles", "8x24"}, `bad tile "8x24"`},
		{"too many registers", []string{"-o", "x.s", "-tiles", "16x32"}, `bad tile "16x32"`},
		{"epi with an odd number of registers a row", []string{"-o", "x.s", "-epi", "-tiles", "8x48"}, `bad tile "8x48" for -epi`},
		{"epi without room for lo and hi", []string{"-o", "x.s", "-epi", "-tiles", "15x32"}, `bad tile "15x32" for -epi`},
		{"extra argument", []string{"-o", "x.s", "y.s"}, `unexpected argument "y.s"`},
		{"a tile twice", []string{"-o", "x.s", "-tiles", "8x32,12x32,8x32"}, `tile "8x32" given twice`},
		{"avx2edge with tiles", []string{"-o", "x.s", "-avx2edge", "-tiles", "8x32"}, "no -tiles or -epi with it"},
		{"avx2edge with epi", []string{"-o", "x.s", "-avx2edge", "-epi"}, "no -tiles or -epi with it"},
		{"no -o", []string{"-tiles", "8x32"}, "-o FILE is required (go generate ./internal/gemm"},
		{"unknown flag", []string{"-nr", "32"}, "flag provided but not defined: -nr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := generate(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("generate(%q) error %v, want one containing %q", tc.args, err, tc.want)
			}
		})
	}
}
