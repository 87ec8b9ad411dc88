package main

import (
	"bytes"
	"errors"
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
