package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "importer: x: empty input", "importer: x: empty input"},
		{"newlines", "first\nsecond\r\n\n  third  \n", "first; second; third"},
		{"empty", "\n\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := oneLine(tc.in); got != tc.want {
				t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestUsageMessage(t *testing.T) {
	err := errors.New("unknown command \"inspct\" for \"onnxtune\"\n\nDid you mean this?\n\tinspect\n")
	want := `unknown command "inspct" for "onnxtune" (did you mean inspect?)`
	if got := usageMessage(err); got != want {
		t.Errorf("usageMessage = %q, want %q", got, want)
	}
}

// TestRecoverExit checks that a panic becomes one line on stderr and exit 1.
func TestRecoverExit(t *testing.T) {
	var stderr bytes.Buffer
	code := func() (code int) {
		defer recoverExit(&stderr, &code)
		panic("boom\nsecond line")
	}()
	if code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	if want := "onnxtune: internal error: boom; second line\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestHelpCommand: 'onnxtune help CMD' prints CMD's help; an unknown topic
// is a usage error (exit 2, one line naming it), as an unknown command is.
func TestHelpCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a line it contains
		stderr string // all of it
	}{
		{"a command", []string{"help", "train"}, exitOK, "Usage:\n  onnxtune train MODEL -o OUT.onnx --data DATA [flags]\n", ""},
		{"no topic", []string{"help"}, exitOK, "Usage:\n  onnxtune [command]\n", ""},
		{"unknown topic", []string{"help", "bogus"}, exitUsage, "",
			"onnxtune: unknown help topic \"bogus\" (see 'onnxtune help --help')\n"},
		{"unknown subtopic", []string{"help", "train", "bogus"}, exitUsage, "",
			"onnxtune: unknown help topic \"train bogus\" (see 'onnxtune help --help')\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr %q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
			if tc.code != exitOK && stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestVersionFlag: --version prints what the version command prints.
func TestVersionFlag(t *testing.T) {
	code, flag, stderr := runCLI("--version")
	_, cmd, _ := runCLI("version")
	if code != 0 || flag == "" || flag != cmd {
		t.Errorf("--version: exit %d %q %q; version prints %q", code, flag, stderr, cmd)
	}
}
