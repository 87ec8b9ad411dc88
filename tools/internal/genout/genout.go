// Package genout holds what the assembly generators (tools/gemmasm,
// tools/dwrowsasm, tools/dw9asm) share as commands: flags parsed with
// one-line errors, a required -o, and the write of the output file.
package genout

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/onnxtune/onnxtune/internal/fsx"
)

// Parse parses args into set. The flag package's own messages are dropped:
// -h prints the flags to stderr and returns flag.ErrHelp, and any other
// error comes back as one line. Arguments left after the flags are an
// error.
func Parse(set *flag.FlagSet, args []string, stderr io.Writer) error {
	set.SetOutput(io.Discard)
	err := set.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		set.SetOutput(stderr)
		fmt.Fprintf(stderr, "usage of %s (go generate runs it with -o):\n", set.Name())
		set.PrintDefaults()
		return err
	}
	if err != nil {
		return err
	}
	if set.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", set.Arg(0))
	}
	return nil
}

// Output checks the -o value: a generator has no default file, so that
// running it by hand never writes into the current folder unasked.
func Output(out, pkg string) error {
	if out == "" {
		return fmt.Errorf("-o FILE is required (go generate %s runs this command with it)", pkg)
	}
	return nil
}

// Main runs a generator: generate's file is written to its -o through a
// temporary file renamed over it; an error is one line, "name: ...", and
// exit status 2.
func Main(name string, generate func(args []string, stderr io.Writer) (string, []byte, error)) {
	out, src, err := generate(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = Write(out, src)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
}

// Write writes src to out through a temporary file in out's folder,
// renamed over out once complete, so that a failed run never leaves a
// truncated file. Its errors name out, not the temporary file.
func Write(out string, src []byte) error {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return fmt.Errorf("writing %s: is a folder", out)
	}
	err := fsx.WriteFile(out, func(w io.Writer) error { _, err := w.Write(src); return err })
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("writing %s: %v", out, err)
}

// Plain is the generate function of a generator whose only flag is -o:
// it parses args and returns the output file and source().
func Plain(name, pkg string, source func() []byte) func(args []string, stderr io.Writer) (string, []byte, error) {
	return func(args []string, stderr io.Writer) (string, []byte, error) {
		set := flag.NewFlagSet(name, flag.ContinueOnError)
		out := set.String("o", "", "output file (required)")
		if err := Parse(set, args, stderr); err != nil {
			return "", nil, err
		}
		if err := Output(*out, pkg); err != nil {
			return "", nil, err
		}
		return *out, source(), nil
	}
}
